"""The REST API under /api/v1: JSON in, JSON out, every route behind a bearer token."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from controller import alerts, campaigns
from controller.auth import Unauthorized, require_token
from controller.clock import iso_utc
from controller.context import get_db, mqtt_link, signing_key
from controller.db import transaction
from controller.errors import FieldError
from controller.message_store import stored_content
from controller.messages import list_messages, parse_content, queue_message, render_for
from controller.outbox import seal_command
from controller.panels import get_panels, panel_statuses, register_panel
from controller.publishing import playlist, republish
from controller.rendering.layouts import load_layouts
from controller.rendering.pictograms import PICTOGRAMS
from controller.rendering.preview import preview_png
from controller.rendering.profiles import ProfileError, get_profile, load_profiles
from controller.schedule_input import parse_instant
from controller.status import recent_events
from panel_agent.field_test import PATTERNS
from relais import wire
from relais.broker_security import CREDENTIALS_NAME, BrokerCredentials, reload_running_broker

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PAGE_SIZE = 200


def error(status: int, code: str, message: str, field: str | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return jsonify({"error": body}), status


@bp.errorhandler(FieldError)
def _field_error(exc: FieldError) -> tuple[Response, int]:
    return error(exc.status, "invalid", exc.message, exc.field)


@bp.errorhandler(Unauthorized)
def _unauthorized(_exc: Unauthorized) -> tuple[Response, int]:
    response, status = error(401, "unauthorized", "a valid token is required: Authorization: Bearer <token>")
    response.headers["WWW-Authenticate"] = 'Bearer realm="relais"'
    return response, status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    return error(exc.code or 500, exc.name.lower().replace(" ", "-"), exc.description or exc.name)


def _json_body() -> Any:
    data = request.get_json(silent=True)
    if data is None:
        raise FieldError("body", "must be JSON (Content-Type: application/json)")
    return data


def _page() -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise FieldError("limit", "limit and offset must be whole numbers") from None
    if not (1 <= limit <= MAX_PAGE_SIZE and offset >= 0):
        raise FieldError("limit", f"limit must be 1 to {MAX_PAGE_SIZE}, offset 0 or more")
    return limit, offset


@bp.get("/panels")
@require_token
def list_panels() -> Response:
    return jsonify({"panels": panel_statuses(get_db())})


@bp.post("/panels")
@require_token
def add_panel() -> tuple[Response, int]:
    db = get_db()
    with transaction(db):
        panel = register_panel(db, _json_body())
    _give_broker_user(panel.id)
    return jsonify(panel_statuses(db, panel.id)[0]), 201


def _give_broker_user(panel_id: str) -> None:
    """With a locked-down broker of this data folder, the new panel gets its MQTT user at once."""
    broker_dir = Path(current_app.config["DATA_DIR"]) / "broker"
    if (broker_dir / CREDENTIALS_NAME).exists():
        BrokerCredentials(broker_dir).panel(panel_id)
        reload_running_broker(broker_dir)


def _one_panel(panel_id: str) -> dict[str, Any]:
    found = panel_statuses(get_db(), panel_id)
    if not found:
        raise FieldError("panel_id", f"no panel {panel_id!r}", status=404)
    return found[0]


@bp.get("/panels/<panel_id>")
@require_token
def show_panel(panel_id: str) -> Response:
    return jsonify({**_one_panel(panel_id), "events": recent_events(get_db(), panel_id)})


@bp.get("/panels/<panel_id>/screenshot.png")
@require_token
def screenshot(panel_id: str) -> Response | tuple[Response, int]:
    _one_panel(panel_id)
    row = get_db().execute("select screenshot from panel_status where panel_id = ?", [panel_id]).fetchone()
    if row is None or row[0] is None:
        return error(404, "no-screenshot", f"panel {panel_id!r} has not reported what it shows yet")
    return _png(row[0])


@bp.post("/panels/<panel_id>/commands")
@require_token
def send_command(panel_id: str) -> tuple[Response, int]:
    """``{"command", "args"}``, checked with the agent's own rules so a typo is a 400, not a refusal later."""
    _one_panel(panel_id)
    data = _json_body()
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    try:
        command = wire.Command.from_content(data, patterns=PATTERNS)
    except wire.CommandError as exc:
        raise FieldError(exc.field, exc.problem) from None
    link = mqtt_link()
    if link is None or not link.connected.is_set():
        return error(503, "broker-unavailable", "the broker is not reachable now; try again")
    seq, payload = seal_command(get_db(), signing_key(), panel_id, command.name, time.time(), command.args)
    if not link.send_command(panel_id, payload):
        return error(503, "broker-unavailable", "the command could not be handed to the broker")
    return jsonify({"panel": panel_id, "command": command.name, "args": command.args, "seq": seq}), 202


