"""The REST API under /api/v1: JSON in, JSON out, every route behind a token or a session and a permission."""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request
from sqlite_utils import Database

from controller.dates import iso_utc
from controller.domain import alerts, audit, campaigns, messages
from controller.domain.access import Permission
from controller.domain.commands import command_log, record_command
from controller.domain.errors import FieldError
from controller.domain.messages import parse_content, render_for
from controller.domain.panels import Panel, get_panels, panel_statuses, register_panel
from controller.domain.schedule_fields import TARGET_FIELDS, parse_instant
from controller.domain.scope import answering_commune, check_second_person, may_change_message
from controller.publishing import queueing
from controller.publishing.outbox import command_expires_at, seal_command
from controller.publishing.reports import SCREENSHOT_QUERY, history, recent_events
from controller.publishing.schedules import draw_ahead, playlist, republish, timeline
from controller.rendering.layouts import load_layouts
from controller.rendering.pictograms import PICTOGRAMS
from controller.rendering.preview import preview_png
from controller.rendering.profiles import ProfileError, get_profile, load_profiles
from controller.storage.db import transaction
from controller.storage.message_store import stored_content
from controller.web.api_common import (
    error,
    json_body,
    json_object,
    page_answer,
    page_params,
    register_error_handlers,
)
from controller.web.auth import Forbidden, current_actor, requires
from controller.web.context import broker_watch, get_db, mqtt_link, signing_key
from controller.web.idempotency import idempotent
from relais import wire
from relais.broker_security import CREDENTIALS_NAME, BrokerCredentials, reload_running_broker

bp = Blueprint("api", __name__, url_prefix="/api/v1")
register_error_handlers(bp)

MAX_TIMELINE_DAYS = 14


def _paged(key: str, items: list[Any]) -> Response:
    """A list answer: one page of ``items`` with the total, as every list of the API answers."""
    limit, offset = page_params()
    return page_answer(key, items[offset : offset + limit], len(items), limit, offset)


def _audit(db: Database, action: str, object_type: str, object_id: object, before: Any, after: Any) -> None:
    """Record a change made by this request's actor; call inside the transaction making the change."""
    audit.record(
        db, current_actor(), action, object_type, str(object_id), before, after, ip=request.remote_addr
    )


def _flag(name: str) -> bool | None:
    """A yes/no query filter (``?online=1``): None when absent."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value.lower() not in ("0", "1", "true", "false", "yes", "no"):
        raise FieldError(name, "is 0 or 1")
    return value.lower() in ("1", "true", "yes")


@bp.get("/panels")
@requires(Permission.PANELS_VIEW)
def list_panels() -> Response:
    """The fleet a person may see, filtered by ``online``, ``commune``, ``kind`` (led, epaper…), paginated."""
    actor = current_actor()
    found = panel_statuses(
        get_db(),
        online=_flag("online"),
        commune=request.args.get("commune") or None,
        kind=request.args.get("kind") or None,
        watch=broker_watch(mqtt_link()),
    )
    return _paged("panels", [panel for panel in found if actor.sees_commune(panel["commune"]["insee"])])


@bp.post("/panels")
@requires(Permission.PANELS_MANAGE)
@idempotent
def add_panel() -> tuple[Response, int]:
    db = get_db()
    with transaction(db):
        panel = register_panel(db, json_body())
        shown = panel_statuses(db, panel.id)[0]
        _audit(db, "panel.create", "panel", panel.id, None, shown)
    _give_broker_user(panel.id)
    link = mqtt_link()
    if link is not None:
        link.watch_panels()  # its state from now on, not at the next sweep
    return jsonify(shown), 201


def _give_broker_user(panel_id: str) -> None:
    """With a locked-down broker of this data folder, the new panel gets its MQTT user at once."""
    broker_dir = Path(current_app.config["DATA_DIR"]) / "broker"
    if (broker_dir / CREDENTIALS_NAME).exists():
        BrokerCredentials(broker_dir).panel(panel_id)
        reload_running_broker(broker_dir)


def _one_panel(panel_id: str) -> dict[str, Any]:
    """A panel the actor may see; another commune's answers 404 as if it did not exist."""
    found = panel_statuses(get_db(), panel_id, watch=broker_watch(mqtt_link()))
    if not found or not current_actor().sees_commune(found[0]["commune"]["insee"]):
        raise FieldError("panel_id", f"no panel {panel_id!r}", status=404)
    return found[0]


