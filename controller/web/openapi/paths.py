"""The OpenAPI document's paths: every /api/v1 operation, its permission, parameters, body and answers."""

from __future__ import annotations

from controller.domain.access import Permission
from controller.domain.messages import STATUSES
from controller.domain.panels import SORTS
from controller.web import idempotency
from controller.web.api_common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from controller.web.openapi.schemas import ANY_OBJECT, INTEGER, STRING, Schema, list_of, ref


def _query(name: str, description: str, schema: Schema = STRING) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PARAMETERS: dict[str, Schema] = {
    "limit": _query(
        "limit",
        "items per page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
    ),
    "offset": _query("offset", "items to skip", {"type": "integer", "minimum": 0, "default": 0}),
    "format": _query("format", "csv: a CSV file instead of JSON", {"enum": ["csv"]}),
    "idempotencyKey": {
        "name": idempotency.HEADER,
        "in": "header",
        "required": False,
        "description": f"1 to {idempotency.MAX_KEY_LENGTH} visible ASCII characters (a UUID, say), new for each request: a retry "
        "with the same key by the same user within 24 h gets the first answer (status and body, with "
        f"the header {idempotency.REPLAYED_HEADER}: true) and creates nothing again; the same key with another "
        "method, path, query or body is a 422. A request that failed keeps no key.",
        "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
    },
}
IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/idempotencyKey"}
PAGINATION = (
    {"$ref": "#/components/parameters/limit"},
    {"$ref": "#/components/parameters/offset"},
)
CSV_FORMAT = {"$ref": "#/components/parameters/format"}


