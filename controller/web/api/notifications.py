"""/notifications: an organisation's conditions and mail server (administrators, technicians of that
organisation), one's own subscriptions (anyone), and the log of what was sent."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from controller.dates import iso_utc
from controller.domain import subscriptions
from controller.domain.access import Permission, Role
from controller.domain.errors import FieldError
from controller.web.api_common import audited, json_object, page_answer, page_params, paged
from controller.web.auth import Forbidden, current_actor, requires
from controller.web.context import check_webhook_address, get_db

bp = Blueprint("notifications", __name__)


def _organisation() -> str:
    """``?organisation=``: one's own by default ("" for no organisation); only an administrator may name
    another."""
    actor = current_actor()
    own = actor.organisation or ""
    asked = request.args.get("organisation", own)
    if asked != own and actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may change another organisation's notifications")
    if asked and get_db().execute("select 1 from organisations where id = ?", [asked]).fetchone() is None:
        raise FieldError("organisation", "no organisation {organisation!r}", status=404, organisation=asked)
    return asked


@bp.get("/notifications/settings")
@requires(Permission.NOTIFICATIONS_MANAGE)
def show_settings() -> Response:
    """The conditions (defaults until changed) and the SMTP server, without its password."""
    return jsonify(subscriptions.settings_json(get_db(), _organisation()))


@bp.patch("/notifications/settings")
@requires(Permission.NOTIFICATIONS_MANAGE)
def change_settings() -> Response:
    """``{"conditions"?: {...}, "smtp"?: {...} | null}``, changed field by field; a password left out is kept."""
    organisation, data, db = _organisation(), json_object(), get_db()
    with audited(
        db, "notifications.update", "organisation", organisation or None, publish_after=False
    ) as change:
        change.before = subscriptions.settings_json(db, organisation)
        change.after = subscriptions.save_settings(db, organisation, data, time.time())
        change.recorded = change.before != change.after
    return jsonify(change.after)


def _subscription_json(row: dict[str, Any]) -> dict[str, Any]:
    shown = subscriptions.subscription_json(row)
    return {**shown, "created_at": iso_utc(shown["created_at"])}


@bp.get("/notifications/subscriptions")
@requires(Permission.PANELS_VIEW)
def list_subscriptions() -> Response:
    found = subscriptions.list_subscriptions(get_db(), current_actor().user_id)
    return paged("subscriptions", [_subscription_json(row) for row in found])


@bp.post("/notifications/subscriptions")
@requires(Permission.PANELS_VIEW)
def add_subscription() -> tuple[Response, int]:
    """``{"channel": "email"|"webhook", "address", "kinds"?, "communes"?}``: a webhook's answer holds
    its signing ``secret``, shown this once."""
    data, db = json_object(), get_db()
    if data.get("channel") == "webhook":
        check_webhook_address("address", data.get("address"))
    with audited(db, "subscription.create", "subscription", publish_after=False) as change:
        row = subscriptions.add_subscription(db, current_actor().user_id, data)
        change.object_id, change.after = row["id"], _subscription_json(row)
    return jsonify({**change.after, "secret": row["secret"]}), 201


@bp.delete("/notifications/subscriptions/<int:subscription_id>")
@requires(Permission.PANELS_VIEW)
def remove_subscription(subscription_id: int) -> Response:
    """One's own only; another user's answers 404."""
    db = get_db()
    row = subscriptions.find_subscription(db, subscription_id)
    if row is None or row["user_id"] != current_actor().user_id:
        raise FieldError(
            "subscription_id",
            "no subscription {subscription_id}",
            status=404,
            subscription_id=subscription_id,
        )
    with audited(db, "subscription.delete", "subscription", subscription_id, publish_after=False) as change:
        change.before = _subscription_json(row)
        db.execute("delete from notification_subscriptions where id = ?", [subscription_id])
        change.after = {}
    return jsonify(change.before)


@bp.get("/notifications/log")
@requires(Permission.PANELS_VIEW)
def delivery_log() -> Response:
    """What was sent, newest first, with each delivery's result: one's own; ``?all=1`` everyone's, for
    an administrator."""
    actor = current_actor()
    everyone = request.args.get("all") == "1"
    if everyone and actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may read everyone's notifications")
    limit, offset = page_params()
    rows, total = subscriptions.delivery_log(get_db(), None if everyone else actor.user_id, limit, offset)
    return page_answer("log", [{**row, "at": iso_utc(row["at"])} for row in rows], total, limit, offset)