def _visible_panel(panel_id: str, field: str, status: int) -> Panel:
    """A panel named in a request's body or query: absent and another commune's are answered alike."""
    panel = get_panels(get_db(), [panel_id]).get(panel_id)
    if panel is None or not current_actor().sees_commune(panel.commune_insee):
        raise FieldError(field, f"no panel {panel_id!r}", status=status)
    return panel


@bp.get("/panels/<panel_id>")
@requires(Permission.PANELS_VIEW)
def show_panel(panel_id: str) -> Response:
    return jsonify({**_one_panel(panel_id), "events": recent_events(get_db(), panel_id)})


@bp.get("/panels/<panel_id>/screenshot.png")
@requires(Permission.PANELS_VIEW)
def screenshot(panel_id: str) -> Response | tuple[Response, int]:
    _one_panel(panel_id)
    row = get_db().execute(SCREENSHOT_QUERY, [panel_id]).fetchone()
    if row is None or row[0] is None:
        return error(404, "no-screenshot", f"panel {panel_id!r} has not reported what it shows yet")
    return _png(row[0])


@bp.get("/panels/<panel_id>/history")
@requires(Permission.PANELS_VIEW)
def panel_history(panel_id: str) -> Response:
    """Online and offline, faults, refusals, displays and acknowledgements, newest first."""
    _one_panel(panel_id)
    limit, offset = page_params()
    rows, total = history(get_db(), panel_id, limit, offset)
    entries = [
        {
            "at": iso_utc(row["at"]),
            "received_at": iso_utc(row["received_at"]),
            "event": row["event"],
            "details": row["details"],
        }
        for row in rows
    ]
    return page_answer("history", entries, total, limit, offset)


@bp.get("/panels/<panel_id>/commands")
@requires(Permission.PANELS_VIEW)
def panel_commands(panel_id: str) -> Response:
    """The commands sent to a panel, newest first, each with the panel's acknowledgement once it came."""
    _one_panel(panel_id)
    limit, offset = page_params()
    rows, total = command_log(get_db(), panel_id, limit, offset)
    return page_answer("commands", rows, total, limit, offset)


@bp.post("/panels/<panel_id>/commands")
@requires(Permission.PANELS_COMMAND)
@idempotent
def send_command(panel_id: str) -> tuple[Response, int]:
    """``{"command", "args"}``, checked with the agent's own rules so a typo is a 400, not a refusal later.

    The command is recorded, audited and handed to the broker in one transaction: one the broker did
    not take leaves no trace.
    """
    _one_panel(panel_id)
    data = json_object()
    try:
        command = wire.Command.from_content(data, patterns=wire.TEST_PATTERNS)
    except wire.CommandError as exc:
        raise FieldError(exc.field, exc.problem) from None
    link = mqtt_link()
    if link is None or not link.connected.is_set():
        return error(503, "broker-unavailable", "the broker is not reachable now; try again")
    db, now = get_db(), time.time()
    with transaction(db):
        seq, payload = seal_command(db, signing_key(), panel_id, command.name, now, command.args)
        shown = {"panel": panel_id, "command": command.name, "args": command.args, "seq": seq}
        shown = {"id": record_command(db, panel_id, seq, command, current_actor().name, now), **shown}
        _audit(db, "command.send", "panel", panel_id, None, shown)
        if not link.send_command(panel_id, payload, command_expires_at(now)):
            raise _BrokerRefused()
    return jsonify(shown), 202


class _BrokerRefused(Exception):
    """Raised inside the command's transaction to roll it back."""


@bp.errorhandler(_BrokerRefused)
def _broker_refused(_exc: _BrokerRefused) -> tuple[Response, int]:
    return error(503, "broker-unavailable", "the command could not be handed to the broker")


def _publish() -> None:
    """Hand what was just sealed to the broker now rather than at the next outbox sweep."""
    link = mqtt_link()
    if link is not None:
        link.flush()


def _instant(name: str, default: float) -> float:
    value = request.args.get(name)
    return default if value is None else float(parse_instant({name: value}, name) or default)


@bp.get("/panels/<panel_id>/playlist")
@requires(Permission.PANELS_VIEW)
def panel_playlist(panel_id: str) -> Response:
    """What the panel shows at ``?at=<ISO 8601>`` (default now), in order, with validity window and dwell."""
    _one_panel(panel_id)
    answer = playlist(get_db(), panel_id, _instant("at", time.time()))
    for key in ("at", "valid_from", "valid_until"):
        answer[key] = iso_utc(None if answer[key] is None else int(answer[key]))
    return jsonify(answer)


