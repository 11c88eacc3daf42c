"""The REST API under /api/v1, one blueprint per resource: JSON in, JSON out, every route (but the
OpenAPI document) behind a token or a session and a permission. ``controller.create_app`` lists the
blueprints; what they share is in ``controller.web.api_common``."""
