"""/webhooks: webhooks for apps and websites, an organisation's, each with its deliveries. An administrator
manages any organisation's, for a commune or every one; a commune's editors and approvers their own
organisation's for their commune only."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify

from controller.domain import public_hooks
from controller.domain.access import Actor, Permission, Role
from controller.domain.errors import FieldError
from controller.web.api_common import audited, json_object, page_answer, page_params, paged
from controller.web.auth import Forbidden, current_actor, requires
from controller.web.context import check_webhook_address, get_db

bp = Blueprint("webhooks", __name__)


def _organisation(actor: Actor, data: dict[str, Any]) -> str:
    """The webhook's organisation: one's own; an administrator may name another."""
    own = actor.organisation or ""
    asked = data.get("organisation", own)
    if asked == own:
        return own
    if actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may add another organisation's webhooks")
    if not isinstance(asked, str) or (
        asked and get_db().execute("select 1 from organisations where id = ?", [asked]).fetchone() is None
    ):
        raise FieldError("organisation", "no organisation {organisation!r}", status=404, organisation=asked)
    return asked


def _visible(actor: Actor, row: dict[str, Any] | None) -> bool:
    """An administrator sees every webhook; anyone else their organisation's, for their commune only."""
    if row is None:
        return False
    if actor.role == Role.ADMIN:
        return True
    return row["organisation"] == (actor.organisation or "") and row["commune_insee"] == actor.commune_insee


def _own(webhook_id: int) -> dict[str, Any]:
    row = public_hooks.find_webhook(get_db(), webhook_id)
    if row is None or not _visible(current_actor(), row):
        raise FieldError("webhook_id", "no webhook {webhook_id}", status=404, webhook_id=webhook_id)
    return row


@bp.get("/webhooks")
@requires(Permission.WEBHOOKS_MANAGE)
def list_webhooks() -> Response:
    actor = current_actor()
    if actor.role == Role.ADMIN:
        found = public_hooks.list_webhooks(get_db(), None, None)
    else:
        found = public_hooks.list_webhooks(get_db(), actor.organisation or "", actor.commune_insee)
        found = [row for row in found if _visible(actor, row)]
    return paged("webhooks", [public_hooks.webhook_json(row) for row in found])


@bp.post("/webhooks")
@requires(Permission.WEBHOOKS_MANAGE)
def add_webhook() -> tuple[Response, int]:
    """``{"url", "events"?, "commune"?, "organisation"?}``; the answer holds the signing ``secret``,
    shown this once. A commune user's webhook is for their commune, whatever ``commune`` says."""
    data, db, actor = json_object(), get_db(), current_actor()
    organisation = _organisation(actor, data)
    if actor.scoped:
        commune = actor.commune_insee
        if data.get("commune", commune) != commune:
            raise Forbidden("a commune user's webhooks are for their own commune")
    else:
        commune = public_hooks.valid_commune(data.get("commune"))
    fields = {key: value for key, value in data.items() if key not in ("commune", "organisation")}
    check_webhook_address("url", fields.get("url"))
    with audited(db, "webhook.create", "webhook", publish_after=False) as change:
        row = public_hooks.add_webhook(db, organisation, commune, actor.user_id, fields, time.time())
        change.object_id, change.after = row["id"], public_hooks.webhook_json(row)
    return jsonify({**change.after, "secret": row["secret"]}), 201


@bp.delete("/webhooks/<int:webhook_id>")
@requires(Permission.WEBHOOKS_MANAGE)
def remove_webhook(webhook_id: int) -> Response:
    db = get_db()
    row = _own(webhook_id)
    with audited(db, "webhook.delete", "webhook", webhook_id, publish_after=False) as change:
        change.before = public_hooks.webhook_json(row)
        public_hooks.remove_webhook(db, webhook_id)
        change.after = {}
    return jsonify(change.before)


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@requires(Permission.WEBHOOKS_MANAGE)
def deliveries(webhook_id: int) -> Response:
    """The webhook's deliveries, newest first: each event, its tries and result, the last error."""
    _own(webhook_id)
    limit, offset = page_params()
    rows, total = public_hooks.deliveries_of(get_db(), webhook_id, limit, offset)
    return page_answer("deliveries", rows, total, limit, offset)