@bp.get("/panels/<panel_id>/timeline")
@requires(Permission.PANELS_VIEW)
def panel_timeline(panel_id: str) -> Response:
    """What the panel will show from ``?from=`` (default now) for ``?days=`` (default 7), segment by
    segment, each item with its message, campaign or alert."""
    _one_panel(panel_id)
    try:
        days = int(request.args.get("days", 7))
    except ValueError:
        raise FieldError("days", "must be a whole number of days") from None
    if not 1 <= days <= MAX_TIMELINE_DAYS:
        raise FieldError("days", f"must be 1 to {MAX_TIMELINE_DAYS}")
    answer = timeline(get_db(), panel_id, _instant("from", time.time()), days)
    answer["from"], answer["until"] = iso_utc(answer["from"]), iso_utc(answer["until"])
    for segment in answer["segments"]:
        segment["start"], segment["end"] = iso_utc(segment["start"]), iso_utc(segment["end"])
    return jsonify(answer)


def _message(message_id: int) -> dict[str, Any]:
    return messages.visible_message(get_db(), current_actor(), message_id, time.time())


def _changeable_message(message_id: int) -> dict[str, Any]:
    """A message the actor may change: another commune's is absent, the prefecture's is not theirs to change."""
    found = _message(message_id)
    if not may_change_message(current_actor(), found["commune"]):
        raise Forbidden(f"message {message_id} is not your commune's: ask its author")
    return found


@bp.get("/messages")
@requires(Permission.MESSAGES_VIEW)
def list_messages() -> Response:
    """Newest first, filtered by ``status`` and ``commune``, paginated."""
    found = messages.list_messages(
        get_db(),
        current_actor(),
        time.time(),
        status=request.args.get("status") or None,
        commune=request.args.get("commune") or None,
    )
    return _paged("messages", found)


@bp.post("/messages")
@requires(Permission.MESSAGES_EDIT)
@idempotent
def create_message() -> tuple[Response, int]:
    dry_run = request.args.get("dry_run", "").lower() in ("1", "true", "yes")
    actor, db, now = current_actor(), get_db(), time.time()
    draft = queueing.draft_message(db, json_body(), commune_insee=actor.commune_insee, now=now)
    with transaction(db):
        queued = queueing.record_message(
            db,
            signing_key(),
            draft,
            created_by=actor.name,
            organisation=actor.organisation,
            now=now,
            dry_run=dry_run,
        )
        if dry_run:
            return jsonify({"dry_run": True, "panels": queued.panels, "warnings": queued.warnings}), 200
        shown = messages.visible_message(db, actor, queued.id, now)
        _audit(db, "message.create", "message", queued.id, None, shown)
    _publish()
    return jsonify(
        {
            "id": queued.id,
            "item_id": queued.item_id,
            "status": shown["status"],
            "panels": queued.seqs or dict.fromkeys(queued.panels),
            "warnings": queued.warnings,
        }
    ), 201


@bp.get("/messages/<int:message_id>")
@requires(Permission.MESSAGES_VIEW)
def show_message(message_id: int) -> Response:
    return jsonify(_message(message_id))


@bp.patch("/messages/<int:message_id>")
@requires(Permission.MESSAGES_EDIT)
def change_message(message_id: int) -> Response:
    """Any field it was queued with, and/or ``"paused": true|false``; its panels get a fresh schedule."""
    actor, db, now = current_actor(), get_db(), time.time()
    data = json_body()
    _changeable_message(message_id)
    queueing.check_edit(db, message_id, data, now=now)
    with transaction(db):
        before = _changeable_message(message_id)
        warnings = queueing.update_message(
            db, signing_key(), message_id, data, changed_by=actor.name, now=now
        )
        after = _message(message_id)
        if isinstance(data, dict) and set(data) == {"paused"}:
            action = "message.pause" if data["paused"] else "message.resume"
        else:
            action = "message.update"
        _audit(db, action, "message", message_id, before, after)
    _publish()
    return jsonify({**after, "warnings": warnings})


