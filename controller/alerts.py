"""Emergency alerts: they pre-empt everything on their panels until they expire or are cancelled,
and every panel's confirmation that it shows the alert is collected."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from controller.clock import iso_utc
from controller.db import transaction
from controller.errors import FieldError
from controller.panels import get_panels
from controller.schedule_input import parse_instant, parse_targets, targets_to_json
from controller.scheduling.targets import resolve_targets

MAX_ALERT_S = 7 * 24 * 3600
ALERT_ITEM_PREFIX = "alert-"


def alert_item_id(alert_id: int) -> str:
    return f"{ALERT_ITEM_PREFIX}{alert_id}"


def create_alert(db: Database, data: Any, *, created_by: str, now: float) -> tuple[int, list[str]]:
    """Record an alert and the panels it targets; an expiry is mandatory, so no alert outlives its cause."""
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FieldError("text", "is required")
    title = data.get("title", "ALERTE")
    if not isinstance(title, str):
        raise FieldError("title", "must be a string")
    expires_at = parse_instant(data, "expires_at", required=True)
    assert expires_at is not None
    starts_at = parse_instant(data, "starts_at") or int(now)
    if expires_at <= max(now, starts_at):
        raise FieldError("expires_at", "must be in the future, after starts_at")
    if expires_at - starts_at > MAX_ALERT_S:
        raise FieldError("expires_at", "an alert lasts at most 7 days; queue a message for longer")
    targets = parse_targets(data)
    panels = get_panels(db)
    panel_ids = resolve_targets(targets, [panel.info for panel in panels.values()])
    if not panel_ids:
        raise FieldError("panels", "no panel matches these targets", status=422)
    with transaction(db):
        alert_id = (
            db["alerts"]
            .insert(
                {
                    "text": text.strip(),
                    "title": title.strip(),
                    "targets": targets_to_json(targets),
                    "starts_at": starts_at,
                    "expires_at": expires_at,
                    "created_by": created_by,
                    "created_at": int(now),
                }
            )
            .last_pk
        )
        db["alert_panels"].insert_all({"alert_id": alert_id, "panel_id": panel_id} for panel_id in panel_ids)
    return alert_id, panel_ids


def cancel_alert(db: Database, alert_id: int, now: float) -> None:
    with transaction(db):
        if not db.execute("select 1 from alerts where id = ?", [alert_id]).fetchone():
            raise FieldError("alert_id", f"no alert {alert_id}", status=404)
        db.execute(
            "update alerts set cancelled_at = ? where id = ? and cancelled_at is null", [int(now), alert_id]
        )


def alert_panel_ids(db: Database, alert_id: int) -> list[str]:
    return [row[0] for row in db.execute("select panel_id from alert_panels where alert_id = ?", [alert_id])]


def confirm(db: Database, panel_id: str, item_id: str, at: float) -> None:
    """A panel says the alert is on air: the first such report is its confirmation."""
    if not item_id.startswith(ALERT_ITEM_PREFIX) or not item_id[len(ALERT_ITEM_PREFIX) :].isdigit():
        return
    db.execute(
        "update alert_panels set confirmed_at = ? where alert_id = ? and panel_id = ? and confirmed_at is null",
        [int(at), int(item_id[len(ALERT_ITEM_PREFIX) :]), panel_id],
    )


def get_alert(db: Database, alert_id: int) -> dict[str, Any]:
    try:
        alert = db["alerts"].get(alert_id)
    except NotFoundError:
        raise FieldError("alert_id", f"no alert {alert_id}", status=404) from None
    panels = list(
        db.query(
            "select panel_id, confirmed_at from alert_panels where alert_id = ? order by panel_id", [alert_id]
        )
    )
    return {
        "id": alert_id,
        "item_id": alert_item_id(alert_id),
        "title": alert["title"],
        "text": alert["text"],
        "starts_at": iso_utc(alert["starts_at"]),
        "expires_at": iso_utc(alert["expires_at"]),
        "cancelled_at": iso_utc(alert["cancelled_at"]),
        "targeted": len(panels),
        "confirmed": sum(1 for panel in panels if panel["confirmed_at"] is not None),
        "panels": [
            {"id": panel["panel_id"], "confirmed_at": iso_utc(panel["confirmed_at"])} for panel in panels
        ],
    }
