"""What the public channels read and count: messages and alerts with the communes they reach, and a daily
counter per place and channel. Which of these rows the public may see is decided by
``controller.domain.public``, not here."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlite_utils import Database

from controller.storage.db import rows_for_ids, transaction

# Rows that ended long ago change no public channel any more; they are not read.
ENDED_LONG_AGO_S = 31 * 24 * 3600
_MESSAGE_COLUMNS = """id, text, title, markup, priority, role, starts_at, ends_at, recurrence, paused,
    cancelled_at, approval, targets, created_at, changed_at, approved_at, rejected_at, campaign_id"""
_ALERT_COLUMNS = "id, text, title, starts_at, expires_at, cancelled_at, approval, created_at, approved_at"


# Where a public page's place is: a commune's panels, a department's (its INSEE codes' prefix; the domain
# tells « 97 » from « 974 »), or a tag that targeted messages.
PlaceKind = Literal["commune", "department", "tag"]
_PANELS_IN = {
    "commune": "p.commune_insee = :code",
    "department": "p.commune_insee between :code and :code || char(1114111)",
}


def _rows(db: Database, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = db.conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor]


def _with_communes(db: Database, rows: list[dict[str, Any]], reached: str) -> None:
    """Give each row the ``communes`` (INSEE code, name) that ``reached`` pairs with its id."""
    communes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for row_id, insee, name in rows_for_ids(db, reached, [row["id"] for row in rows]):
        communes[row_id].append((insee, name or insee))
    for row in rows:
        row["communes"] = sorted(communes.get(row["id"], []), key=lambda commune: commune[1])


def _near(kind: PlaceKind | None, table: str, targets: str, key: str) -> str:
    """The condition that keeps a place's rows: those with a panel in it, or that targeted the tag."""
    if kind is None:
        return ""
    if kind == "tag":
        return f"and exists (select 1 from json_each({table}.targets, '$.tags') where value = :code)"
    return f"""and {table}.id in (select t.{key} from panels p join {targets} t on t.panel_id = p.id
                                  where {_PANELS_IN[kind]})"""


def recent_messages(
    db: Database, now: float, kind: PlaceKind | None = None, code: str = ""
) -> list[dict[str, Any]]:
    """Every message not ended for a month, with ``communes`` (INSEE code, name) and ``tags`` it targets;
    with a ``kind`` of place, only those with a panel in it (``code``: INSEE code or department) or that
    targeted the tag, found through the panels' indexes: a commune's page reads its own rows, not the
    region's."""
    rows = _rows(
        db,
        f"""select {_MESSAGE_COLUMNS} from messages
            where (ends_at is null or ends_at > :since) {_near(kind, "messages", "message_targets", "message_id")}""",
        {"since": int(now) - ENDED_LONG_AGO_S, "code": code},
    )
    _with_communes(
        db,
        rows,
        """select distinct t.message_id, p.commune_insee, p.commune_name from message_targets t
           join panels p on p.id = t.panel_id where t.message_id in ({marks})""",
    )
    campaigns = _campaigns(db, sorted({row["campaign_id"] for row in rows if row["campaign_id"] is not None}))
    audited = last_audited(db, "message", [row["id"] for row in rows])
    audited |= last_audited(db, "campaign", list(campaigns))
    for row in rows:
        row["tags"] = json.loads(row.pop("targets") or "{}").get("tags") or []
        campaign_id = row.pop("campaign_id")
        row["campaign"] = campaigns.get(campaign_id)
        times = (audited.get(("message", str(row["id"]))), audited.get(("campaign", str(campaign_id))))
        row["audited_at"] = max((int(moment) for moment in times if moment is not None), default=None)
    return rows


def last_audited(db: Database, object_type: str, ids: Sequence[int]) -> dict[tuple[str, str], float]:
    """When each of these messages, alerts or campaigns was last changed through the API, pausing,
    launching and answering included, which change no column of the message itself: the audit log has
    every change (its index by object and time answers without reading the rows)."""
    return {
        (object_type, object_id): at
        for object_id, at in rows_for_ids(
            db,
            """select object_id, max(at) from audit_log
               where object_type = ? and object_id in ({marks}) group by object_id""",
            [str(row_id) for row_id in ids],
            [object_type],
        )
    }


