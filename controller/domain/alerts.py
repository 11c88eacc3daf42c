"""Emergency alerts: they pre-empt everything on their panels until they expire or are cancelled,
and every panel's confirmation that it shows the alert is collected."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from controller.dates import iso_utc
from controller.domain.access import Actor
from controller.domain.accounts import approval_required
from controller.domain.errors import FieldError, undrawable
from controller.domain.panels import get_panels
from controller.domain.schedule_fields import parse_instant, parse_targets, targets_to_json
from controller.domain.scope import targets_seen_by
from controller.rendering.drawings import drawable
from controller.rendering.engine import MessageContent, RenderError
from controller.rendering.layouts import get_layout
from controller.rendering.profiles import PanelProfile
from controller.scheduling.targets import resolve_targets
from controller.storage.db import insert_row, transaction

MAX_ALERT_S = 7 * 24 * 3600
# An alert is read in passing, on a banner too: shorter than a message (1,000), and a short title.
MAX_ALERT_TEXT = 500
MAX_ALERT_TITLE = 100
ALERT_ITEM_PREFIX = "alert-"
# Every answer of ``alert_status``.
STATUSES = ("pending-approval", "scheduled", "on-air", "cancelled", "expired")


def alert_item_id(alert_id: int) -> str:
    return f"{ALERT_ITEM_PREFIX}{alert_id}"


@dataclass(frozen=True)
class NewAlert:
    """An alert checked and drawn for every panel it targets, ready to be recorded."""

    row: dict[str, Any]
    panel_ids: list[str]


def alert_content(text: str, title: str, profile: PanelProfile) -> MessageContent:
    """The alert layout that suits the panel: full on boards of 32 px and more, a banner on 16 px ones."""
    layout = next(name for name in ("alert", "alert-line", "text") if get_layout(name).suits(profile))
    return MessageContent(body=text, title=title or "ALERTE", layout=layout, role="emergency")


def check_alert(db: Database, data: Any, *, now: float) -> NewAlert:
    """Everything about an alert checked before anything is written or locked: its fields, its expiry
    (mandatory, so no alert outlives its cause), its panels, and its drawing on each kind of panel it
    targets. One that cannot be drawn on a targeted panel is refused now, never accepted and missing."""
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FieldError("text", "is required")
    title = data.get("title", "ALERTE")
    if not isinstance(title, str):
        raise FieldError("title", "must be a string")
    for field, value, limit in (("text", text, MAX_ALERT_TEXT), ("title", title, MAX_ALERT_TITLE)):
        if len(value) > limit:
            raise FieldError(
                field,
                "is {length} characters long, the limit for an alert is {limit}",
                length=len(value),
                limit=limit,
            )
    expires_at = parse_instant(data, "expires_at", required=True) or 0
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
    by_profile = {panels[panel_id].profile_id: panels[panel_id] for panel_id in reversed(panel_ids)}
    for panel in by_profile.values():
        drawn = drawable(alert_content(text.strip(), title.strip(), panel.profile), panel.profile)
        if isinstance(drawn, RenderError):
            raise undrawable(drawn, f"panneau {panel.id}")
    row = {
        "text": text.strip(),
        "title": title.strip(),
        "targets": targets_to_json(targets),
        "starts_at": starts_at,
        "expires_at": expires_at,
    }
    return NewAlert(row, panel_ids)


def record_alert(
    db: Database, alert: NewAlert, *, created_by: str, organisation: str | None, now: float
) -> int:
    """Write a checked alert and the panels it targets; call inside the write transaction. Where the
    author's organisation wants a second person, it waits for approval on no panel."""
    need_approval = approval_required(db, organisation, "alerts")
    row = {
        **alert.row,
        "created_by": created_by,
        "created_at": int(now),
        "organisation": organisation,
        "approval": "pending" if need_approval else "approved",
    }
    alert_id = insert_row(db, "alerts", row)
    db.table("alert_panels").insert_all(
        {"alert_id": alert_id, "panel_id": panel_id} for panel_id in alert.panel_ids
    )
    return alert_id


def cancel_alert(db: Database, alert_id: int, now: float) -> None:
    with transaction(db):
        if not db.execute("select 1 from alerts where id = ?", [alert_id]).fetchone():
            raise FieldError("alert_id", "no alert {alert_id}", status=404, alert_id=alert_id)
        db.execute(
            "update alerts set cancelled_at = ? where id = ? and cancelled_at is null", [int(now), alert_id]
        )


