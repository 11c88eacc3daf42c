"""The OpenAPI 3.1 document of every /api/v1 route, written as data.

Written by hand so that it reads as documentation, and kept true by tests/test_openapi.py: every
route of the app is described with its methods, every described operation is routed, and each
operation's ``x-permission`` is exactly what the view's ``requires`` checks. Path parameters are
declared once in ``PATH_PARAMETERS`` and added to each path that names them.
"""

from __future__ import annotations

import re
from typing import Any

from controller.domain.access import Permission, Role
from controller.domain.alerts import MAX_ALERT_TEXT, MAX_ALERT_TITLE

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
TIME: Schema = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601, UTC"}
INSTANT_IN: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset"}
ANY_OBJECT: Schema = {"type": "object"}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def _list_of(key: str, item: Schema) -> Schema:
    """A page of a list, as every list route answers it."""
    return _object(
        {key: {"type": "array", "items": item}, "total": INTEGER, "limit": INTEGER, "offset": INTEGER},
        (key, "total", "limit", "offset"),
    )


TARGETS = {
    "panels": {"type": "array", "items": STRING},
    "tags": {"type": "array", "items": STRING},
    "communes": {"type": "array", "items": STRING, "description": "INSEE codes"},
    "departments": {"type": "array", "items": STRING},
}
MESSAGE_FIELDS: dict[str, Schema] = {
    "text": STRING,
    "title": STRING,
    "footer": STRING,
    "layout": STRING,
    "pictogram": STRING,
    "qr": STRING,
    "image": {"type": "string", "contentEncoding": "base64"},
    "markup": {"enum": ["relais", "multi", "plain"]},
    "role": {"enum": ["normal", "warning", "emergency"]},
    "paging": BOOLEAN,
    "starts_at": INSTANT_IN,
    "ends_at": INSTANT_IN,
    "recurrence": _object(
        {
            "weekdays": {"type": "array", "items": STRING},
            "windows": {"type": "array", "items": STRING},
            "only_during": {"type": "array", "items": STRING},
            "except_during": {"type": "array", "items": STRING},
        }
    ),
    "priority": {"enum": ["information", "prevention", "urgent", "emergency"]},
    "dwell_s": {"type": "number"},
    "campaign": INTEGER,
    **TARGETS,
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": STRING,
                    "message": STRING,
                    "field": {"type": "string", "description": "the field at fault, when there is one"},
                },
                ("code", "message"),
            )
        },
        ("error",),
    ),
    "Me": _object(
        {
            "id": INTEGER,
            "name": STRING,
            "role": {"enum": [role.value for role in Role]},
            "organisation": NULLABLE_STRING,
            "commune": NULLABLE_STRING,
            "permissions": {"type": "array", "items": {"enum": [p.value for p in Permission]}},
        },
        ("id", "name", "role", "organisation", "commune", "permissions"),
    ),
    "User": _object(
        {
            "id": INTEGER,
            "name": STRING,
            "role": {"enum": [role.value for role in Role]},
            "organisation": NULLABLE_STRING,
            "commune": NULLABLE_STRING,
            "password_set": BOOLEAN,
            "disabled": BOOLEAN,
            "disabled_at": TIME,
            "created_at": TIME,
        },
        ("id", "name", "role", "organisation", "commune", "password_set", "disabled"),
    ),
    "UserCreate": _object(
        {
            "name": STRING,
            "role": {"enum": [role.value for role in Role]},
            "commune": {**NULLABLE_STRING, "description": "INSEE code; commune roles only"},
            "organisation": NULLABLE_STRING,
            "password": {"type": "string", "minLength": 12, "description": "none: tokens only"},
        },
        ("name", "role"),
        additionalProperties=False,
    ),
    "UserPatch": _object(
        {
            "role": {"enum": [role.value for role in Role]},
            "commune": NULLABLE_STRING,
            "organisation": NULLABLE_STRING,
            "password": {"type": "string", "minLength": 12},
            "disabled": {"type": "boolean", "description": "true ends the user's sessions and tokens"},
        },
        additionalProperties=False,
    ),
    "Token": _object(
        {"id": INTEGER, "label": STRING, "user": STRING, "created_at": TIME, "revoked_at": TIME},
        ("id", "label", "user", "created_at", "revoked_at"),
    ),
    "TokenCreate": _object(
        {"label": STRING, "user": {"type": "string", "description": "another user's name: admin only"}},
        ("label",),
    ),
    "NewToken": {
        "allOf": [
            _ref("Token"),
            _object({"token": {"type": "string", "description": "the secret, shown this once"}}, ("token",)),
        ]
    },
    "Organisation": _object(
        {
            "id": STRING,
            "name": STRING,
            "commune": NULLABLE_STRING,
            "messages_need_approval": BOOLEAN,
            "alerts_need_approval": BOOLEAN,
            "created_at": TIME,
        },
        ("id", "name", "commune", "messages_need_approval", "alerts_need_approval"),
    ),
    "OrganisationPatch": _object(
        {"name": STRING, "messages_need_approval": BOOLEAN, "alerts_need_approval": BOOLEAN},
        additionalProperties=False,
    ),
    "AuditEntry": _object(
        {
            "id": INTEGER,
            "at": TIME,
            "user": STRING,
            "user_id": {"type": ["integer", "null"]},
            "action": {"type": "string", "examples": ["message.create", "user.disable"]},
            "object_type": STRING,
            "object_id": NULLABLE_STRING,
            "before": {"description": "the object before the change (null when new)"},
            "after": {"description": "the object after the change (null when gone)"},
            "ip": NULLABLE_STRING,
        },
        ("id", "at", "user", "action", "object_type", "object_id", "before", "after"),
    ),
    "Panel": _object(
        {
            "id": STRING,
            "name": STRING,
            "commune_insee": STRING,
            "kind": STRING,
            "online": {
                "type": "boolean",
                "description": "the last known value: while `state_known` is false it may be stale",
            },
            "state_known": {
                "type": "boolean",
                "description": "false while the controller is not connected to the broker (or has no "
                "broker): what the panel reports cannot reach it, so `online` and the rest are the last known",
            },
            "unknown_since": {
                **TIME,
                "description": "ISO 8601, UTC: since when the controller has not been connected to the "
                "broker; null while `state_known` is true, or if it never was",
            },
            "last_seen": TIME,
            "showing": ANY_OBJECT,
            "agent_version": NULLABLE_STRING,
            "faults": {"type": "array", "items": STRING},
            "brightness_now": {"type": ["integer", "null"]},
        },
        ("id",),
    ),
    "PanelCreate": _object(
        {
            "id": STRING,
            "name": STRING,
            "commune_insee": STRING,
            "kind": STRING,
            "width": INTEGER,
            "height": INTEGER,
            "quiet_hours": STRING,
            "fallback": {"enum": ["commune", "blank"]},
            "brightness": STRING,
            "night_brightness": INTEGER,
        },
        ("id", "name", "commune_insee", "kind", "width", "height"),
    ),
    "HistoryEntry": _object({"at": TIME, "event": STRING, "details": {}}, ("at", "event")),
    "CommandRequest": _object(
        {
            "command": {"enum": ["refresh", "screenshot", "brightness", "blank", "test_pattern", "identify"]},
            "args": ANY_OBJECT,
        },
        ("command",),
    ),
    "CommandSent": _object(
        {"id": INTEGER, "panel": STRING, "command": STRING, "args": ANY_OBJECT, "seq": INTEGER},
        ("panel", "command", "args", "seq"),
    ),
    "CommandRecord": _object(
        {
            "id": INTEGER,
            "seq": INTEGER,
            "command": STRING,
            "args": ANY_OBJECT,
            "sent_at": TIME,
            "sent_by": STRING,
            "acked_at": TIME,
            "result": {},
        },
        ("id", "seq", "command", "sent_at", "acked_at"),
    ),
    "Playlist": _object({"at": TIME, "valid_from": TIME, "valid_until": TIME, "items": {"type": "array"}}),
    "Timeline": _object(
        {
            "panel": STRING,
            "from": TIME,
            "until": TIME,
            "segments": {
                "type": "array",
                "items": _object(
                    {
                        "start": TIME,
                        "end": TIME,
                        "items": {
                            "type": "array",
                            "items": _object(
                                {
                                    "message_id": {"type": ["integer", "null"]},
                                    "campaign_id": {"type": ["integer", "null"]},
                                    "alert_id": {"type": ["integer", "null"]},
                                    "item_id": STRING,
                                    "title": STRING,
                                    "text": STRING,
                                    "priority": STRING,
                                    "dwell_s": {"type": "number"},
                                }
                            ),
                        },
                    }
                ),
            },
        },
        ("panel", "from", "until", "segments"),
    ),
    "MessageCreate": _object(MESSAGE_FIELDS, ("text",)),
    "MessagePatch": _object({**MESSAGE_FIELDS, "paused": BOOLEAN}),
    "MessageQueued": _object(
        {
            "id": INTEGER,
            "item_id": STRING,
            "panels": {"description": "each reached panel's sequence number (dry run: their ids)"},
            "warnings": {"type": "array", "items": STRING},
            "dry_run": BOOLEAN,
        }
    ),
    "Message": _object(
        {
            "id": INTEGER,
            "text": STRING,
            "status": {
                "enum": [
                    "pending-approval",
                    "rejected",
                    "scheduled",
                    "on-air",
                    "paused",
                    "cancelled",
                    "ended",
                ]
            },
            "created_by": STRING,
            "approved_by": NULLABLE_STRING,
            "organisation": NULLABLE_STRING,
            "commune": NULLABLE_STRING,
            "targets": ANY_OBJECT,
            "panels": {"type": "array", "items": STRING},
        },
        ("id", "status"),
    ),
    "Rejection": _object({"reason": STRING}, ("reason",)),
    "AlertCreate": _object(
        {
            "text": {"type": "string", "maxLength": MAX_ALERT_TEXT},
            "title": {"type": "string", "maxLength": MAX_ALERT_TITLE},
            "starts_at": INSTANT_IN,
            "expires_at": INSTANT_IN,
            **TARGETS,
        },
        ("text", "expires_at"),
    ),
    "Alert": _object(
        {
            "id": INTEGER,
            "text": STRING,
            "status": {"enum": ["pending-approval", "on-air", "cancelled", "expired"]},
            "targeted": INTEGER,
            "confirmed": INTEGER,
        },
        ("id", "status"),
    ),
    "CampaignCreate": _object(
        {
            "name": STRING,
            "organisation": STRING,
            "starts_at": INSTANT_IN,
            "ends_at": INSTANT_IN,
            "share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            **TARGETS,
        },
        ("name", "starts_at", "ends_at", "share"),
    ),
    "Campaign": _object({"id": INTEGER, "name": STRING, "communes": {"type": "array"}}, ("id", "name")),
    "Invitations": _object({"communes": {"type": "array", "items": STRING}}, ("communes",)),
    "CampaignAnswer": _object(
        {
            "commune": STRING,
            "status": {"enum": ["accepted", "declined"]},
            "hours": ANY_OBJECT,
            "max_share": {"type": "number"},
        },
        ("commune", "status"),
    ),
    "Report": _object({"campaign": ANY_OBJECT, "panels": {"type": "array"}, "communes": {"type": "array"}}),
}