def _error(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


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
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    if permissions is None:
        operation["security"] = []
    return operation


P = Permission
ANYONE: tuple[Permission, ...] = ()
PANEL = ("NotFound",)

ROUTES: dict[str, dict[str, Schema]] = {
    # --- administration (controller/web/api/users.py, tokens.py, organisations.py, audit_log.py)
    "/me": {"get": _op("Who I am and what I may do", "administration", ANYONE, _json(ref("Me")))},
    "/users": {
        "get": _op(
            "Users, by name",
            "administration",
            (P.USERS_MANAGE,),
            _json(list_of("users", ref("User"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Create a user",
            "administration",
            (P.USERS_MANAGE,),
            _json(ref("User"), "created"),
            status="201",
            body="UserCreate",
            errors=("Conflict",),
        ),
    },
    "/users/{user_id}": {
        "get": _op("One user", "administration", (P.USERS_MANAGE,), _json(ref("User")), errors=("NotFound",)),
        "patch": _op(
            "Change a user's role, commune, organisation, password; disable or enable them",
            "administration",
            (P.USERS_MANAGE,),
            _json(ref("User")),
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
            _json(list_of("tokens", ref("Token"))),
            params=(_query("user", "another user's name (users.manage)"), *PAGINATION),
            errors=("Invalid", "Forbidden", "NotFound"),
        ),
        "post": _op(
            'Create an API token (an administrator: for another user with "user")',
            "administration",
            ANYONE,
            _json(ref("NewToken"), "created; the secret `token` is shown this once"),
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
            _json(ref("Token")),
            errors=("NotFound",),
        )
    },
    "/organisations": {
        "get": _op(
            "Organisations and whether they need a second person to approve (a commune user: their own)",
            "administration",
            ANYONE,
            _json(list_of("organisations", ref("Organisation"))),
            params=PAGINATION,
            errors=("Invalid",),
        )
    },
    "/organisations/{organisation_id}": {
        "patch": _op(
            "Rename an organisation, set its approval settings",
            "administration",
            (P.USERS_MANAGE,),
            _json(ref("Organisation")),
            body="OrganisationPatch",
            errors=("NotFound",),
        )
    },
    "/notifications/settings": {
        "get": _op(
            "An organisation's notification conditions and mail server (one's own; an administrator: any)",
            "notifications",
            (P.NOTIFICATIONS_MANAGE,),
            _json(ref("NotificationSettings")),
            params=(_query("organisation", "another organisation's id (administrators)"),),
            errors=("NotFound",),
        ),
        "patch": _op(
            "Change an organisation's notification conditions or mail server, field by field",
            "notifications",
            (P.NOTIFICATIONS_MANAGE,),
            _json(ref("NotificationSettings")),
            params=(_query("organisation", "another organisation's id (administrators)"),),
            body="NotificationSettingsPatch",
            errors=("NotFound",),
        ),
    },
    "/notifications/subscriptions": {
        "get": _op(
            "My subscriptions: what I am told, where, for which communes",
            "notifications",
            (P.PANELS_VIEW,),
            _json(list_of("subscriptions", ref("Subscription"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Subscribe by e-mail or webhook",
            "notifications",
            (P.PANELS_VIEW,),
            _json(ref("NewSubscription"), "created; a webhook's `secret` is shown this once"),
            status="201",
            body="SubscriptionCreate",
            errors=("Conflict",),
        ),
    },
    "/notifications/subscriptions/{subscription_id}": {
        "delete": _op(
            "Unsubscribe (one's own subscriptions only)",
            "notifications",
            (P.PANELS_VIEW,),
            _json(ref("Subscription")),
            errors=("NotFound",),
        )
    },
    "/notifications/log": {
        "get": _op(
            "Notifications sent, newest first, with each delivery's result (mine; ?all=1: everyone's, administrators)",
            "notifications",
            (P.PANELS_VIEW,),
            _json(list_of("log", ref("NotificationSent"))),
            params=(_query("all", "1: everyone's (administrators)"), *PAGINATION),
            errors=("Invalid",),
        )
    },
    "/webhooks": {
        "get": _op(
            "Webhooks for apps and websites (an administrator: every one; a commune user: their commune's)",
            "webhooks",
            (P.WEBHOOKS_MANAGE,),
            _json(list_of("webhooks", ref("Webhook"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Add a webhook: message published, changed, ended; alert started, ended (what is public only)",
            "webhooks",
            (P.WEBHOOKS_MANAGE,),
            _json(ref("NewWebhook"), "created; its signing `secret` is shown this once"),
            status="201",
            body="WebhookCreate",
            errors=("NotFound", "Conflict"),
        ),
    },
    "/webhooks/{webhook_id}": {
        "delete": _op(
            "Remove a webhook and its deliveries",
            "webhooks",
            (P.WEBHOOKS_MANAGE,),
            _json(ref("Webhook")),
            errors=("NotFound",),
        )
    },
    "/webhooks/{webhook_id}/deliveries": {
        "get": _op(
            "A webhook's deliveries, newest first: each event, its tries, its result and last error",
            "webhooks",
            (P.WEBHOOKS_MANAGE,),
            _json(list_of("deliveries", ref("WebhookDelivery"))),
            params=PAGINATION,
            errors=("NotFound", "Invalid"),
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
                    "application/json": {"schema": list_of("entries", ref("AuditEntry"))},
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
            _json(ref("AuditEntry")),
            errors=("NotFound",),
        )
    },
    "/openapi.json": {"get": _op("This document", "documentation", None, _json(ANY_OBJECT))},
    # --- panels (controller/web/api/panels.py, commands.py)
    "/panels": {
        "get": _op(
            "Panels with their status",
            "panels",
            (P.PANELS_VIEW,),
            _json(list_of("panels", ref("Panel"))),
            params=(
                _query("id", "a panel's id; repeated: those panels (at most 200), as the fleet page asks"),
                _query("online", "0 or 1", {"enum": ["0", "1"]}),
                _query("commune", "INSEE code"),
                _query("kind", "led, epaper…"),
                _query("search", "part of a panel's name or of its commune's name, accents and case aside"),
                _query("sort", "the order of the list (default: by id), ties by name", {"enum": list(SORTS)}),
                _query("dir", "asc or desc, for sort", {"enum": ["asc", "desc"]}),
                *PAGINATION,
            ),
            errors=("Invalid",),
        ),
        "post": _op(
            "Register a panel",
            "panels",
            (P.PANELS_MANAGE,),
            _json(ref("Panel"), "registered"),
            status="201",
            body="PanelCreate",
            idempotent=True,
        ),
    },
    "/panels/{panel_id}": {
        "get": _op(
            "One panel and its latest events", "panels", (P.PANELS_VIEW,), _json(ref("Panel")), errors=PANEL
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
    "/panels/{panel_id}/on-air.png": {
        "get": _op(
            "A page of the schedule signed for the panel, as the controller draws it (`on_air.frame`)",
            "panels",
            (P.PANELS_VIEW,),
            _binary("image/png", "a PNG; named by its frame's hash, it never changes"),
            params=(_query("frame", "the frame's content hash, `on_air.frame` of the panel"),),
            errors=("Invalid", *PANEL),
        )
    },
    "/panels/{panel_id}/playlist": {
        "get": _op(
            "What the panel shows at a time, in order",
            "panels",
            (P.PANELS_VIEW,),
            _json(ref("Playlist")),
            params=(_query("at", "ISO 8601 with offset (default now)"),),
            errors=("Invalid", *PANEL),
        )
    },
    "/panels/{panel_id}/history": {
        "get": _op(
            "Status history: online and offline, faults, refusals",
            "panels",
            (P.PANELS_VIEW,),
            _json(list_of("history", ref("HistoryEntry"))),
            params=PAGINATION,
            errors=("Invalid", *PANEL),
        )
    },
    "/panels/{panel_id}/commands": {
        "get": _op(
            "Commands sent to the panel and whether it acknowledged them",
            "panels",
            (P.PANELS_VIEW,),
            _json(list_of("commands", ref("CommandRecord"))),
            params=PAGINATION,
            errors=("Invalid", *PANEL),
        ),
        "post": _op(
            "Send a command: refresh, brightness, blank, test pattern, screenshot, identify",
            "panels",
            (P.PANELS_COMMAND,),
            _json(ref("CommandSent"), "signed and handed to the broker"),
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
            _json(ref("Timeline")),
            params=(
                _query("from", "ISO 8601 with offset (default now)"),
                _query("days", "how many days (default 7)", {"type": "integer", "minimum": 1}),
            ),
            errors=("Invalid", *PANEL),
        )
    },
    # --- messages (controller/web/api/messages.py, previews.py)
    "/messages": {
        "get": _op(
            "Messages, newest first",
            "messages",
            (P.MESSAGES_VIEW,),
            _json(list_of("messages", ref("Message"))),
            params=(
                _query("status", "a message status", {"enum": list(STATUSES)}),
                _query("commune", "INSEE code"),
                *PAGINATION,
            ),
            errors=("Invalid",),
        ),
        "post": _op(
            "Queue a message (dry_run=1: check only)",
            "messages",
            (P.MESSAGES_EDIT,),
            _json(ref("MessageQueued"), "queued"),
            status="201",
            params=(_query("dry_run", "1: check and resolve the panels, store nothing"),),
            body="MessageCreate",
            idempotent=True,
        ),
    },
    "/messages/{message_id}": {
        "get": _op(
            "One message", "messages", (P.MESSAGES_VIEW,), _json(ref("Message")), errors=("NotFound",)
        ),
        "patch": _op(
            "Edit, pause or resume a message",
            "messages",
            (P.MESSAGES_EDIT,),
            _json(ref("Message")),
            body="MessagePatch",
            errors=("NotFound",),
        ),
        "delete": _op(
            "Cancel a message", "messages", (P.MESSAGES_EDIT,), _json(ref("Message")), errors=("NotFound",)
        ),
    },
    "/messages/{message_id}/approve": {
        "post": _op(
            "Approve a message (a second person)",
            "messages",
            (P.MESSAGES_APPROVE,),
            _json(ref("Message")),
            errors=("NotFound", "Conflict"),
        )
    },
    "/messages/{message_id}/reject": {
        "post": _op(
            "Reject a message, saying why",
            "messages",
            (P.MESSAGES_APPROVE,),
            _json(ref("Message")),
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
    "/messages/{message_id}/poster.pdf": {
        "get": _op(
            "A message as a poster (A4 or A3 PDF): the commune, the words, the dates, a QR code to the public page",
            "messages",
            (P.MESSAGES_VIEW,),
            _binary("application/pdf", "a one-page PDF"),
            params=(_query("size", "the paper size", {"enum": ["A4", "A3"], "default": "A4"}),),
            errors=("Invalid", "NotFound"),
        )
    },
    "/preview.png": {
        "post": _op(
            "A draft message on a panel or profile: nothing stored",
            "messages",
            (P.PANELS_VIEW,),
            _binary(
                "image/png", "a PNG; headers X-Relais-Pages, X-Relais-Seconds (all pages) and X-Relais-Notes"
            ),
            body="MessageCreate",
        )
    },
    # --- alerts (controller/web/api/alerts.py)
    "/alerts": {
        "get": _op(
            "Alerts",
            "alerts",
            (P.MESSAGES_VIEW,),
            _json(list_of("alerts", ref("Alert"))),
            params=(_query("panels", "0: leave out each alert's panels, keep their counts"), *PAGINATION),
            errors=("Invalid",),
        ),
        "post": _op(
            "Send an emergency alert (dry_run=1: check and draw only)",
            "alerts",
            (P.ALERTS_SEND,),
            _json(ref("Alert"), "created (a dry run: 200 with AlertReach)"),
            status="201",
            params=(
                _query(
                    "dry_run", "1: check and draw on each kind of panel, store nothing; 200 with AlertReach"
                ),
            ),
            body="AlertCreate",
            idempotent=True,
        ),
    },
    "/alerts/preview.png": {
        "post": _op(
            "A draft alert as one kind of panel (profile) draws it: nothing stored",
            "alerts",
            (P.ALERTS_SEND,),
            _binary("image/png", "a PNG"),
            body="AlertPreview",
            errors=("Invalid",),
        )
    },
    "/alerts/{alert_id}": {
        "get": _op(
            "One alert and its confirmations",
            "alerts",
            (P.MESSAGES_VIEW,),
            _json(ref("Alert")),
            errors=("NotFound",),
        ),
        "delete": _op(
            "Cancel an alert", "alerts", (P.ALERTS_SEND,), _json(ref("Alert")), errors=("NotFound",)
        ),
    },
    "/alerts/{alert_id}/panels": {
        "get": _op(
            "Who confirmed an alert, who has not yet, who is offline: per commune, and per panel",
            "alerts",
            (P.MESSAGES_VIEW,),
            _json(ref("AlertPanels")),
            params=(_query("commune", "INSEE code, repeated: list the panels of these communes"),),
            errors=("Invalid", "NotFound"),
        )
    },
    "/alerts/{alert_id}/approve": {
        "post": _op(
            "Approve an alert (a second person)",
            "alerts",
            (P.ALERTS_APPROVE,),
            _json(ref("Alert")),
            errors=("NotFound", "Conflict"),
        )
    },
    # --- official alerts (controller/web/api/official_alerts.py)
    "/alert-sources": {
        "get": _op(
            "Official alert sources, with their health",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(list_of("alert_sources", ref("AlertSource"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Add a source, polled at once (an organisation's first brings Météo-France's default rules)",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(ref("AlertSource"), "created"),
            status="201",
            body="AlertSourceCreate",
        ),
    },
    "/alert-sources/{source_id}": {
        "get": _op(
            "One source", "official alerts", (P.ALERTS_SEND,), _json(ref("AlertSource")), errors=PANEL
        ),
        "patch": _op(
            "Change a source",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(ref("AlertSource")),
            body="AlertSourceChange",
            errors=PANEL,
        ),
        "delete": _op(
            "Remove a source (what it brought stays listed)",
            "official alerts",
            (P.ALERTS_SEND,),
            {"description": "removed"},
            status="204",
            errors=PANEL,
        ),
    },
    "/alert-rules": {
        "get": _op(
            "Rules, in the order they are tried",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(list_of("alert_rules", ref("AlertRule"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Add a rule",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(ref("AlertRule"), "created"),
            status="201",
            body="AlertRuleCreate",
        ),
    },
    "/alert-rules/{rule_id}": {
        "get": _op("One rule", "official alerts", (P.ALERTS_SEND,), _json(ref("AlertRule")), errors=PANEL),
        "patch": _op(
            "Change a rule's fields given, or its position",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(ref("AlertRule")),
            body="AlertRuleCreate",
            errors=PANEL,
        ),
        "delete": _op(
            "Remove a rule",
            "official alerts",
            (P.ALERTS_SEND,),
            {"description": "removed"},
            status="204",
            errors=PANEL,
        ),
    },
    "/official-alerts": {
        "get": _op(
            "Documents received, newest first (without their raw CAP)",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(list_of("official_alerts", ref("OfficialAlert"))),
            params=(_query("status", "received, matched, pending, deployed, rejected or ended"), *PAGINATION),
            errors=("Invalid",),
        )
    },
    "/official-alerts/{official_id}": {
        "get": _op(
            "One document received, with its raw CAP",
            "official alerts",
            (P.ALERTS_SEND,),
            _json(ref("OfficialAlert")),
            errors=PANEL,
        )
    },
    "/official-alerts/{official_id}/approve": {
        "post": _op(
            "Approve a pending official alert, its wording edited where given: deployed now",
            "official alerts",
            (P.ALERTS_APPROVE,),
            _json(ref("OfficialAlert")),
            body="OfficialApproval",
            errors=("NotFound", "Conflict"),
        )
    },
    "/official-alerts/{official_id}/reject": {
        "post": _op(
            "Reject a pending official alert",
            "official alerts",
            (P.ALERTS_APPROVE,),
            _json(ref("OfficialAlert")),
            body="OfficialRejection",
            errors=("NotFound", "Conflict"),
        )
    },
    # --- campaigns (controller/web/api/campaigns.py)
    "/campaigns": {
        "get": _op(
            "Campaigns",
            "campaigns",
            (P.CAMPAIGNS_VIEW,),
            _json(list_of("campaigns", ref("Campaign"))),
            params=PAGINATION,
            errors=("Invalid",),
        ),
        "post": _op(
            "Create a campaign",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(ref("Campaign"), "created"),
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
            _json(ref("Campaign")),
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/invitations": {
        "post": _op(
            "Invite communes",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(ref("Campaign")),
            body="Invitations",
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/answers": {
        "post": _op(
            "A commune accepts or declines, with its limits",
            "campaigns",
            (P.CAMPAIGNS_ANSWER,),
            _json(ref("Campaign")),
            body="CampaignAnswer",
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/launch": {
        "post": _op(
            "Launch a campaign",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(ref("Campaign")),
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/stop": {
        "post": _op(
            "Stop a campaign",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            _json(ref("Campaign")),
            errors=("NotFound",),
        )
    },
    "/campaigns/{campaign_id}/preview.png": {
        "get": _op(
            "One of a campaign's messages as one panel would show it (an invited commune's own panels)",
            "campaigns",
            (P.CAMPAIGNS_VIEW,),
            _binary("image/png", "a PNG"),
            params=(
                {**_query("panel", "the panel id"), "required": True},
                _query("message", "one of the campaign's messages (by default its first)", INTEGER),
            ),
            errors=("Invalid", "NotFound"),
        )
    },
    "/campaigns/{campaign_id}/report": {
        "get": _op(
            "Displays and hours on air per panel and commune",
            "campaigns",
            (P.CAMPAIGNS_VIEW,),
            {
                "description": "the report, as JSON or (format=csv, or Accept: text/csv) CSV",
                "content": {"application/json": {"schema": ref("Report")}, "text/csv": {"schema": STRING}},
            },
            params=(CSV_FORMAT,),
            errors=("NotFound",),
        )
    },
    # --- the steering indicators (controller/web/api/indicators.py)
    "/indicators": {
        "get": _op(
            "Reach per campaign, commune and ISO week; the department's panels online",
            "campaigns",
            (P.CAMPAIGNS_MANAGE,),
            {
                "description": "the indicators, as JSON or (format=csv, or Accept: text/csv) CSV",
                "content": {
                    "application/json": {"schema": ref("Indicators")},
                    "text/csv": {"schema": STRING},
                },
            },
            params=(
                _query("campaign", "one campaign's rows", INTEGER),
                _query("commune", "one commune's rows (INSEE code)"),
                _query("from", "from this ISO week (2026-W50), included"),
                _query("to", "to this ISO week, included"),
                _query("table", "the CSV's table: weeks (default) or online", {"enum": ["weeks", "online"]}),
                CSV_FORMAT,
            ),
            errors=("Invalid", "NotFound"),
        )
    },
    # --- what can be chosen (controller/web/api/catalogue.py)
    "/profiles": {"get": _op("Panel profiles", "rendering", (P.PANELS_VIEW,), _json(ANY_OBJECT))},
    "/layouts": {
        "get": _op(
            "Layouts, the message fields each shows and the profiles they suit",
            "rendering",
            (P.PANELS_VIEW,),
            _json(ANY_OBJECT),
        )
    },
    "/pictograms": {"get": _op("Pictograms", "rendering", (P.PANELS_VIEW,), _json(ANY_OBJECT))},
    # --- choosing targets (controller/web/api/targets.py)
    "/targets": {
        "get": _op(
            "The departments, communes and tags one may target, with their panel counts",
            "targets",
            (P.PANELS_VIEW,),
            _json(ref("TargetChoices")),
            note="A commune's user is offered its own commune and the tags no other commune's panel carries.",
        )
    },
    "/targets/panels": {
        "get": _op(
            "The panels one may target, by commune then name",
            "targets",
            (P.PANELS_VIEW,),
            _json(list_of("panels", ref("TargetPanel"))),
            params=(
                _query("search", "part of a panel's name or id, or of its commune's name or INSEE code"),
                *PAGINATION,
            ),
            errors=("Invalid",),
        )
    },
    "/targets/resolve": {
        "post": _op(
            "What targets reach, before sending: panels, communes, kinds, profiles",
            "targets",
            (P.PANELS_VIEW,),
            _json(ref("TargetsResolved")),
            body="Targets",
            note="Checked as a message's targets are: an unknown panel is a 422 on `panels`, a commune's "
            "user reaching beyond its commune a 403 naming the field.",
        )
    },
}