def _publish() -> None:
    """Hand what was just sealed to the broker now rather than at the next outbox sweep."""
    link = mqtt_link()
    if link is not None:
        link.flush()


@bp.post("/messages")
@require_token
def create_message() -> tuple[Response, int]:
    dry_run = request.args.get("dry_run", "").lower() in ("1", "true", "yes")
    queued = queue_message(get_db(), signing_key(), _json_body(), created_by=g.user, dry_run=dry_run)
    if dry_run:
        return jsonify({"dry_run": True, "panels": sorted(queued.seqs), "warnings": queued.warnings}), 200
    _publish()
    return jsonify(
        {"id": queued.id, "item_id": queued.item_id, "panels": queued.seqs, "warnings": queued.warnings}
    ), 201


def _at() -> float:
    value = request.args.get("at")
    if value is None:
        return time.time()
    return float(parse_instant({"at": value}, "at") or time.time())


@bp.get("/panels/<panel_id>/playlist")
@require_token
def panel_playlist(panel_id: str) -> Response:
    """What the panel shows at ``?at=<ISO 8601>`` (default now), in order, with validity window and dwell."""
    _one_panel(panel_id)
    answer = playlist(get_db(), panel_id, _at())
    for key in ("at", "valid_from", "valid_until"):
        answer[key] = iso_utc(None if answer[key] is None else int(answer[key]))
    return jsonify(answer)


@bp.post("/alerts")
@require_token
def create_alert() -> tuple[Response, int]:
    db, now = get_db(), time.time()
    with transaction(db):
        alert_id, panel_ids = alerts.create_alert(db, _json_body(), created_by=g.user, now=now)
        republish(db, signing_key(), now=now, panel_ids=panel_ids)
    _publish()
    return jsonify(alerts.get_alert(db, alert_id)), 201


@bp.get("/alerts/<int:alert_id>")
@require_token
def show_alert(alert_id: int) -> Response:
    return jsonify(alerts.get_alert(get_db(), alert_id))


@bp.delete("/alerts/<int:alert_id>")
@require_token
def cancel_alert(alert_id: int) -> Response:
    db, now = get_db(), time.time()
    with transaction(db):
        alerts.cancel_alert(db, alert_id, now)
        republish(db, signing_key(), now=now, panel_ids=alerts.alert_panel_ids(db, alert_id))
    _publish()
    return jsonify(alerts.get_alert(db, alert_id))


def _campaign_panels(campaign_id: int) -> list[str]:
    campaign = campaigns.get_campaign(get_db(), campaign_id)
    if campaign is None:
        raise FieldError("campaign_id", f"no campaign {campaign_id}", status=404)
    communes = [commune["insee"] for commune in campaign["communes"]]
    return [panel.id for panel in get_panels(get_db()).values() if panel.commune_insee in communes]


@bp.post("/campaigns")
@require_token
def create_campaign() -> tuple[Response, int]:
    campaign_id = campaigns.create_campaign(get_db(), _json_body(), created_by=g.user, now=time.time())
    return jsonify(campaigns.get_campaign(get_db(), campaign_id)), 201


