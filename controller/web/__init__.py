"""The web layer: the REST API (a blueprint per resource), the pages, logins and sessions, the
languages, and the OpenAPI description. The only part of the controller that knows Flask."""
