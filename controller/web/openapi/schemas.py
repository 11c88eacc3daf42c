"""The OpenAPI document's schemas: what the API takes and answers, object by object.

Every closed list of values (roles, permissions, priorities, markup syntaxes, statuses, commands…) is
the code's own, so the document cannot fall behind what the routes accept.
"""

from __future__ import annotations

from typing import Any

from controller.domain import alerts, campaigns, messages, official_alerts
from controller.domain.access import Permission, Role
from controller.domain.alerts import MAX_ALERT_TEXT, MAX_ALERT_TITLE
from controller.domain.notifications import DIGEST
from controller.domain.notifications import KINDS as NOTICE_KINDS
from controller.domain.panels import FALLBACKS
from controller.domain.public_hooks import EVENTS as WEBHOOK_EVENTS
from controller.official.rules import MODES, PLACEHOLDERS
from controller.official.rules import PRIORITIES as ALERT_PRIORITIES
from controller.rendering.layouts import ROLES
from controller.rendering.markup import MARKUP_SYNTAXES
from controller.scheduling.model import PRIORITIES
from relais import wire

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
TIME: Schema = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601, UTC"}
INSTANT_IN: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset"}
ANY_OBJECT: Schema = {"type": "object"}
ROLE: Schema = {"enum": [role.value for role in Role]}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def list_of(key: str, item: Schema) -> Schema:
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
    "markup": {"enum": list(MARKUP_SYNTAXES)},
    "role": {"enum": list(ROLES)},
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
    "priority": {"enum": list(PRIORITIES)},
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
            "role": ROLE,
            "organisation": NULLABLE_STRING,
            "commune": NULLABLE_STRING,
            "permissions": {
                "type": "array",
                "items": {"enum": [permission.value for permission in Permission]},
            },
        },
        ("id", "name", "role", "organisation", "commune", "permissions"),
    ),
    "User": _object(
        {
            "id": INTEGER,
            "name": STRING,
            "role": ROLE,
            "organisation": NULLABLE_STRING,
            "commune": NULLABLE_STRING,
            "commune_name": {**NULLABLE_STRING, "description": "in the list: the commune as people read it"},
            "organisation_name": {**NULLABLE_STRING, "description": "in the list"},
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
            "role": ROLE,
            "commune": {**NULLABLE_STRING, "description": "INSEE code; commune roles only"},
            "organisation": NULLABLE_STRING,
            "password": {"type": "string", "minLength": 12, "description": "none: tokens only"},
        },
        ("name", "role"),
        additionalProperties=False,
    ),
    "UserPatch": _object(
        {
            "role": ROLE,
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
            ref("Token"),
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
    "NotificationSettings": _object(
        {
            "organisation": {"type": "string", "description": 'the organisation ("" for people of none)'},
            "conditions": ref("NotificationConditions"),
            "smtp": {"oneOf": [ref("Smtp"), {"type": "null"}]},
        },
        ("organisation", "conditions", "smtp"),
    ),
    "NotificationConditions": _object(
        {
            "offline_after_s": {**INTEGER, "description": "a panel offline this long is reported (900)"},
            "recovery_s": {**INTEGER, "description": "back online this long before it is reported so (120)"},
            "back_online": BOOLEAN,
            "faults": BOOLEAN,
            "flap_spells": {**INTEGER, "description": "offline spells within flap_window_s: unstable (4)"},
            "flap_window_s": INTEGER,
            "behind_after_s": {**INTEGER, "description": "online and not up to date this long (900)"},
            "alert_confirm_s": {**INTEGER, "description": "a running alert a panel has not confirmed (60)"},
            "source_failures": {
                **INTEGER,
                "description": "an official alert source's failed polls in a row before it is reported (3)",
            },
        },
        additionalProperties=False,
    ),
    "Smtp": _object(
        {
            "host": STRING,
            "port": INTEGER,
            "starttls": BOOLEAN,
            "username": NULLABLE_STRING,
            "sender": STRING,
            "password_set": {**BOOLEAN, "description": "the password itself is never shown"},
        },
        ("host", "port", "starttls", "sender"),
    ),
    "NotificationSettingsPatch": _object(
        {
            "conditions": ref("NotificationConditions"),
            "smtp": {
                "description": "host, port, starttls, username, password, sender; null: none; a password "
                "left out is kept",
                "type": ["object", "null"],
            },
        },
        additionalProperties=False,
    ),
    "Subscription": _object(
        {
            "id": INTEGER,
            "channel": {"enum": ["email", "webhook"]},
            "address": {"type": "string", "description": "an e-mail address or an http(s) URL"},
            "kinds": {"type": "array", "items": {"enum": list(NOTICE_KINDS)}},
            "communes": {"type": "array", "items": STRING, "description": "INSEE codes; empty: every one"},
            "digest": {**BOOLEAN, "description": "once a day, at 7 h Paris time, all together"},
            "created_at": TIME,
        },
        ("id", "channel", "address", "kinds", "communes"),
    ),
    "NewSubscription": {
        "allOf": [
            ref("Subscription"),
            _object(
                {
                    "secret": {
                        "type": ["string", "null"],
                        "description": "a webhook's signing secret (X-Relais-Signature), shown this once",
                    }
                }
            ),
        ]
    },
    "SubscriptionCreate": _object(
        {
            "channel": {"enum": ["email", "webhook"]},
            "address": STRING,
            "kinds": {"type": "array", "items": {"enum": list(NOTICE_KINDS)}},
            "communes": {"type": "array", "items": STRING},
            "digest": BOOLEAN,
        },
        ("channel", "address"),
        additionalProperties=False,
    ),
    "NotificationSent": _object(
        {
            "id": INTEGER,
            "at": TIME,
            "kind": {"enum": [*NOTICE_KINDS, DIGEST]},
            "subject": STRING,
            "channel": STRING,
            "recipient": STRING,
            "panels": {"type": "array", "items": STRING},
            "result": {"enum": ["sent", "failed", "queued"]},
            "error": NULLABLE_STRING,
        },
        ("id", "at", "kind", "subject", "result"),
    ),
    "Webhook": _object(
        {
            "id": INTEGER,
            "organisation": STRING,
            "commune": {"type": ["string", "null"], "description": "an INSEE code; null: every commune"},
            "url": STRING,
            "events": {"type": "array", "items": {"enum": list(WEBHOOK_EVENTS)}},
            "created_at": TIME,
        },
        ("id", "organisation", "commune", "url", "events"),
    ),
    "NewWebhook": {
        "allOf": [
            ref("Webhook"),
            _object({"secret": {"type": "string", "description": "the signing secret, shown this once"}}),
        ]
    },
    "WebhookCreate": _object(
        {
            "url": {"type": "string", "description": "an http:// or https:// URL"},
            "events": {"type": "array", "items": {"enum": list(WEBHOOK_EVENTS)}},
            "commune": {
                "type": ["string", "null"],
                "description": "an INSEE code, or null for every commune (administrators); a commune "
                "user's is their commune",
            },
            "organisation": {"type": "string", "description": "another organisation's id (administrators)"},
        },
        ("url",),
        additionalProperties=False,
    ),
    "WebhookDelivery": _object(
        {
            "id": INTEGER,
            "event": {"enum": list(WEBHOOK_EVENTS)},
            "item_key": {"type": "string", "examples": ["message-12", "alert-3"]},
            "title": STRING,
            "created_at": TIME,
            "attempts": INTEGER,
            "next_try_at": {"type": ["string", "null"], "description": "the next try, while pending"},
            "result": {"enum": ["pending", "sent", "failed"]},
            "error": NULLABLE_STRING,
            "done_at": {"type": ["string", "null"]},
        },
        ("id", "event", "item_key", "created_at", "attempts", "result"),
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
            "object_name": {
                "type": ["string", "null"],
                "description": "the user's, campaign's, organisation's or panel's name now (null otherwise)",
            },
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
            "showing": {
                **ANY_OBJECT,
                "description": "what the panel itself reported it shows (`item_id`, `content_hash`, "
                "`label`), as of `reported_at`: a panel reports when it applies a schedule or takes a "
                "command, not at each turn of its rotation",
            },
            "on_air": {
                "oneOf": [ref("OnAir"), {"type": "null"}],
                "description": "what the schedule the controller signed puts on the panel now; null "
                "when it never signed it one",
            },
            "agent_version": NULLABLE_STRING,
            "faults": {"type": "array", "items": STRING},
            "brightness_now": {"type": ["integer", "null"]},
        },
        ("id",),
    ),
    "OnAir": _object(
        {
            "source": {"enum": ["schedule"], "description": "derived from the signed schedule and the clock"},
            "seq": {**INTEGER, "description": "the sequence number of that schedule"},
            "item": {**NULLABLE_STRING, "description": "the item's id; null: the schedule blanks the panel"},
            "label": {"type": ["object", "null"], "description": "`{kind, text}` as in `showing.label`"},
            "page": {"type": ["integer", "null"], "description": "the page up, from 1"},
            "pages": {"type": ["integer", "null"], "description": "the item's number of pages"},
            "frame": {**NULLABLE_STRING, "description": "that page's frame hash, for `on-air.png?frame=`"},
            "until": {**TIME, "description": "ISO 8601, UTC: when that page gives way; null: for good"},
            "reported": {
                "type": ["object", "null"],
                "description": "what the panel reported instead, when it matters: "
                "`{reason: behind, applied_seq}` (it has not applied this schedule yet) or "
                "`{reason: command, command, until}` (a blank, test pattern or identify is up)",
            },
        },
        ("source", "seq", "item", "page", "pages", "until", "reported"),
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
            "fallback": {"enum": list(FALLBACKS)},
            "brightness": STRING,
            "night_brightness": INTEGER,
        },
        ("id", "name", "commune_insee", "kind", "width", "height"),
    ),
    "HistoryEntry": _object({"at": TIME, "event": STRING, "details": {}}, ("at", "event")),
    "CommandRequest": _object(
        {
            "command": {"enum": list(wire.COMMAND_ARGS)},
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
    "MessagePatch": _object(
        {
            **MESSAGE_FIELDS,
            # An edit clears a date with null: no start is now, no end is for good.
            "starts_at": {
                **INSTANT_IN,
                "type": ["string", "null"],
                "description": "ISO 8601 with its offset; null: now",
            },
            "ends_at": {
                **INSTANT_IN,
                "type": ["string", "null"],
                "description": "ISO 8601 with its offset; null: no end",
            },
            "paused": BOOLEAN,
        }
    ),
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
            "status": {"enum": list(messages.STATUSES)},
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
    "AlertPreview": _object(
        {
            "text": {"type": "string", "maxLength": MAX_ALERT_TEXT},
            "title": {"type": "string", "maxLength": MAX_ALERT_TITLE},
            "profile": STRING,
        },
        ("text", "profile"),
    ),
    "AlertReach": _object(
        {
            "dry_run": BOOLEAN,
            "panels": {"type": "array", "items": STRING},
            "communes": {"type": "array", "items": STRING, "description": "INSEE codes"},
            "profiles": {
                "type": "array",
                "items": _object({"profile": STRING, "label": STRING, "panels": INTEGER}),
                "description": "each kind of panel reached, with how many of them",
            },
        },
        ("dry_run", "panels", "communes", "profiles"),
    ),
    "AlertPanels": _object(
        {
            "id": INTEGER,
            "status": {"enum": list(alerts.STATUSES)},
            "targeted": INTEGER,
            **dict.fromkeys(alerts.PANEL_STATES, INTEGER),
            "communes": {
                "type": "array",
                "items": _object(
                    {
                        "insee": STRING,
                        "name": STRING,
                        "targeted": INTEGER,
                        **dict.fromkeys(alerts.PANEL_STATES, INTEGER),
                        "panels": {
                            "type": "array",
                            "description": "only for the communes asked for (?commune=)",
                            "items": _object(
                                {
                                    "id": STRING,
                                    "name": STRING,
                                    "state": {"enum": list(alerts.PANEL_STATES)},
                                    "confirmed_at": TIME,
                                    "last_seen": TIME,
                                }
                            ),
                        },
                    }
                ),
            },
        },
        ("id", "targeted", "communes"),
    ),
    "Alert": _object(
        {
            "id": INTEGER,
            "text": STRING,
            "status": {"enum": list(alerts.STATUSES)},
            "targeted": INTEGER,
            "confirmed": INTEGER,
        },
        ("id", "status"),
    ),
    "AlertSourceCreate": _object(
        {
            "name": {"type": "string", "maxLength": official_alerts.MAX_NAME},
            "kind": {
                "enum": list(official_alerts.SOURCE_KINDS),
                "description": "atom: MeteoAlarm's Atom feed; cap: one CAP 1.2/1.1 document's URL; folder: "
                "a folder on the controller where files (.xml, .cap) are dropped",
            },
            "location": {"type": "string", "description": "the http(s) URL, or the folder's absolute path"},
            "poll_interval_s": {
                "type": "integer",
                "minimum": official_alerts.MIN_POLL_S,
                "maximum": official_alerts.MAX_POLL_S,
                "default": official_alerts.DEFAULT_POLL_S,
            },
            "test_mode": {"type": "boolean", "description": "Test and Exercise documents too"},
            "organisation": {
                **NULLABLE_STRING,
                "description": "an administrator's choice; else the actor's own",
            },
        },
        ("name", "kind", "location"),
    ),
    "AlertSourceChange": _object(
        {
            "name": STRING,
            "kind": {"enum": list(official_alerts.SOURCE_KINDS)},
            "location": STRING,
            "poll_interval_s": INTEGER,
            "test_mode": BOOLEAN,
        }
    ),
    "AlertSource": _object(
        {
            "id": INTEGER,
            "organisation": NULLABLE_STRING,
            "name": STRING,
            "kind": {"enum": list(official_alerts.SOURCE_KINDS)},
            "location": STRING,
            "poll_interval_s": INTEGER,
            "test_mode": BOOLEAN,
            "health": _object(
                {
                    "status": {"enum": ["waiting", "ok", "error"]},
                    "last_success_at": TIME,
                    "last_error": NULLABLE_STRING,
                    "last_error_at": TIME,
                    "failures": INTEGER,
                    "next_try_at": TIME,
                }
            ),
        },
        ("id", "name", "kind", "location", "health"),
    ),
    "AlertRuleCreate": _object(
        {
            "name": STRING,
            "match": _object(
                {},
                description="senders, events, categories, awareness_types, awareness_levels, severities, "
                "urgencies, certainties, response_types: each a list, empty or left out accepts any",
            ),
            "targets": _object(
                {
                    "alert_area": {"type": "boolean", "default": True},
                    "departments": {"type": "array", "items": STRING},
                    "tags": {"type": "array", "items": STRING},
                    "communes": {"type": "array", "items": STRING},
                }
            ),
            "deployment": _object(
                {
                    "mode": {"enum": list(MODES)},
                    "priority": {"enum": list(ALERT_PRIORITIES)},
                    "timeout_minutes": {"type": "integer", "minimum": 1},
                },
                ("mode", "priority"),
            ),
            "wording": {
                "type": "object",
                "additionalProperties": STRING,
                "description": "panel family (led, epaper, or a profile's prefix) → text; placeholders: "
                + " ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            },
            "position": {"type": "integer", "minimum": 1, "description": "1: tried first; default last"},
            "organisation": NULLABLE_STRING,
        },
        ("name", "deployment", "wording"),
    ),
    "AlertRule": _object(
        {"id": INTEGER, "organisation": NULLABLE_STRING, "position": INTEGER, "name": STRING},
        ("id", "position", "name"),
    ),
    "OfficialAlert": _object(
        {
            "id": INTEGER,
            "sender": STRING,
            "identifier": STRING,
            "msg_type": STRING,
            "event": STRING,
            "headline": STRING,
            "sender_name": NULLABLE_STRING,
            "awareness_level": {
                "type": ["integer", "null"],
                "description": "MeteoAlarm's 1 (green) to 4 (red)",
            },
            "awareness_type": {"type": ["integer", "null"], "description": "MeteoAlarm's hazard number"},
            "severity": NULLABLE_STRING,
            "area": NULLABLE_STRING,
            "onset_at": TIME,
            "status": {"enum": list(official_alerts.STATUSES)},
            "reason": NULLABLE_STRING,
            "panels": {"type": "array", "items": STRING},
            "texts": {"type": "object", "additionalProperties": STRING, "description": "profile → wording"},
            "expires_at": TIME,
            "deploys_at": TIME,
            "alert_id": {"type": ["integer", "null"]},
            "raw": {"type": "string", "description": "the CAP document as received (one alert only)"},
        },
        ("id", "sender", "identifier", "status"),
    ),
    "OfficialApproval": _object(
        {
            "texts": {
                "type": "object",
                "additionalProperties": STRING,
                "description": "profile → edited wording",
            }
        }
    ),
    "OfficialRejection": _object({"reason": {"type": "string", "maxLength": 500}}, ("reason",)),
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
    "Campaign": _object(
        {
            "id": INTEGER,
            "name": STRING,
            "organisation_name": STRING,
            "communes": {"type": "array"},
            "messages": {"type": "array", "items": INTEGER},
            "contents": {
                "type": "array",
                "description": "each message's title, text, dates and recurrence: what invited communes read",
                "items": ANY_OBJECT,
            },
        },
        ("id", "name"),
    ),
    "Invitations": _object({"communes": {"type": "array", "items": STRING}}, ("communes",)),
    "CampaignAnswer": _object(
        {
            "commune": STRING,
            "status": {"enum": list(campaigns.CONSENT_STATUSES)},
            "hours": ANY_OBJECT,
            "max_share": {"type": "number"},
        },
        ("commune", "status"),
    ),
    "Indicators": _object(
        {
            "filters": ANY_OBJECT,
            "campaigns": {"type": "array", "description": "each campaign's sums over the rows asked for"},
            "weeks": {"type": "array", "description": "one row per campaign, invited commune and ISO week"},
            "department": _object({"online": {"type": "array"}, "showing": {"type": "array"}}),
        },
        ("filters", "campaigns", "weeks", "department"),
    ),
    "Report": _object({"campaign": ANY_OBJECT, "panels": {"type": "array"}, "communes": {"type": "array"}}),
    "Targets": _object(TARGETS),
    "TargetChoices": _object(
        {
            "departments": {"type": "array", "items": _object({"code": STRING, "panels": INTEGER})},
            "communes": {
                "type": "array",
                "items": _object({"insee": STRING, "name": STRING, "panels": INTEGER}),
            },
            "tags": {"type": "array", "items": _object({"name": STRING, "panels": INTEGER})},
            "panels": {**INTEGER, "description": "how many panels one may target"},
        },
        ("departments", "communes", "tags", "panels"),
    ),
    "TargetPanel": _object(
        {
            "id": STRING,
            "name": STRING,
            "commune": _object({"insee": STRING, "name": STRING}),
            "kind": STRING,
            "width": INTEGER,
            "height": INTEGER,
        },
        ("id", "name", "commune", "kind"),
    ),
    "TargetsResolved": _object(
        {
            "panels": {**INTEGER, "description": "how many panels the targets reach"},
            "communes": {**INTEGER, "description": "in how many communes"},
            "kinds": {
                "type": "object",
                "additionalProperties": INTEGER,
                "description": "panels per kind: led, epaper",
            },
            "profiles": {
                "type": "array",
                "description": "each profile reached, with its count and one of its panels to preview on",
                "items": _object(
                    {
                        "profile": STRING,
                        "kind": STRING,
                        "width": INTEGER,
                        "height": INTEGER,
                        "panels": INTEGER,
                        "example": ref("TargetPanel"),
                    }
                ),
            },
            "named": {
                "type": "array",
                "items": ref("TargetPanel"),
                "description": "the panels named in `panels`, with their names",
            },
        },
        ("panels", "communes", "kinds", "profiles", "named"),
    ),
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
    "subscription_id": INTEGER,
    "webhook_id": INTEGER,
    "source_id": INTEGER,
    "rule_id": INTEGER,
    "official_id": INTEGER,
}
