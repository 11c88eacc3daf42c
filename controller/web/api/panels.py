"""/panels: the fleet a person may see, one panel's state, history, playlist and timeline, and
registering a panel (with its broker user when the broker is locked down)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from controller.dates import iso_utc
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.domain.panels import (
    SORTS,
    Panel,
    PanelFilter,
    check_search,
    get_panels,
    item_labels,
    panel_page,
    panel_statuses,
    register_panel,
)
from controller.domain.schedule_fields import parse_instant
from controller.publishing.on_air import on_air_picture, with_on_air
from controller.publishing.reports import SCREENSHOT_QUERY, history, recent_events
from controller.publishing.schedules import playlist, timeline
from controller.web.api_common import (
    MAX_PAGE_SIZE,
    audited,
    error,
    json_body,
    page_answer,
    page_params,
    png,
)
from controller.web.auth import current_actor, requires
from controller.web.context import broker_watch, get_db, mqtt_link
from controller.web.idempotency import idempotent
from relais.brokers.security import CREDENTIALS_NAME, BrokerCredentials, reload_running_broker

bp = Blueprint("panels", __name__)

MAX_TIMELINE_DAYS = 14


def one_panel(panel_id: str) -> dict[str, Any]:
    """A panel the actor may see, as the API shows it; another commune's answers 404 as if it did not
    exist."""
    found = panel_statuses(get_db(), panel_id, watch=broker_watch(mqtt_link()))
    if not found or not current_actor().sees_commune(found[0]["commune"]["insee"]):
        raise FieldError("panel_id", "no panel {panel_id!r}", status=404, panel_id=panel_id)
    return found[0]


def visible_panel(panel_id: str, field: str, status: int) -> Panel:
    """A panel named in a request's body or query: absent and another commune's are answered alike."""
    panel = get_panels(get_db(), [panel_id]).get(panel_id)
    if panel is None or not current_actor().sees_commune(panel.commune_insee):
        raise FieldError(field, "no panel {panel_id!r}", status=status, panel_id=panel_id)
    return panel


def _flag(name: str) -> bool | None:
    """A yes/no query filter (``?online=1``): None when absent."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value.lower() not in ("0", "1", "true", "false", "yes", "no"):
        raise FieldError(name, "is 0 or 1")
    return value.lower() in ("1", "true", "yes")


def _instant(name: str, default: float) -> float:
    value = request.args.get(name)
    return default if value is None else float(parse_instant({name: value}, name) or default)


@bp.get("/panels")
@requires(Permission.PANELS_VIEW)
def list_panels() -> Response:
    """The fleet a person may see, filtered by ``id`` (repeated: those panels), ``online``, ``commune``,
    ``kind`` (led, epaper…), ``search`` (name or commune), in id order or by ``sort`` and ``dir``,
    paginated by the database; each panel of the page with what is on air now."""
    db = get_db()
    panel_ids = request.args.getlist("id") or None
    if panel_ids is not None and len(panel_ids) > MAX_PAGE_SIZE:
        raise FieldError("id", "at most {limit} panels at a time", limit=MAX_PAGE_SIZE)
    chosen = PanelFilter(
        panel_ids=panel_ids,
        online=_flag("online"),
        commune=request.args.get("commune") or None,
        kind=request.args.get("kind") or None,
        search=check_search(request.args.get("search", "")),
        within_commune=current_actor().commune_insee,
    )
    sort = request.args.get("sort") or None
    if sort is not None and sort not in SORTS:
        raise FieldError("sort", "must be one of {choices}", choices=", ".join(SORTS))
    direction = request.args.get("dir") or "asc"
    if direction not in ("asc", "desc"):
        raise FieldError("dir", "must be one of {choices}", choices="asc, desc")
    limit, offset = page_params()
    found, total = panel_page(
        db, chosen, limit, offset, sort=sort, descending=direction == "desc", watch=broker_watch(mqtt_link())
    )
    return page_answer("panels", with_on_air(db, found, time.time()), total, limit, offset)


@bp.post("/panels")
@requires(Permission.PANELS_MANAGE)
@idempotent
def add_panel() -> tuple[Response, int]:
    db = get_db()
    with audited(db, "panel.create", "panel", publish_after=False) as change:
        panel = register_panel(db, json_body())
        change.object_id, change.after = panel.id, panel_statuses(db, panel.id)[0]
    _give_broker_user(panel.id)
    link = mqtt_link()
    if link is not None:
        link.watch_panels()  # its state from now on, not at the next sweep
    return jsonify(change.after), 201