@bp.delete("/messages/<int:message_id>")
@requires(Permission.MESSAGES_EDIT)
def cancel_message(message_id: int) -> Response:
    """Take the message off its panels for good (cancelling twice changes nothing)."""
    db, now = get_db(), time.time()
    with transaction(db):
        before = _changeable_message(message_id)
        if queueing.cancel_message(db, signing_key(), message_id, now=now):
            _audit(db, "message.cancel", "message", message_id, before, _message(message_id))
    _publish()
    return jsonify(_message(message_id))


@bp.post("/messages/<int:message_id>/approve")
@requires(Permission.MESSAGES_APPROVE)
def approve_message(message_id: int) -> Response:
    """A second person of the author's organisation puts the message on air."""
    return _decide(message_id, approve=True, reason=None)


@bp.post("/messages/<int:message_id>/reject")
@requires(Permission.MESSAGES_APPROVE)
def reject_message(message_id: int) -> Response:
    """``{"reason": "…"}``: the author reads why, edits, and the message waits for approval again."""
    data = json_body()
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        raise FieldError("reason", "is required: tell the author why")
    return _decide(message_id, approve=False, reason=reason.strip()[:500])


def _decide(message_id: int, *, approve: bool, reason: str | None) -> Response:
    actor, db, now = current_actor(), get_db(), time.time()
    with transaction(db):
        before = _message(message_id)
        check_second_person(actor, Permission.MESSAGES_APPROVE, "message", before)
        queueing.decide(db, signing_key(), message_id, by=actor.name, approve=approve, reason=reason, now=now)
        after = _message(message_id)
        _audit(db, "message.approve" if approve else "message.reject", "message", message_id, before, after)
    _publish()
    return jsonify(after)


def _alert(alert_id: int) -> dict[str, Any]:
    return alerts.get_alert(get_db(), alert_id, current_actor(), time.time())


@bp.get("/alerts")
@requires(Permission.MESSAGES_VIEW)
def list_alerts() -> Response:
    return _paged("alerts", alerts.list_alerts(get_db(), current_actor(), time.time()))


@bp.post("/alerts")
@requires(Permission.ALERTS_SEND)
@idempotent
def create_alert() -> tuple[Response, int]:
    """On air at once, unless the author's organisation wants a second person first."""
    actor, db, now = current_actor(), get_db(), time.time()
    alert = alerts.check_alert(db, json_body(), now=now)
    draw_ahead(db, alert.panel_ids, now)
    with transaction(db):
        alert_id = alerts.record_alert(
            db, alert, created_by=actor.name, organisation=actor.organisation, now=now
        )
        republish(db, signing_key(), now=now, panel_ids=alert.panel_ids)
        shown = _alert(alert_id)
        _audit(db, "alert.create", "alert", alert_id, None, shown)
    _publish()
    return jsonify(shown), 201


@bp.get("/alerts/<int:alert_id>")
@requires(Permission.MESSAGES_VIEW)
def show_alert(alert_id: int) -> Response:
    return jsonify(_alert(alert_id))


@bp.delete("/alerts/<int:alert_id>")
@requires(Permission.ALERTS_SEND)
def cancel_alert(alert_id: int) -> Response:
    """An administrator, or a campaign manager of the alert's own organisation, takes it off the air."""
    actor, db, now = current_actor(), get_db(), time.time()
    with transaction(db):
        before = _alert(alert_id)
        if not actor.can_for(Permission.ALERTS_SEND, before["organisation"]):
            owner = before["organisation"] or "no organisation"
            raise Forbidden(
                f"alert {alert_id} is of {owner}: only its members or an administrator may cancel it"
            )
        alerts.cancel_alert(db, alert_id, now)
        republish(db, signing_key(), now=now, panel_ids=alerts.alert_panel_ids(db, alert_id))
        after = _alert(alert_id)
        if before["cancelled_at"] is None:
            _audit(db, "alert.cancel", "alert", alert_id, before, after)
    _publish()
    return jsonify(after)


@bp.post("/alerts/<int:alert_id>/approve")
@requires(Permission.ALERTS_APPROVE)
def approve_alert(alert_id: int) -> Response:
    actor, db, now = current_actor(), get_db(), time.time()
    with transaction(db):
        before = _alert(alert_id)
        check_second_person(actor, Permission.ALERTS_APPROVE, "alert", before)
        alerts.approve_alert(db, alert_id, by=actor.name, now=now)
        republish(db, signing_key(), now=now, panel_ids=alerts.alert_panel_ids(db, alert_id))
        after = _alert(alert_id)
        _audit(db, "alert.approve", "alert", alert_id, before, after)
    _publish()
    return jsonify(after)


