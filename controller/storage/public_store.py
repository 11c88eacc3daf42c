"""What the public channels read and count: messages and alerts with the communes they reach, and a daily
counter per place and channel. Which of these rows the public may see is decided by
``controller.domain.public``, not here."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from typing import Any

from sqlite_utils import Database

from controller.storage.db import transaction

# Rows that ended long ago change no public channel any more; they are not read.
ENDED_LONG_AGO_S = 31 * 24 * 3600
_MESSAGE_COLUMNS = """id, text, title, markup, priority, role, starts_at, ends_at, recurrence, paused,
    cancelled_at, approval, targets, created_at, changed_at, approved_at, rejected_at, campaign_id"""
_ALERT_COLUMNS = "id, text, title, starts_at, expires_at, cancelled_at, approval, created_at, approved_at"


def _communes_of(db: Database, sql: str) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for row_id, insee, name in db.execute(sql):
        found[row_id].append((insee, name or insee))
    return found


def _rows_with_communes(db: Database, sql: str, params: list[Any], reached: str) -> list[dict[str, Any]]:
    """The rows of ``sql``, each with the ``communes`` (INSEE code, name) that ``reached`` pairs with its id."""
    communes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for row_id, insee, name in db.execute(reached):
        communes[row_id].append((insee, name or insee))
    cursor = db.execute(sql, params)
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor]
    return [{**row, "communes": communes.get(row["id"], [])} for row in rows]


def recent_messages(db: Database, now: float) -> list[dict[str, Any]]:
    """Every message not ended for a month, with ``communes`` (INSEE code, name) and ``tags`` it targets."""
    rows = _rows_with_communes(
        db,
        f"select {_MESSAGE_COLUMNS} from messages where ends_at is null or ends_at > ?",
        [int(now) - ENDED_LONG_AGO_S],
        """select distinct t.message_id, p.commune_insee, p.commune_name from message_targets t
           join panels p on p.id = t.panel_id order by p.commune_name""",
    )
    campaigns, audited = _campaigns(db), last_audited(db)
    for row in rows:
        row["tags"] = json.loads(row.pop("targets") or "{}").get("tags") or []
        campaign_id = row.pop("campaign_id")
        row["campaign"] = campaigns.get(campaign_id)
        times = (audited.get(("message", str(row["id"]))), audited.get(("campaign", str(campaign_id))))
        row["audited_at"] = max((int(moment) for moment in times if moment is not None), default=None)
    return rows


def last_audited(db: Database) -> dict[tuple[str, str], float]:
    """When each message, alert and campaign was last changed through the API, pausing, launching and
    answering included, which change no column of the message itself: the audit log has every change."""
    return {
        (object_type, object_id): at
        for object_type, object_id, at in db.execute(
            """select object_type, object_id, max(at) from audit_log
               where object_type in ('message', 'alert', 'campaign') group by object_type, object_id"""
        )
    }


def _campaigns(db: Database) -> dict[int, dict[str, Any]]:
    """Each campaign's state as its messages' publicity depends on it: whether it was launched and not
    stopped, and the communes that accepted it (a campaign's messages reach every commune invited)."""
    accepted: dict[int, list[str]] = defaultdict(list)
    for campaign_id, insee in db.execute(
        "select campaign_id, commune_insee from campaign_consents where status = 'accepted'"
    ):
        accepted[campaign_id].append(insee)
    return {
        campaign_id: {"running": launched is not None and stopped is None, "accepted": accepted[campaign_id]}
        for campaign_id, launched, stopped in db.execute("select id, launched_at, stopped_at from campaigns")
    }


def recent_alerts(db: Database, now: float) -> list[dict[str, Any]]:
    """Every alert not expired for a month, with the ``communes`` (INSEE code, name) it reaches."""
    rows = _rows_with_communes(
        db,
        f"select {_ALERT_COLUMNS} from alerts where expires_at > ?",
        [int(now) - ENDED_LONG_AGO_S],
        """select distinct a.alert_id, p.commune_insee, p.commune_name from alert_panels a
           join panels p on p.id = a.panel_id order by p.commune_name""",
    )
    audited = last_audited(db)
    return [{**row, "tags": [], "audited_at": audited.get(("alert", str(row["id"])))} for row in rows]


def known_places(db: Database) -> tuple[dict[str, str], set[str]]:
    """The communes with panels (INSEE code to name) and every tag a panel carries."""
    communes: dict[str, str] = {}
    tags: set[str] = set()
    for insee, name, panel_tags in db.execute("select commune_insee, commune_name, tags from panels"):
        communes.setdefault(insee, name or insee)
        tags.update(json.loads(panel_tags or "[]"))
    return communes, tags


# Openings are written at most this often: a public request never takes the write lock an alert needs.
WRITE_VISITS_EVERY_S = 60.0


class VisitTally:
    """Openings of ``channel`` (page, widget, atom, json, ics, poster) per place and day, counted in
    memory and written in one transaction at most every ``every_s``: anyone on the internet may open the
    public pages as often as they like, and each opening must not be a write to the database."""

    def __init__(self, every_s: float = WRITE_VISITS_EVERY_S) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._every_s = every_s
        self._written_at = time.monotonic()

    def add(self, day: str, place: str, channel: str) -> bool:
        """One more opening; whether the tally is due to be written."""
        with self._lock:
            self._counts[(day, place, channel)] += 1
            return time.monotonic() - self._written_at >= self._every_s

    def write(self, db: Database) -> None:
        """Add what was counted since the last write to the stored counters (kept for the next write
        if the database refuses)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._written_at = time.monotonic()
        if not counts:
            return
        try:
            with transaction(db):
                db.conn.executemany(
                    """insert into public_counts (day, place, channel, count) values (?, ?, ?, ?)
                       on conflict (day, place, channel) do update set count = count + excluded.count""",
                    [(*key, count) for key, count in counts.items()],
                )
        except sqlite3.Error:
            with self._lock:
                self._counts.update(counts)
            raise


def visit_counts(db: Database) -> list[dict[str, Any]]:
    """Every counter, by day, place and channel: what the reach indicators chart."""
    return list(db.query("select day, place, channel, count from public_counts order by day, place, channel"))