def alert_panel_ids(db: Database, alert_id: int) -> list[str]:
    return [row[0] for row in db.execute("select panel_id from alert_panels where alert_id = ?", [alert_id])]


_ALERT_NUMBER = re.compile(r"[0-9]{1,18}")  # what SQLite's integers hold


def confirm(db: Database, sightings: Iterable[tuple[str, str, float]]) -> None:
    """Panels say an item is on air, as (panel, item id, when): for an alert's item, the first such
    report of each panel is its confirmation; other items are not alerts."""
    rows = [
        (int(at), int(item_id[len(ALERT_ITEM_PREFIX) :]), panel_id)
        for panel_id, item_id, at in sightings
        if item_id.startswith(ALERT_ITEM_PREFIX)
        and _ALERT_NUMBER.fullmatch(item_id[len(ALERT_ITEM_PREFIX) :])
    ]
    db.conn.executemany(
        "update alert_panels set confirmed_at = ? where alert_id = ? and panel_id = ? and confirmed_at is null",
        rows,
    )


def approve_alert(db: Database, alert_id: int, *, by: str, now: float) -> None:
    """The second person's yes: the alert goes on air. The caller checks who may."""
    row = _row(db, alert_id)
    if row["approval"] != "pending" or row["cancelled_at"] is not None:
        raise FieldError(
            "alert_id", "alert {alert_id} is not waiting for approval", status=409, alert_id=alert_id
        )
    db.table("alerts").update(alert_id, {"approval": "approved", "approved_by": by, "approved_at": int(now)})


def alert_status(row: dict[str, Any], now: float) -> str:
    if row["cancelled_at"] is not None:
        return "cancelled"
    if row["expires_at"] <= now:
        return "expired"
    if row["approval"] == "pending":
        return "pending-approval"
    return "on-air" if row["starts_at"] <= now else "scheduled"


def _row(db: Database, alert_id: int) -> dict[str, Any]:
    try:
        return db.table("alerts").get(alert_id)
    except NotFoundError:
        raise FieldError("alert_id", "no alert {alert_id}", status=404, alert_id=alert_id) from None


def get_alert(db: Database, alert_id: int, actor: Actor | None = None, now: float = 0) -> dict[str, Any]:
    """An alert with each panel's confirmation; a commune's user sees it only if it reaches the commune,
    and only its own commune's panels."""
    return _alert_json(db, _row(db, alert_id), actor, now)


def _alert_json(db: Database, alert: dict[str, Any], actor: Actor | None, now: float) -> dict[str, Any]:
    alert_id = alert["id"]
    panels = [
        panel
        for panel in db.query(
            """select a.panel_id, a.confirmed_at, p.commune_insee from alert_panels a
               join panels p on p.id = a.panel_id where a.alert_id = ? order by a.panel_id""",
            [alert_id],
        )
        if actor is None or actor.sees_commune(panel["commune_insee"])
    ]
    if not panels and actor is not None and actor.scoped:
        raise FieldError("alert_id", "no alert {alert_id}", status=404, alert_id=alert_id)
    return {
        "id": alert_id,
        "item_id": alert_item_id(alert_id),
        "status": alert_status(alert, now),
        "title": alert["title"],
        "text": alert["text"],
        "targets": targets_seen_by(actor, json.loads(alert["targets"]), [p["panel_id"] for p in panels]),
        "starts_at": iso_utc(alert["starts_at"]),
        "expires_at": iso_utc(alert["expires_at"]),
        "cancelled_at": iso_utc(alert["cancelled_at"]),
        "organisation": alert["organisation"],
        "created_by": alert["created_by"],
        "approved_by": alert["approved_by"],
        "approved_at": iso_utc(alert["approved_at"]),
        "targeted": len(panels),
        "confirmed": sum(1 for panel in panels if panel["confirmed_at"] is not None),
        "panels": [
            {"id": panel["panel_id"], "confirmed_at": iso_utc(panel["confirmed_at"])} for panel in panels
        ],
    }


def list_alerts(db: Database, actor: Actor, now: float) -> list[dict[str, Any]]:
    """The alerts the actor may see, newest first."""
    found = []
    for row in db.query("select * from alerts order by id desc"):
        try:
            found.append(_alert_json(db, row, actor, now))
        except FieldError:
            continue  # reaches no panel of the actor's commune
    return found