def _campaign(campaign_id: int) -> dict[str, Any]:
    """A campaign the actor may see; one a commune's user is not invited to answers 404."""
    found = campaigns.get_campaign(get_db(), campaign_id, current_actor())
    if found is None:
        raise FieldError("campaign_id", f"no campaign {campaign_id}", status=404)
    return found


def _campaign_panels(campaign_id: int) -> list[str]:
    found = campaigns.get_campaign(get_db(), campaign_id)
    if found is None:
        raise FieldError("campaign_id", f"no campaign {campaign_id}", status=404)
    communes = [commune["insee"] for commune in found["communes"]]
    return [panel.id for panel in get_panels(get_db()).values() if panel.commune_insee in communes]


@bp.get("/campaigns")
@requires(Permission.CAMPAIGNS_VIEW)
def list_campaigns() -> Response:
    return _paged("campaigns", campaigns.list_campaigns(get_db(), current_actor()))


@bp.post("/campaigns")
@requires(Permission.CAMPAIGNS_MANAGE)
@idempotent
def create_campaign() -> tuple[Response, int]:
    """The campaign, its invited communes, and its ``messages`` (each a message's fields; targets default
    to the campaign's), all or nothing."""
    actor, db, now = current_actor(), get_db(), time.time()
    data = json_body()
    drafts = _draft_campaign_messages(db, data, now)
    with transaction(db):
        campaign_id = campaigns.create_campaign(db, data, created_by=actor.name, now=now)
        for draft in drafts:
            queued = queueing.record_message(
                db,
                signing_key(),
                replace(draft, row={**draft.row, "campaign_id": campaign_id}),
                created_by=actor.name,
                organisation=actor.organisation,
                now=now,
            )
            shown = messages.visible_message(db, actor, queued.id, now)
            _audit(db, "message.create", "message", queued.id, None, shown)
        shown = _campaign(campaign_id)
        _audit(db, "campaign.create", "campaign", campaign_id, None, shown)
    _publish()
    return jsonify(shown), 201


def _draft_campaign_messages(db: Database, data: Any, now: float) -> list[messages.Draft]:
    """The campaign's ``messages`` checked and drawn before its transaction; each joins the campaign
    when recorded. Targets default to the campaign's."""
    found = data.get("messages") or [] if isinstance(data, dict) else []
    if not isinstance(found, list) or not all(isinstance(message, dict) for message in found):
        raise FieldError("messages", "must be a list of messages (objects with text…)")
    targets = {field: data[field] for field in TARGET_FIELDS if data.get(field)}
    drafts = []
    for number, message in enumerate(found):
        own = any(message.get(field) for field in TARGET_FIELDS)
        try:
            drafts.append(
                queueing.draft_message(db, {**({} if own else targets), **message, "campaign": None}, now=now)
            )
        except FieldError as exc:
            raise FieldError(f"messages[{number}].{exc.field}", exc.message, exc.status) from None
    return drafts