PATH_PARAMETERS: dict[str, Schema] = {
    "panel_id": STRING,
    "message_id": INTEGER,
    "alert_id": INTEGER,
    "campaign_id": INTEGER,
    "user_id": INTEGER,
    "token_id": INTEGER,
    "organisation_id": STRING,
    "entry_id": INTEGER,
}


def _query(name: str, description: str, schema: Schema = STRING) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PARAMETERS: dict[str, Schema] = {
    "limit": _query(
        "limit", "items per page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    ),
    "offset": _query("offset", "items to skip", {"type": "integer", "minimum": 0, "default": 0}),
    "format": _query("format", "csv: a CSV file instead of JSON", {"enum": ["csv"]}),
    "idempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "1 to 200 visible ASCII characters (a UUID, say), new for each request: a retry "
        "with the same key by the same user within 24 h gets the first answer (status and body, with "
        "the header Idempotent-Replayed: true) and creates nothing again; the same key with another "
        "method, path, query or body is a 422. A request that failed keeps no key.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}
IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/idempotencyKey"}
PAGINATION = (
    {"$ref": "#/components/parameters/limit"},
    {"$ref": "#/components/parameters/offset"},
)
CSV_FORMAT = {"$ref": "#/components/parameters/format"}


def _error(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


RESPONSES = {
    "Invalid": _error("a field is wrong: `field` names it"),
    "Unauthorized": _error("no valid token nor session"),
    "Forbidden": _error("the role lacks the permission (`x-permission`)"),
    "NotFound": _error("no such object, or not one this user may see"),
    "Conflict": _error("the change would break a rule (e.g. the last enabled administrator)"),
    "KeyReused": _error("the Idempotency-Key was already used for another request (`field` names it)"),
}


def _json(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _binary(mimetype: str, description: str) -> Schema:
    return {"description": description, "content": {mimetype: {"schema": {"type": "string"}}}}


def _op(
    summary: str,
    tag: str,
    permissions: tuple[Permission, ...] | None,
    answer: Schema,
    *,
    status: str = "200",
    params: tuple[Schema, ...] = (),
    body: str | None = None,
    errors: tuple[str, ...] = (),
    note: str | None = None,
    idempotent: bool = False,
) -> Schema:
    """One operation; ``permissions`` None is a public route, () any signed-in user. An ``idempotent``
    one takes the Idempotency-Key header (``controller.web.idempotency``)."""
    responses: dict[str, Schema] = {status: answer}
    codes = {"Invalid": "400", "NotFound": "404", "Conflict": "409", "KeyReused": "422"}
    if body is not None and "Invalid" not in errors:
        errors = ("Invalid", *errors)
    if idempotent:
        errors = (*errors, "KeyReused")
        params = (*params, IDEMPOTENCY_KEY)
    if permissions is not None:
        errors = ("Unauthorized", *(("Forbidden",) if permissions else ()), *errors)
    for name in errors:
        code = codes.get(name) or {"Unauthorized": "401", "Forbidden": "403"}[name]
        responses[code] = {"$ref": f"#/components/responses/{name}"}
    operation: Schema = {
        "summary": summary,
        "tags": [tag],
        "x-permission": [] if permissions is None else [p.value for p in permissions],
        "responses": responses,
    }
    if note:
        operation["description"] = note
    if params:
        operation["parameters"] = list(params)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if permissions is None:
        operation["security"] = []
    return operation


P = Permission
ANYONE: tuple[Permission, ...] = ()
PANEL = ("NotFound",)

ROUTES: dict[str, dict[str, Schema]] = {
    # --- administration (controller/web/api_admin.py)
    "/me": {"get": _op("Who I am and what I may do", "administration", ANYONE, _json(_ref("Me")))},
    "/users": {
        "get": _op(
            "Users, by name",
            "administration",
            (P.USERS_MANAGE,),
            _json(_list_of("users", _ref("User"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Create a user",
            "administration",
            (P.USERS_MANAGE,),
            _json(_ref("User"), "created"),
            status="201",
            body="UserCreate",
            errors=("Conflict",),
        ),
    },
    "/users/{user_id}": {
        "get": _op(
            "One user", "administration", (P.USERS_MANAGE,), _json(_ref("User")), errors=("NotFound",)
        ),
        "patch": _op(
            "Change a user's role, commune, organisation, password; disable or enable them",
            "administration",
            (P.USERS_MANAGE,),
            _json(_ref("User")),
            body="UserPatch",
            errors=("NotFound", "Conflict"),
            note="Disabling ends the user's sessions and revokes their tokens at once. The last enabled "
            "administrator can be neither disabled nor given another role (409).",
        ),
    },
    "/tokens": {
        "get": _op(
            "My API tokens (an administrator: anyone's with ?user=)",
            "administration",
            ANYONE,
            _json(_list_of("tokens", _ref("Token"))),
            params=(_query("user", "another user's name (users.manage)"), *PAGINATION),
            errors=("Invalid", "Forbidden", "NotFound"),
        ),
        "post": _op(
            'Create an API token (an administrator: for another user with "user")',
            "administration",
            ANYONE,
            _json(_ref("NewToken"), "created; the secret `token` is shown this once"),
            status="201",
            params=(_query("user", 'another user\'s name, as "user" in the body (users.manage)'),),
            body="TokenCreate",
            errors=("Forbidden", "NotFound", "Conflict"),
        ),
    },
    "/tokens/{token_id}": {
        "delete": _op(
            "Revoke a token (one's own; an administrator: anyone's)",
            "administration",
            ANYONE,
            _json(_ref("Token")),
            errors=("NotFound",),
        )
    },
    "/organisations": {
        "get": _op(
            "Organisations and whether they need a second person to approve (a commune user: their own)",
            "administration",
            ANYONE,
            _json(_list_of("organisations", _ref("Organisation"))),
            params=PAGINATION,
            errors=("Invalid",),
        )
    },
    "/organisations/{organisation_id}": {
        "patch": _op(
            "Rename an organisation, set its approval settings",
            "administration",
            (P.USERS_MANAGE,),
            _json(_ref("Organisation")),
            body="OrganisationPatch",
            errors=("NotFound",),
        )
    },
    "/audit": {
        "get": _op(
            "The audit log, newest first",
            "administration",
            (P.AUDIT_VIEW,),
            {
                "description": "a page of entries, or with format=csv every matching entry as CSV "
                "(UTF-8 with BOM, `;` separated)",
                "content": {
                    "application/json": {"schema": _list_of("entries", _ref("AuditEntry"))},
                    "text/csv": {"schema": STRING},
                },
            },
            params=(
                _query("user", "user name"),
                _query("action", "e.g. message.create; without a dot, every action on that object"),
                _query("object_type", "message, panel, user, token…"),
                _query("object_id", "the object's id"),
                _query("since", "from (inclusive): a date (midnight in Paris) or ISO 8601 with offset"),
                _query("until", "to (exclusive): a date or ISO 8601 with offset"),
                CSV_FORMAT,
                *PAGINATION,
            ),
            errors=("Invalid",),
            note="Read only: no route edits or deletes an entry, and the database refuses it too.",
        )
    },
    "/audit/{entry_id}": {
        "get": _op(
            "One audit entry",
            "administration",
            (P.AUDIT_VIEW,),
            _json(_ref("AuditEntry")),
            errors=("NotFound",),
        )
    },
    "/openapi.json": {"get": _op("This document", "documentation", None, _json(ANY_OBJECT))},
    # --- panels (controller/web/api.py)
    "/panels": {
        "get": _op(
            "Panels with their status",
            "panels",
            (P.PANELS_VIEW,),
            _json(_list_of("panels", _ref("Panel"))),
            params=(
                _query("online", "0 or 1", {"enum": ["0", "1"]}),
                _query("commune", "INSEE code"),
                _query("kind", "led, epaper…"),
                *PAGINATION,
            ),
            errors=("Invalid",),
        ),
        "post": _op(
            "Register a panel",
            "panels",
            (P.PANELS_MANAGE,),
            _json(_ref("Panel"), "registered"),
            status="201",
            body="PanelCreate",
            idempotent=True,
        ),
    },
    "/panels/{panel_id}": {
        "get": _op(
            "One panel and its latest events", "panels", (P.PANELS_VIEW,), _json(_ref("Panel")), errors=PANEL
        )
    },
    "/panels/{panel_id}/screenshot.png": {
        "get": _op(
            "What the panel reports it shows",
            "panels",
            (P.PANELS_VIEW,),
            _binary("image/png", "a PNG"),
            errors=PANEL,
        )
    },
    "/panels/{panel_id}/playlist": {
        "get": _op(
            "What the panel shows at a time, in order",
            "panels",
            (P.PANELS_VIEW,),
            _json(_ref("Playlist")),
            params=(_query("at", "ISO 8601 with offset (default now)"),),
            errors=("Invalid", *PANEL),
        )
    },
    "/panels/{panel_id}/history": {
        "get": _op(
            "Status history: online and offline, faults, refusals",
            "panels",
            (P.PANELS_VIEW,),
            _json(_list_of("history", _ref("HistoryEntry"))),
            params=PAGINATION,
            errors=("Invalid", *PANEL),
        )
    },
    "/panels/{panel_id}/commands": {
        "get": _op(
            "Commands sent to the panel and whether it acknowledged them",
            "panels",
            (P.PANELS_VIEW,),
            _json(_list_of("commands", _ref("CommandRecord"))),
            params=PAGINATION,
            errors=("Invalid", *PANEL),
        ),
        "post": _op(
            "Send a command: refresh, brightness, blank, test pattern, screenshot, identify",
            "panels",
            (P.PANELS_COMMAND,),
            _json(_ref("CommandSent"), "signed and handed to the broker"),
            status="202",
            body="CommandRequest",
            errors=PANEL,
            idempotent=True,
        ),
    },
    "/panels/{panel_id}/timeline": {
        "get": _op(
            "A week of what the panel will show",
            "panels",
            (P.PANELS_VIEW,),
            _json(_ref("Timeline")),
            params=(
                _query("from", "ISO 8601 with offset (default now)"),
                _query("days", "how many days (default 7)", {"type": "integer", "minimum": 1}),
            ),
            errors=("Invalid", *PANEL),
        )
    },
    # --- messages
    "/messages": {
        "get": _op(
            "Messages, newest first",
            "messages",
            (P.MESSAGES_VIEW,),
            _json(_list_of("messages", _ref("Message"))),
            params=(_query("status", "a message status"), _query("commune", "INSEE code"), *PAGINATION),
            errors=("Invalid",),
        ),
        "post": _op(
            "Queue a message (dry_run=1: check only)",
            "messages",
            (P.MESSAGES_EDIT,),
            _json(_ref("MessageQueued"), "queued"),
            status="201",
            params=(_query("dry_run", "1: check and resolve the panels, store nothing"),),
            body="MessageCreate",
            idempotent=True,
        ),
    },
    "/messages/{message_id}": {
        "get": _op(
            "One message", "messages", (P.MESSAGES_VIEW,), _json(_ref("Message")), errors=("NotFound",)
        ),
        "patch": _op(
            "Edit, pause or resume a message",
            "messages",
            (P.MESSAGES_EDIT,),
            _json(_ref("Message")),
            body="MessagePatch",
            errors=("NotFound",),
        ),
        "delete": _op(
            "Cancel a message", "messages", (P.MESSAGES_EDIT,), _json(_ref("Message")), errors=("NotFound",)
        ),
    },
    "/messages/{message_id}/approve": {
        "post": _op(
            "Approve a message (a second person)",
            "messages",
            (P.MESSAGES_APPROVE,),
            _json(_ref("Message")),
            errors=("NotFound", "Conflict"),
        )
    },
    "/messages/{message_id}/reject": {
        "post": _op(
            "Reject a message, saying why",
            "messages",
            (P.MESSAGES_APPROVE,),
            _json(_ref("Message")),
            body="Rejection",
            errors=("NotFound", "Conflict"),
        )
    },
    "/messages/{message_id}/preview.png": {
        "get": _op(
            "A queued message as one panel shows it",
            "messages",
            (P.MESSAGES_VIEW,),
            _binary("image/png", "a PNG"),
            params=({**_query("panel", "the panel id"), "required": True},),
            errors=("Invalid", "NotFound"),
        )
    },
    "/preview.png": {
        "post": _op(
            "A draft message on a panel or profile: nothing stored",
            "messages",
            (P.PANELS_VIEW,),
            _binary("image/png", "a PNG; headers X-Relais-Pages and X-Relais-Notes"),
            body="MessageCreate",
        )
    },
    # --- alerts
    "/alerts": {
        "get": _op(
            "Alerts",
            "alerts",
            (P.MESSAGES_VIEW,),
            _json(_list_of("alerts", _ref("Alert"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Send an emergency alert",
            "alerts",
            (P.ALERTS_SEND,),
            _json(_ref("Alert"), "created"),
            status="201",
            body="AlertCreate",
            idempotent=True,
        ),
    },
    "/alerts/{alert_id}": {
        "get": _op(
            "One alert and its confirmations",
            "alerts",
            (P.MESSAGES_VIEW,),
            _json(_ref("Alert")),
            errors=("NotFound",),
        ),
        "delete": _op(
            "Cancel an alert", "alerts", (P.ALERTS_SEND,), _json(_ref("Alert")), errors=("NotFound",)
        ),
    },
    "/alerts/{alert_id}/approve": {
        "post": _op(
            "Approve an alert (a second person)",
            "alerts",
            (P.ALERTS_APPROVE,),
            _json(_ref("Alert")),
            errors=("NotFound", "Conflict"),
        )
    },
    # --- campaigns
    "/campaigns": {
        "get": _op(
            "Campaigns",
            "campaigns",
            (P.CAMPAIGNS_VIEW,),
            _json(_list_of("campaigns", _ref("Campaign"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Create a campaign",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(_ref("Campaign"), "created"),
            status="201",
            body="CampaignCreate",
            idempotent=True,
        ),
    },
    "/campaigns/{campaign_id}": {
        "get": _op(
            "One campaign and the communes' answers",
            "campaigns",
            (P.CAMPAIGNS_VIEW,),
            _json(_ref("Campaign")),
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/invitations": {
        "post": _op(
            "Invite communes",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(_ref("Campaign")),
            body="Invitations",
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/answers": {
        "post": _op(
            "A commune accepts or declines, with its limits",
            "campaigns",
            (P.CAMPAIGNS_ANSWER,),
            _json(_ref("Campaign")),
            body="CampaignAnswer",
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/launch": {
        "post": _op(
            "Launch a campaign",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(_ref("Campaign")),
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/stop": {
        "post": _op(
            "Stop a campaign",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(_ref("Campaign")),
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/report": {
        "get": _op(
            "Displays and hours on air per panel and commune",
            "campaigns",
            (P.CAMPAIGNS_VIEW,),
            {
                "description": "the report, as JSON or (format=csv, or Accept: text/csv) CSV",
                "content": {"application/json": {"schema": _ref("Report")}, "text/csv": {"schema": STRING}},
            },
            params=(CSV_FORMAT,),
            errors=("NotFound",),
        )
    },
    # --- what can be chosen
    "/profiles": {"get": _op("Panel profiles", "rendering", (P.PANELS_VIEW,), _json(ANY_OBJECT))},
    "/layouts": {
        "get": _op("Layouts and the profiles they suit", "rendering", (P.PANELS_VIEW,), _json(ANY_OBJECT))
    },
    "/pictograms": {"get": _op("Pictograms", "rendering", (P.PANELS_VIEW,), _json(ANY_OBJECT))},
}


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
            'errors are {"error": {"code", "message", "field"?}}; lists answer '
            '{"<items>": [...], "total", "limit", "offset"}. `x-permission` lists what the '
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