def _give_broker_user(panel_id: str) -> None:
    """With a locked-down broker of this data folder, the new panel gets its MQTT user at once."""
    broker_dir = Path(current_app.config["DATA_DIR"]) / "broker"
    if (broker_dir / CREDENTIALS_NAME).exists():
        BrokerCredentials(broker_dir).panel(panel_id)
        reload_running_broker(broker_dir)


@bp.get("/panels/<panel_id>")
@requires(Permission.PANELS_VIEW)
def show_panel(panel_id: str) -> Response:
    (panel,) = with_on_air(get_db(), [one_panel(panel_id)], time.time())
    return jsonify({**panel, "events": recent_events(get_db(), panel_id)})


@bp.get("/panels/<panel_id>/on-air.png")
@requires(Permission.PANELS_VIEW)
def on_air_png(panel_id: str) -> Response | tuple[Response, int]:
    """The picture of a page of the schedule signed for the panel (``?frame=``, its ``on_air.frame``):
    what the schedule puts on air, made by the controller. Named by the frame's hash, it never changes."""
    one_panel(panel_id)
    frame_hash = request.args.get("frame") or ""
    if not frame_hash:
        raise FieldError("frame", "is required: the content hash of a frame of the panel's schedule")
    picture = on_air_picture(get_db(), panel_id, frame_hash)
    if picture is None:
        return error(
            404,
            "no-frame",
            "the schedule of panel {panel_id} has no frame {frame}",
            "frame",
            panel_id=panel_id,
            frame=frame_hash,
        )
    return Response(picture, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@bp.get("/panels/<panel_id>/screenshot.png")
@requires(Permission.PANELS_VIEW)
def screenshot(panel_id: str) -> Response | tuple[Response, int]:
    one_panel(panel_id)
    row = get_db().execute(SCREENSHOT_QUERY, [panel_id]).fetchone()
    if row is None or row[0] is None:
        return error(
            404, "no-screenshot", "panel {panel_id!r} has not reported what it shows yet", panel_id=panel_id
        )
    return png(row[0])


@bp.get("/panels/<panel_id>/history")
@requires(Permission.PANELS_VIEW)
def panel_history(panel_id: str) -> Response:
    """Online and offline, faults, refusals, displays and acknowledgements, newest first."""
    one_panel(panel_id)
    limit, offset = page_params()
    rows, total = history(get_db(), panel_id, limit, offset)
    labels = item_labels(get_db(), [row["details"].get("item_id") for row in rows])
    entries = [
        {
            "at": iso_utc(row["at"]),
            "received_at": iso_utc(row["received_at"]),
            "event": row["event"],
            "details": row["details"],
            "label": labels.get(row["details"].get("item_id") or ""),
        }
        for row in rows
    ]
    return page_answer("history", entries, total, limit, offset)


@bp.get("/panels/<panel_id>/playlist")
@requires(Permission.PANELS_VIEW)
def panel_playlist(panel_id: str) -> Response:
    """What the panel shows at ``?at=<ISO 8601>`` (default now), in order, with validity window and dwell."""
    one_panel(panel_id)
    answer = playlist(get_db(), panel_id, _instant("at", time.time()))
    for key in ("at", "valid_from", "valid_until"):
        answer[key] = iso_utc(None if answer[key] is None else int(answer[key]))
    return jsonify(answer)


@bp.get("/panels/<panel_id>/timeline")
@requires(Permission.PANELS_VIEW)
def panel_timeline(panel_id: str) -> Response:
    """What the panel will show from ``?from=`` (default now) for ``?days=`` (default 7), segment by
    segment, each item with its message, campaign or alert."""
    one_panel(panel_id)
    try:
        days = int(request.args.get("days", 7))
    except ValueError:
        raise FieldError("days", "must be a whole number of days") from None
    if not 1 <= days <= MAX_TIMELINE_DAYS:
        raise FieldError("days", "must be 1 to {max_timeline_days}", max_timeline_days=MAX_TIMELINE_DAYS)
    answer = timeline(get_db(), panel_id, _instant("from", time.time()), days)
    answer["from"], answer["until"] = iso_utc(answer["from"]), iso_utc(answer["until"])
    for segment in answer["segments"]:
        segment["start"], segment["end"] = iso_utc(segment["start"]), iso_utc(segment["end"])
    return jsonify(answer)