def _campaigns(db: Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each of these campaigns' state as its messages' publicity depends on it: whether it was launched
    and not stopped, and the communes that accepted it (a campaign's messages reach every commune
    invited)."""
    accepted: dict[int, list[str]] = defaultdict(list)
    sql = "select campaign_id, commune_insee from campaign_consents where status = 'accepted' and campaign_id in ({marks})"
    for campaign_id, insee in rows_for_ids(db, sql, ids):
        accepted[campaign_id].append(insee)
    return {
        campaign_id: {"running": launched is not None and stopped is None, "accepted": accepted[campaign_id]}
        for campaign_id, launched, stopped in rows_for_ids(
            db, "select id, launched_at, stopped_at from campaigns where id in ({marks})", ids
        )
    }


def recent_alerts(
    db: Database, now: float, kind: PlaceKind | None = None, code: str = ""
) -> list[dict[str, Any]]:
    """Every alert not expired for a month, with the ``communes`` (INSEE code, name) it reaches; with a
    ``kind`` of place, only those with a panel in it (alerts target no tag)."""
    if kind == "tag":
        return []
    rows = _rows(
        db,
        f"""select {_ALERT_COLUMNS} from alerts
            where expires_at > :since {_near(kind, "alerts", "alert_panels", "alert_id")}""",
        {"since": int(now) - ENDED_LONG_AGO_S, "code": code},
    )
    _with_communes(
        db,
        rows,
        """select distinct a.alert_id, p.commune_insee, p.commune_name from alert_panels a
           join panels p on p.id = a.panel_id where a.alert_id in ({marks})""",
    )
    audited = last_audited(db, "alert", [row["id"] for row in rows])
    return [{**row, "tags": [], "audited_at": audited.get(("alert", str(row["id"])))} for row in rows]


def known_places(db: Database) -> tuple[dict[str, str], set[str]]:
    """The communes with panels (INSEE code to name) and every tag a panel carries."""
    communes: dict[str, str] = {}
    tags: set[str] = set()
    for insee, name, panel_tags in db.execute("select commune_insee, commune_name, tags from panels"):
        communes.setdefault(insee, name or insee)
        tags.update(json.loads(panel_tags or "[]"))
    return communes, tags


def places_for(db: Database, kind: PlaceKind, code: str) -> tuple[dict[str, str], set[str]]:
    """What of ``known_places`` may name this code, read through the panels' index: the commune, one
    commune of the department's codes, or the tag if a panel carries it."""
    if kind == "tag":
        found = db.execute(
            "select 1 from panels p, json_each(p.tags) where json_each.value = ? limit 1", [code]
        ).fetchone()
        return {}, {code} if found else set()
    rows = db.execute(
        f"""select p.commune_insee, p.commune_name from panels p where {_PANELS_IN[kind]}
            group by p.commune_insee""",
        {"code": code},
    )
    return {insee: name or insee for insee, name in rows}, set()


# A place's rows are read again after this long, or at the next request after a write through the app.
SNAPSHOT_S = 5.0
# The places whose rows are kept at once: the busiest, a region's department pages and most visited
# communes; the others are read again, at a commune's or a department's cost, not the region's.
SNAPSHOT_PLACES = 200
PlaceRows = tuple[list[dict[str, Any]], list[dict[str, Any]]]


class PlaceSnapshots:
    """A place's messages and alerts (``recent_messages``, ``recent_alerts``) as last read, for
    ``keep_s`` at most: the many visitors of a commune's page, widget and feeds cost one read of its
    rows every few seconds, not one each. ``forget`` (after any write through the app: a message
    withdrawn, an alert cancelled) drops every snapshot at once; what changes with time alone, an item
    coming on air or ending, is decided from the rows at each request. Reading takes no lock that a
    writer needs: two requests that miss together both read."""

    def __init__(
        self,
        keep_s: float = SNAPSHOT_S,
        places: int = SNAPSHOT_PLACES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._keep_s, self._places, self._clock = keep_s, places, clock
        self._generation = 0
        self._kept: OrderedDict[tuple[str, str], tuple[float, PlaceRows]] = OrderedDict()

    def rows(self, db: Database, now: float, kind: PlaceKind, code: str) -> PlaceRows:
        key = (kind, code)
        with self._lock:
            generation, read_at = self._generation, self._clock()
            kept = self._kept.get(key)
            if kept is not None and read_at - kept[0] < self._keep_s:
                self._kept.move_to_end(key)
                return kept[1]
        rows = (recent_messages(db, now, kind, code), recent_alerts(db, now, kind, code))
        with self._lock:
            if generation == self._generation:  # not if a write came while reading: it may be missing
                self._kept[key] = (read_at, rows)
                self._kept.move_to_end(key)
                while len(self._kept) > self._places:
                    self._kept.popitem(last=False)
        return rows

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._kept.clear()


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
