"""/alerts: emergency alerts, on air at once unless the author's organisation wants a second person
first; cancelling one takes it off every panel it reached."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from controller.domain import alerts
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.domain.panels import INSEE_PATTERN
from controller.domain.scope import check_second_person
from controller.publishing.schedules import draw_ahead, republish
from controller.web.api_common import audited, dry_run_asked, json_body, paged
from controller.web.auth import Forbidden, current_actor, requires
from controller.web.context import get_db, signing_key
from controller.web.idempotency import idempotent

bp = Blueprint("alerts", __name__)


def _alert(alert_id: int) -> dict[str, Any]:
    return alerts.get_alert(get_db(), alert_id, current_actor(), time.time())


@bp.get("/alerts")
@requires(Permission.MESSAGES_VIEW)
def list_alerts() -> Response:
    """Newest first; ``?panels=0`` leaves out each alert's panels (their counts stay)."""
    with_panels = request.args.get("panels", "1").lower() not in ("0", "false", "no")
    return paged("alerts", alerts.list_alerts(get_db(), current_actor(), time.time(), with_panels))


@bp.post("/alerts")
@requires(Permission.ALERTS_SEND)
@idempotent
def create_alert() -> tuple[Response, int]:
    """On air at once, unless the author's organisation wants a second person first; with
    ``?dry_run=1`` only checked and drawn, answering what it would reach, for the sender to confirm."""
    actor, db, now = current_actor(), get_db(), time.time()
    alert = alerts.check_alert(db, json_body(), now=now)
    if dry_run_asked():
        return jsonify(alerts.alert_reach(alert)), 200
    draw_ahead(db, alert.panel_ids, now)
    with audited(db, "alert.create", "alert", read=_alert) as change:
        change.object_id = alerts.record_alert(
            db, alert, created_by=actor.name, organisation=actor.organisation, now=now
        )
        republish(db, signing_key(), now=now, panel_ids=alert.panel_ids)
    return jsonify(change.after), 201


@bp.get("/alerts/<int:alert_id>")
@requires(Permission.MESSAGES_VIEW)
def show_alert(alert_id: int) -> Response:
    return jsonify(_alert(alert_id))


@bp.get("/alerts/<int:alert_id>/panels")
@requires(Permission.MESSAGES_VIEW)
def alert_panels(alert_id: int) -> Response:
    """Who confirmed, who has not yet, who is offline: per commune, and panel by panel for the communes
    named with ``?commune=`` (repeated)."""
    communes = request.args.getlist("commune")
    for insee in communes:
        if not INSEE_PATTERN.match(insee):
            raise FieldError("commune", "INSEE codes have 5 characters, e.g. 01053")
    return jsonify(alerts.alert_panels(get_db(), alert_id, current_actor(), set(communes), time.time()))


@bp.delete("/alerts/<int:alert_id>")
@requires(Permission.ALERTS_SEND)
def cancel_alert(alert_id: int) -> Response:
    """An administrator, or a campaign manager of the alert's own organisation, takes it off the air."""
    actor, db, now = current_actor(), get_db(), time.time()
    with audited(db, "alert.cancel", "alert", alert_id, _alert) as change:
        if not actor.can_for(Permission.ALERTS_SEND, change.before["organisation"]):
            owner = change.before["organisation"] or "no organisation"
            raise Forbidden(
                "alert {alert_id} is of {owner}: only its members or an administrator may cancel it",
                alert_id=alert_id,
                owner=owner,
            )
        alerts.cancel_alert(db, alert_id, now)
        republish(db, signing_key(), now=now, panel_ids=alerts.alert_panel_ids(db, alert_id))
        change.after = _alert(alert_id)
        change.recorded = change.before["cancelled_at"] is None
    return jsonify(change.after)


@bp.post("/alerts/<int:alert_id>/approve")
@requires(Permission.ALERTS_APPROVE)
def approve_alert(alert_id: int) -> Response:
    actor, db, now = current_actor(), get_db(), time.time()
    with audited(db, "alert.approve", "alert", alert_id, _alert) as change:
        check_second_person(actor, Permission.ALERTS_APPROVE, "alert", change.before)
        alerts.approve_alert(db, alert_id, by=actor.name, now=now)
        republish(db, signing_key(), now=now, panel_ids=alerts.alert_panel_ids(db, alert_id))
    return jsonify(change.after)
