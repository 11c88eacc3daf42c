"""What panels report about themselves, recorded as it arrives from the broker."""

from __future__ import annotations

import json
import logging

from sqlite_utils import Database

from controller.alerts import confirm
from controller.db import transaction
from relais.wire import EVENT_ON_AIR, EVENT_PLAY, PanelEvent, PanelState

log = logging.getLogger(__name__)


# Events the controller records itself, beside the panels' own, so a panel's history shows its outages.
EVENT_ONLINE = "online"
EVENT_OFFLINE = "offline"
# Proof of play is for reports: one a display, too many for a technician's history.
NOT_HISTORY = (EVENT_PLAY,)

# PanelState fields kept as they come, one column each.
STATE_COLUMNS = (
    "reported_at",
    "item_id",
    "content_hash",
    "applied_seq",
    "agent_version",
    "uptime_s",
    "brightness",
    "disk_free_mb",
    "cpu_temp_c",
    "backend",
    "link_quality",
)


def _known(db: Database, panel_id: str) -> bool:
    if db.execute("select 1 from panels where id = ?", [panel_id]).fetchone():
        return True
    log.warning("report from unknown panel %r ignored", panel_id)
    return False


# Plain SQL rather than sqlite-utils' upsert, which reads the table's schema at every call: a department
# reports thousands of states and events in a burst.
_STATE_UPSERT = """
insert into panel_status (panel_id, online, last_seen, {columns}, faults) values (?, 1, ?, {marks}, ?)
on conflict (panel_id) do update set online = 1, last_seen = excluded.last_seen, {updates},
    faults = excluded.faults
""".format(
    columns=", ".join(STATE_COLUMNS),
    marks=", ".join("?" for _ in STATE_COLUMNS),
    updates=", ".join(f"{column} = excluded.{column}" for column in STATE_COLUMNS),
)
_OFFLINE_UPSERT = """
insert into panel_status (panel_id, online) values (?, 0) on conflict (panel_id) do update set online = 0
"""
_SEEN_UPSERT = """
insert into panel_status (panel_id, last_seen) values (?, ?)
on conflict (panel_id) do update set last_seen = excluded.last_seen
"""


def record_state(db: Database, state: PanelState, received_at: float) -> None:
    """An online state replaces what we knew; a last will only marks the panel offline.

    The will carries nothing about the screen, so what the panel showed last stays on record, and
    ``last_seen`` stays the last time the panel itself spoke. A state without a screenshot keeps the
    last one.
    """
    if not _known(db, state.panel_id):
        return
    with transaction(db):
        was = db.execute("select online from panel_status where panel_id = ?", [state.panel_id]).fetchone()
        if (was is not None and was[0] is not None and bool(was[0])) != state.online:
            db.execute(
                "insert into panel_events (panel_id, event, at, received_at, details) values (?, ?, ?, ?, ?)",
                [
                    state.panel_id,
                    EVENT_ONLINE if state.online else EVENT_OFFLINE,
                    int(received_at),
                    int(received_at),
                    json.dumps({"agent_version": state.agent_version} if state.online else {}),
                ],
            )
        if not state.online:
            db.execute(_OFFLINE_UPSERT, [state.panel_id])
            return
        values = [getattr(state, column) for column in STATE_COLUMNS]
        faults = json.dumps(list(state.faults), ensure_ascii=False)
        db.execute(_STATE_UPSERT, [state.panel_id, int(received_at), *values, faults])
        if state.screenshot_png is not None:
            db.execute(
                "update panel_status set screenshot = ? where panel_id = ?",
                [state.screenshot_png, state.panel_id],
            )


def record_event(db: Database, event: PanelEvent, received_at: float) -> None:
    if not _known(db, event.panel_id):
        return
    with transaction(db):
        db.execute(
            "insert into panel_events (panel_id, event, at, received_at, details) values (?, ?, ?, ?, ?)",
            [
                event.panel_id,
                event.event,
                event.at,
                int(received_at),
                json.dumps(event.details, ensure_ascii=False),
            ],
        )
        db.execute(_SEEN_UPSERT, [event.panel_id, int(received_at)])
        details = event.details
        if event.event == EVENT_ON_AIR and isinstance(details.get("item_id"), str):
            confirm(db, event.panel_id, details["item_id"], _number(details.get("at"), received_at))
        elif event.event == EVENT_PLAY and isinstance(details.get("item_id"), str):
            started = _number(details.get("started_at"), received_at)
            db.execute(
                "insert into plays (panel_id, item_id, content_hash, started_at, ended_at, received_at) "
                "values (?, ?, ?, ?, ?, ?)",
                [
                    event.panel_id,
                    details["item_id"],
                    details.get("content_hash"),
                    started,
                    max(started, _number(details.get("ended_at"), received_at)),
                    int(received_at),
                ],
            )


def _number(value: object, default: float) -> float:
    """Times in events come from the panel: anything that is not a number is replaced, not trusted."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def recent_events(db: Database, panel_id: str, limit: int = 50) -> list[dict]:
    rows = db.query(
        "select event, at, received_at, details from panel_events where panel_id = ? order by id desc limit ?",
        [panel_id, limit],
    )
    return [{**row, "details": json.loads(row["details"] or "{}")} for row in rows]


def history(db: Database, panel_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
    """A panel's history, newest first: online and offline, faults, refusals, displays, acknowledgements."""
    marks = ",".join("?" for _ in NOT_HISTORY)
    where = f"panel_id = ? and event not in ({marks})"
    total = db.execute(
        f"select count(*) from panel_events where {where}", [panel_id, *NOT_HISTORY]
    ).fetchone()[0]
    rows = db.query(
        f"select event, at, received_at, details from panel_events where {where} order by id desc limit ? offset ?",
        [panel_id, *NOT_HISTORY, limit, offset],
    )
    return [{**row, "details": json.loads(row["details"] or "{}")} for row in rows], total
