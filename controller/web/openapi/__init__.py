"""The OpenAPI 3.1 document of every /api/v1 route, written as data.

Written by hand so that it reads as documentation, and kept true by tests/controller/web/test_openapi.py: every
route of the app is described with its methods, every described operation is routed, and each
operation's ``x-permission`` is exactly what the view's ``requires`` checks. Path parameters are
declared once in ``PATH_PARAMETERS`` and added to each path that names them. The schemas are in
``schemas``, the operations in ``paths``.
"""

from __future__ import annotations

import re

from controller.web.openapi.paths import PARAMETERS, RESPONSES, ROUTES
from controller.web.openapi.schemas import PATH_PARAMETERS, SCHEMAS, Schema

__all__ = ["PATH_PARAMETERS", "openapi_document"]


def _path_item(path: str, operations: dict[str, Schema]) -> Schema:
    """The operations of a path, with the path parameters it names declared once for all of them."""
    names = re.findall(r"{(\w+)}", path)
    item: Schema = dict(operations)
    if names:
        item["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]} for name in names
        ]
    return item


def openapi_document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Relais API",
            "version": "1",
            "description": "Official messages to the LED and e-paper panels of French communes. JSON "
            'errors are {"error": {"code", "message", "field"?}}, the message in the language asked '
            "for (Accept-Language: French unless English is asked), the code and field the same in "
            'both; lists answer {"<items>": [...], "total", "limit", "offset"}. `x-permission` lists what the '
            "user's role must hold; a commune user sees only their commune (another commune's objects "
            "answer 404). A browser session must send the page's CSRF token (X-CSRFToken) on writes.",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "paths": {path: _path_item(path, operations) for path, operations in ROUTES.items()},
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token (rls_…), made with POST /tokens or `relais token create`",
                },
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "the browser's login session (/login); writes need the X-CSRFToken header",
                },
            },
        },
    }
