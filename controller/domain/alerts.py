"""Emergency alerts: they pre-empt everything on their panels until they expire or are cancelled,
and every panel's confirmation that it shows the alert is collected."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable
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
from controller.rendering.profiles import PanelProfile, get_profile
from controller.scheduling.targets import resolve_targets
from controller.storage.db import insert_row, transaction

MAX_ALERT_S = 7 * 24 * 3600
# An alert is read in passing, on a banner too: shorter than a message (1,000), and a short title.
MAX_ALERT_TEXT = 500
MAX_ALERT_TITLE = 100
ALERT_ITEM_PREFIX = "alert-"
# Every answer of ``alert_status``.
STATUSES = ("pending-approval", "scheduled", "on-air", "cancelled", "expired")


def no_alert(alert_id: int) -> FieldError:
    """The answer for an alert that does not exist, or that reaches none of the actor's panels."""
    return FieldError("alert_id", "no alert {alert_id}", status=404, alert_id=alert_id)


def alert_item_id(alert_id: int) -> str:
    return f"{ALERT_ITEM_PREFIX}{alert_id}"


# What the sender sees of each targeted panel: it showed the alert, it is online and has not yet, or
# the controller has no word from it (offline, or never connected).
PANEL_STATES = ("confirmed", "waiting", "offline")


@dataclass(frozen=True)
class NewAlert:
    """An alert checked and drawn for every panel it targets, ready to be recorded; with what it reaches,
    which the sender confirms before sending: its communes, and how many panels of each kind."""

    row: dict[str, Any]
    panel_ids: list[str]
    communes: list[str]
    profiles: dict[str, int]


def alert_content(text: str, title: str, profile: PanelProfile) -> MessageContent:
    """The alert layout that suits the panel: full on boards of 32 px and more, a banner on 16 px ones."""
    layout = next(name for name in ("alert", "alert-line", "text") if get_layout(name).suits(profile))
    return MessageContent(body=text, title=title or "ALERTE", layout=layout, role="emergency")


def alert_words(data: Any) -> tuple[str, str]:
    """An alert's text and title, checked and stripped: what is drawn, and what a preview draws."""
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
    return text.strip(), title.strip()


def check_alert(db: Database, data: Any, *, now: float) -> NewAlert:
    """Everything about an alert checked before anything is written or locked: its fields, its expiry
    (mandatory, so no alert outlives its cause), its panels, and its drawing on each kind of panel it
    targets. One that cannot be drawn on a targeted panel is refused now, never accepted and missing."""
    text, title = alert_words(data)
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
        drawn = drawable(alert_content(text, title, panel.profile), panel.profile)
        if isinstance(drawn, RenderError):
            raise undrawable(drawn, f"panneau {panel.id}")
    row = {
        "text": text,
        "title": title,
        "targets": targets_to_json(targets),
        "starts_at": starts_at,
        "expires_at": expires_at,
    }
    communes = sorted({panels[panel_id].commune_insee for panel_id in panel_ids})
    profiles = Counter(panels[panel_id].profile_id for panel_id in panel_ids)
    return NewAlert(row, panel_ids, communes, dict(sorted(profiles.items())))


def alert_reach(alert: NewAlert) -> dict[str, Any]:
    """What a checked alert would reach, for the sender to confirm (a dry run): its panels, its communes,
    and each kind of panel with how many of them, to preview it on each."""
    return {
        "dry_run": True,
        "panels": alert.panel_ids,
        "communes": alert.communes,
        "profiles": [
            {"profile": profile_id, "label": get_profile(profile_id).label, "panels": count}
            for profile_id, count in alert.profiles.items()
        ],
    }


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
            raise no_alert(alert_id)
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
        raise no_alert(alert_id) from None


def get_alert(db: Database, alert_id: int, actor: Actor | None = None, now: float = 0) -> dict[str, Any]:
    """An alert with each panel's confirmation; a commune's user sees it only if it reaches the commune,
    and only its own commune's panels."""
    return _alert_json(db, _row(db, alert_id), actor, now)


def _alert_json(
    db: Database, alert: dict[str, Any], actor: Actor | None, now: float, with_panels: bool = True
) -> dict[str, Any]:
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
        raise no_alert(alert_id)
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
    } | (
        {
            "panels": [
                {"id": panel["panel_id"], "confirmed_at": iso_utc(panel["confirmed_at"])} for panel in panels
            ]
        }
        if with_panels
        else {}
    )


def list_alerts(db: Database, actor: Actor, now: float, with_panels: bool = True) -> list[dict[str, Any]]:
    """The alerts the actor may see, newest first; without each one's list of panels (``with_panels``
    false), a page polling them at 1,000 panels gets their counts, not thousands of lines."""
    found = []
    for row in db.query("select * from alerts order by id desc"):
        try:
            found.append(_alert_json(db, row, actor, now, with_panels))
        except FieldError:
            continue  # reaches no panel of the actor's commune
    return found


def alert_panels(
    db: Database, alert_id: int, actor: Actor, open_communes: Collection[str], now: float
) -> dict[str, Any]:
    """Who confirmed an alert, who has not yet, who is offline, as the sender follows it live: counts per
    commune, always (65 lines for a department), and the panels themselves only of the communes asked for
    (``open_communes``), so that a page polling every few seconds does not fetch 1,000 panels each time.
    A commune's user sees its own commune only, and no alert that does not reach it."""
    alert = _row(db, alert_id)
    rows = [
        row
        for row in db.query(
            """select a.panel_id, a.confirmed_at, p.name, p.commune_insee, p.commune_name, s.online, s.last_seen
               from alert_panels a join panels p on p.id = a.panel_id
               left join panel_status s on s.panel_id = a.panel_id
               where a.alert_id = ? order by p.commune_name, p.commune_insee, p.name, p.id""",
            [alert_id],
        )
        if actor.sees_commune(row["commune_insee"])
    ]
    if not rows and actor.scoped:
        raise no_alert(alert_id)
    communes: dict[str, dict[str, Any]] = {}
    for row in rows:
        insee = row["commune_insee"]
        commune = communes.setdefault(
            insee, {"insee": insee, "name": row["commune_name"] or insee, **dict.fromkeys(PANEL_STATES, 0)}
        )
        state = _panel_state(row)
        commune[state] += 1
        if insee in open_communes:
            commune.setdefault("panels", []).append(
                {
                    "id": row["panel_id"],
                    "name": row["name"],
                    "state": state,
                    "confirmed_at": iso_utc(row["confirmed_at"]),
                    "last_seen": iso_utc(row["last_seen"]),
                }
            )
    return {
        "id": alert_id,
        "status": alert_status(alert, now),
        "targeted": len(rows),
        **{state: sum(commune[state] for commune in communes.values()) for state in PANEL_STATES},
        "communes": [
            {**commune, "targeted": sum(commune[state] for state in PANEL_STATES)}
            for commune in communes.values()
        ],
    }


def _panel_state(row: dict[str, Any]) -> str:
    if row["confirmed_at"] is not None:
        return "confirmed"
    return "waiting" if row["online"] else "offline"
