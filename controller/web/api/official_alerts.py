"""/alert-sources, /alert-rules, /official-alerts: official alerts from CAP feeds. An organisation's
sources (polled, with their health) and rules (as data), kept by its campaign managers and the
administrators; the documents received, and the approval queue of those a rule deploys only on a yes."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from controller.domain import official_alerts
from controller.domain.access import Permission
from controller.publishing.schedules import draw_ahead, republish
from controller.storage.db import transaction
from controller.web import i18n
from controller.web.api_common import audited, json_object, paged, publish
from controller.web.auth import current_actor, requires
from controller.web.context import get_db, signing_key

bp = Blueprint("official_alerts", __name__)


def _source(source_id: int) -> dict[str, Any]:
    """As the audit log keeps it: its last error in English."""
    return official_alerts.get_source(get_db(), source_id, current_actor())


def _shown_source(source_id: int) -> dict[str, Any]:
    """As the client reads it: its last error in the client's language."""
    return official_alerts.get_source(get_db(), source_id, current_actor(), i18n.error_text)


def _rule(rule_id: int) -> dict[str, Any]:
    return official_alerts.get_rule(get_db(), rule_id, current_actor())


def _official(official_id: int) -> dict[str, Any]:
    return official_alerts.get_official(get_db(), official_id, current_actor())


@bp.get("/alert-sources")
@requires(Permission.ALERTS_SEND)
def list_sources() -> Response:
    """The sources of the actor's organisation (every one for an administrator), with their health."""
    return paged("alert_sources", official_alerts.list_sources(get_db(), current_actor(), i18n.error_text))


@bp.get("/alert-sources/<int:source_id>")
@requires(Permission.ALERTS_SEND)
def show_source(source_id: int) -> Response:
    return jsonify(_shown_source(source_id))


@bp.post("/alert-sources")
@requires(Permission.ALERTS_SEND)
def create_source() -> tuple[Response, int]:
    """``{"name", "kind": "atom"|"cap"|"folder", "location", "poll_interval_s"?, "test_mode"?}``: polled
    at once, then every ``poll_interval_s`` (60 s by default)."""
    data, db = json_object(), get_db()
    with audited(db, "alert_source.create", "alert_source", read=_source, publish_after=False) as change:
        change.object_id = official_alerts.create_source(db, data, current_actor(), time.time())
    return jsonify(_shown_source(change.object_id)), 201


@bp.patch("/alert-sources/<int:source_id>")
@requires(Permission.ALERTS_SEND)
def update_source(source_id: int) -> Response:
    data, db = json_object(), get_db()
    with audited(db, "alert_source.update", "alert_source", source_id, _source, publish_after=False):
        official_alerts.update_source(db, source_id, data, current_actor())
    return jsonify(_shown_source(source_id))


@bp.delete("/alert-sources/<int:source_id>")
@requires(Permission.ALERTS_SEND)
def delete_source(source_id: int) -> tuple[str, int]:
    db = get_db()
    with audited(db, "alert_source.delete", "alert_source", source_id, publish_after=False) as change:
        change.before = _source(
            source_id
        )  # no ``read``: nothing is read after, the audit's ``after`` is None
        official_alerts.delete_source(db, source_id, current_actor())
    return "", 204


@bp.get("/alert-rules")
@requires(Permission.ALERTS_SEND)
def list_rules() -> Response:
    """The rules of the actor's organisation in the order they are tried (every organisation's for an
    administrator)."""
    return paged("alert_rules", official_alerts.list_rules(get_db(), current_actor()))


@bp.get("/alert-rules/<int:rule_id>")
@requires(Permission.ALERTS_SEND)
def show_rule(rule_id: int) -> Response:
    return jsonify(_rule(rule_id))


@bp.post("/alert-rules")
@requires(Permission.ALERTS_SEND)
def create_rule() -> tuple[Response, int]:
    """``{"name", "match", "targets", "deployment", "wording", "position"?}``; last unless ``position``."""
    data, db = json_object(), get_db()
    with audited(db, "alert_rule.create", "alert_rule", read=_rule, publish_after=False) as change:
        change.object_id = official_alerts.create_rule(db, data, current_actor(), time.time())
    return jsonify(change.after), 201


@bp.patch("/alert-rules/<int:rule_id>")
@requires(Permission.ALERTS_SEND)
def update_rule(rule_id: int) -> Response:
    data, db = json_object(), get_db()
    with audited(db, "alert_rule.update", "alert_rule", rule_id, _rule, publish_after=False) as change:
        official_alerts.update_rule(db, rule_id, data, current_actor(), time.time())
    return jsonify(change.after)


@bp.delete("/alert-rules/<int:rule_id>")
@requires(Permission.ALERTS_SEND)
def delete_rule(rule_id: int) -> tuple[str, int]:
    db = get_db()
    with audited(db, "alert_rule.delete", "alert_rule", rule_id, publish_after=False) as change:
        change.before = _rule(rule_id)  # no ``read``: nothing is read after, the audit's ``after`` is None
        official_alerts.delete_rule(db, rule_id, current_actor())
    return "", 204


@bp.get("/official-alerts")
@requires(Permission.ALERTS_SEND)
def list_official() -> Response:
    """Newest first, ``?status=pending`` for the approval queue; without the raw CAP."""
    status = request.args.get("status") or None
    return paged("official_alerts", official_alerts.list_official(get_db(), current_actor(), status))


@bp.get("/official-alerts/<int:official_id>")
@requires(Permission.ALERTS_SEND)
def show_official(official_id: int) -> Response:
    """One document received, with its raw CAP as it came."""
    return jsonify(_official(official_id))


@bp.post("/official-alerts/<int:official_id>/approve")
@requires(Permission.ALERTS_APPROVE)
def approve_official(official_id: int) -> Response:
    """Deployed now, with ``{"texts": {profile: text}}`` replacing the rule's wording where given."""
    data = json_object() if request.get_data() else {}
    actor, db, now = current_actor(), get_db(), time.time()
    panels = official_alerts.get_official(db, official_id, actor)["panels"]  # 404 before anything else
    texts = official_alerts.check_texts(db, official_id, data)
    draw_ahead(db, panels, now)
    with transaction(db):  # the domain writes the audit entry, with the alert it became
        touched = official_alerts.approve(db, official_id, actor, now, texts)
        republish(db, signing_key(), now=now, panel_ids=sorted(touched))
    publish()
    return jsonify(_official(official_id))


@bp.post("/official-alerts/<int:official_id>/reject")
@requires(Permission.ALERTS_APPROVE)
def reject_official(official_id: int) -> Response:
    """``{"reason"}``: it stays listed, rejected, with its reason, and reaches no panel."""
    data = json_object() if request.get_data() else {}
    db = get_db()
    with transaction(db):  # the domain writes the audit entry, as for every step of an official alert
        official_alerts.reject(db, official_id, current_actor(), data.get("reason"), time.time())
    return jsonify(_official(official_id))