@bp.get("/campaigns/<int:campaign_id>")
@requires(Permission.CAMPAIGNS_VIEW)
def show_campaign(campaign_id: int) -> Response:
    return jsonify(_campaign(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/invitations")
@requires(Permission.CAMPAIGNS_MANAGE)
def invite_communes(campaign_id: int) -> Response:
    """``{"communes": ["01004", …]}``: more communes are asked; those asked already keep their answer."""
    db, now = get_db(), time.time()
    data = json_body()
    with transaction(db):
        before = _campaign(campaign_id)
        campaigns.invite(db, campaign_id, data, now)
        after = _campaign(campaign_id)
        _audit(db, "campaign.invite", "campaign", campaign_id, before, after)
    return jsonify(after)


@bp.post("/campaigns/<int:campaign_id>/answers")
@requires(Permission.CAMPAIGNS_ANSWER)
def answer_campaign(campaign_id: int) -> Response:
    """A commune's answer to an invitation: ``{"commune": "01053", "status": "accepted", "hours": {…}, "max_share": 0.3}``.

    A commune's user answers for its own commune, which ``commune`` defaults to.
    """
    data = json_body()
    commune = answering_commune(current_actor(), data.get("commune") if isinstance(data, dict) else None)
    db, now = get_db(), time.time()
    with transaction(db):
        before = _campaign(campaign_id)
        campaigns.answer(db, campaign_id, commune, data, answered_by=current_actor().name, now=now)
        # Only the answering commune's panels can change, and only once the campaign is on: a
        # department's 400 answers before launch must not re-sign every panel's schedule 400 times.
        if before["launched_at"] is not None:
            panel_ids = [panel.id for panel in get_panels(db).values() if panel.commune_insee == commune]
            republish(db, signing_key(), now=now, panel_ids=panel_ids)
        after = _campaign(campaign_id)
        _audit(db, "campaign.answer", "campaign", campaign_id, before, after)
    _publish()
    return jsonify(after)


@bp.post("/campaigns/<int:campaign_id>/<action>")
@requires(Permission.CAMPAIGNS_MANAGE)
def campaign_action(campaign_id: int, action: str) -> Response:
    if action not in ("launch", "stop"):
        raise FieldError("action", "is launch or stop", status=404)
    db, now = get_db(), time.time()
    with transaction(db):
        before = _campaign(campaign_id)
        campaigns.set_state(db, campaign_id, action, now)
        republish(db, signing_key(), now=now, panel_ids=_campaign_panels(campaign_id))
        after = _campaign(campaign_id)
        _audit(db, f"campaign.{action}", "campaign", campaign_id, before, after)
    _publish()
    return jsonify(after)


@bp.get("/campaigns/<int:campaign_id>/report")
@requires(Permission.CAMPAIGNS_VIEW)
def campaign_report(campaign_id: int) -> Response:
    """Per panel and per commune: displays, hours on air, first and last display; CSV on request.
    A commune's user gets its own commune's part."""
    data = campaigns.report(get_db(), campaign_id, current_actor())
    wants_csv = request.args.get("format") == "csv" or request.accept_mimetypes.best == "text/csv"
    if wants_csv:
        return Response(
            campaigns.report_csv(data),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="campagne-{campaign_id}.csv"'},
        )
    return jsonify(data)


def _png(data: bytes) -> Response:
    return Response(data, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.get("/messages/<int:message_id>/preview.png")
@requires(Permission.MESSAGES_VIEW)
def message_preview(message_id: int) -> Response:
    """What a queued message looks like on one panel, as the panel will show it."""
    panel_id = request.args.get("panel")
    if not panel_id:
        raise FieldError("panel", "is required: ?panel=<panel id>")
    panel = _visible_panel(panel_id, "panel", 404)
    _message(message_id)
    content = stored_content(get_db(), message_id)
    assert content is not None
    return _png(preview_png(render_for(content, panel.profile, panel_id)))


@bp.post("/preview.png")
@requires(Permission.PANELS_VIEW)
def draft_preview() -> Response:
    """A message not yet queued, on one panel (``panel``) or one profile (``profile``): nothing is stored."""
    data = json_object()
    content = parse_content(data, time.time())
    panel_id, profile_id = data.get("panel"), data.get("profile")
    if isinstance(panel_id, str):
        panel = _visible_panel(panel_id, "panel", 422)
        rendering = render_for(content, panel.profile, panel_id)
    elif isinstance(profile_id, str):
        try:
            profile = get_profile(profile_id)
        except ProfileError as exc:
            raise FieldError("profile", str(exc), status=422) from None
        rendering = render_for(content, profile)
    else:
        raise FieldError("panel", "give a panel id (panel) or a profile id (profile)")
    response = _png(preview_png(rendering))
    response.headers["X-Relais-Pages"] = str(len(rendering.pages))
    response.headers["X-Relais-Notes"] = quote(" | ".join(rendering.notes))
    return response


@bp.get("/profiles")
@requires(Permission.PANELS_VIEW)
def profiles() -> Response:
    return jsonify({"profiles": [asdict(profile) for profile in load_profiles().values()]})


@bp.get("/layouts")
@requires(Permission.PANELS_VIEW)
def layouts() -> Response:
    return jsonify(
        {
            "layouts": [
                {
                    "name": layout.name,
                    "label": layout.label,
                    "description": layout.description,
                    "zones": [zone.content for zone in layout.zones],
                    "profiles": [profile.id for profile in load_profiles().values() if layout.suits(profile)],
                }
                for layout in load_layouts().values()
            ]
        }
    )


@bp.get("/pictograms")
@requires(Permission.PANELS_VIEW)
def pictograms() -> Response:
    return jsonify({"pictograms": [{"name": name, "label": label} for name, label in PICTOGRAMS.items()]})