@bp.get("/campaigns/<int:campaign_id>")
@require_token
def show_campaign(campaign_id: int) -> Response:
    found = campaigns.get_campaign(get_db(), campaign_id)
    if found is None:
        raise FieldError("campaign_id", f"no campaign {campaign_id}", status=404)
    return jsonify(found)


@bp.post("/campaigns/<int:campaign_id>/answers")
@require_token
def answer_campaign(campaign_id: int) -> Response:
    """A commune's answer to an invitation: ``{"commune": "01053", "status": "accepted", "hours": {…}, "max_share": 0.3}``."""
    data = _json_body()
    commune = data.get("commune") if isinstance(data, dict) else None
    if not isinstance(commune, str):
        raise FieldError("commune", "is required: the INSEE code of the commune answering")
    db, now = get_db(), time.time()
    with transaction(db):
        campaigns.answer(db, campaign_id, commune, data, answered_by=g.user, now=now)
        campaign = campaigns.get_campaign(db, campaign_id)
        # Only the answering commune's panels can change, and only once the campaign is on: a
        # department's 400 answers before launch must not re-sign every panel's schedule 400 times.
        if campaign is not None and campaign["launched_at"] is not None:
            panel_ids = [panel.id for panel in get_panels(db).values() if panel.commune_insee == commune]
            republish(db, signing_key(), now=now, panel_ids=panel_ids)
    _publish()
    return jsonify(campaigns.get_campaign(db, campaign_id))


@bp.post("/campaigns/<int:campaign_id>/<action>")
@require_token
def campaign_action(campaign_id: int, action: str) -> Response:
    if action not in ("launch", "stop"):
        raise FieldError("action", "is launch or stop", status=404)
    db, now = get_db(), time.time()
    with transaction(db):
        campaigns.set_state(db, campaign_id, action, now)
        republish(db, signing_key(), now=now, panel_ids=_campaign_panels(campaign_id))
    _publish()
    return jsonify(campaigns.get_campaign(db, campaign_id))


@bp.get("/campaigns/<int:campaign_id>/report")
@require_token
def campaign_report(campaign_id: int) -> Response:
    """Per panel and per commune: displays, hours on air, first and last display; CSV on request."""
    data = campaigns.report(get_db(), campaign_id)
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
@require_token
def message_preview(message_id: int) -> Response:
    """What a queued message looks like on one panel, as the panel will show it."""
    panel_id = request.args.get("panel")
    if not panel_id:
        raise FieldError("panel", "is required: ?panel=<panel id>")
    panels = get_panels(get_db(), [panel_id])
    if panel_id not in panels:
        raise FieldError("panel", f"no panel {panel_id!r}", status=404)
    content = stored_content(get_db(), message_id)
    if content is None:
        raise FieldError("message_id", f"no message {message_id}", status=404)
    return _png(preview_png(render_for(content, panels[panel_id].profile, panel_id)))


@bp.post("/preview.png")
@require_token
def draft_preview() -> Response:
    """A message not yet queued, on one panel (``panel``) or one profile (``profile``): nothing is stored."""
    data = _json_body()
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    content = parse_content(data, time.time())
    panel_id, profile_id = data.get("panel"), data.get("profile")
    if isinstance(panel_id, str):
        panels = get_panels(get_db(), [panel_id])
        if panel_id not in panels:
            raise FieldError("panel", f"no panel {panel_id!r}", status=422)
        rendering = render_for(content, panels[panel_id].profile, panel_id)
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
@require_token
def profiles() -> Response:
    return jsonify({"profiles": [asdict(profile) for profile in load_profiles().values()]})


@bp.get("/layouts")
@require_token
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
@require_token
def pictograms() -> Response:
    return jsonify({"pictograms": [{"name": name, "label": label} for name, label in PICTOGRAMS.items()]})


@bp.get("/messages")
@require_token
def messages() -> Response:
    limit, offset = _page()
    return jsonify({"messages": list_messages(get_db(), limit, offset), "limit": limit, "offset": offset})
