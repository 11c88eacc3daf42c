"""What panels report about themselves, recorded as it arrives from the broker: events within each
panel's budget, and kept for a retention period (``EventBudget``, ``prune_events``)."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from sqlite_utils import Database

from controller.domain.alerts import ALERT_ITEM_PREFIX, confirm
from controller.rendering.images import ImageError, check_png
from controller.storage.db import pairs_for_ids, transaction
from relais.wire import (
    EVENT_ON_AIR,
    EVENT_PLAY,
    EVENT_PLAY_HOURS,
    MAX_EVENTS_PER_BATCH,
    SCREENSHOT_MAX_SIZE,
    EventBatch,
    PanelEvent,
    PanelState,
    WireError,
    read_own_sealed,
    screenshot_png,
)

log = logging.getLogger(__name__)


# Events the controller records itself, beside the panels' own, so a panel's history shows its outages.
EVENT_ONLINE = "online"
EVENT_OFFLINE = "offline"
# Proof of play is for reports: one a display, too many for a technician's history (the hourly sums
# of newer agents are not written there at all).
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
_HISTORY_INSERT = (
    "insert into panel_events (panel_id, event, at, received_at, details) values (?, ?, ?, ?, ?)"
)
_PLAY_INSERT = """
insert into plays (panel_id, item_id, content_hash, started_at, ended_at, received_at) values (?, ?, ?, ?, ?, ?)
"""
# A panel's sum for an hour only grows: the same sum again, or an older one late, changes nothing.
_PLAY_HOURS_UPSERT = """
insert into play_hours (panel_id, item_id, content_hash, hour, displays, seconds_on_air, first_start, last_end,
    received_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)
on conflict (panel_id, item_id, content_hash, hour) do update set
    displays = max(displays, excluded.displays), seconds_on_air = max(seconds_on_air, excluded.seconds_on_air),
    first_start = min(first_start, excluded.first_start), last_end = max(last_end, excluded.last_end),
    received_at = excluded.received_at
"""

# Screenshots are kept once per picture (``screenshots``, by the SHA-256 of the PNG): a department's
# panels show a few pictures between them.
_SCREENSHOT_INSERT = "insert or ignore into screenshots (hash, png) values (?, ?)"
_SCREENSHOTS_UNUSED = """
delete from screenshots where hash not in (select screenshot_hash from panel_status where screenshot_hash is not null)
"""
# A 400x300 RGB picture is 360 kB before compression; panels send a few colours, far less.
MAX_SCREENSHOT_BYTES = 512 * 1024
SCREENSHOT_QUERY = """
select png from panel_status join screenshots on hash = screenshot_hash where panel_id = ?
"""

# The screenshots of the schedule frames that states name (by the frame's content hash): a department's
# panels name the same few frames, each read from the outbox and made into a picture once per process.
# Bounded by bytes, not by count: every commune has its own fallback frames, one per profile (260 for
# 65 communes and 4 profiles, which 256 entries thrashed: every panel back on its schedule missed, a
# region ten times as many); an LED picture is half a kilobyte, an e-paper one a few.
FRAME_PICTURES_BYTES = 32 * 1024 * 1024


class FramePictures:
    """Pictures by frame hash, each with its digest; the least recently used go beyond ``budget`` bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._found: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, frame_hash: str) -> tuple[str, bytes] | None:
        with self._lock:
            found = self._found.get(frame_hash)
            if found is not None:
                self._found.move_to_end(frame_hash)
            return found

    def put(self, frame_hash: str, found: tuple[str, bytes]) -> None:
        with self._lock:
            if frame_hash in self._found:
                return
            self._found[frame_hash] = found
            self._bytes += len(found[1])
            while self._bytes > self.budget:
                _, (_, png) = self._found.popitem(last=False)
                self._bytes -= len(png)


_frame_pictures = FramePictures(FRAME_PICTURES_BYTES)


@dataclass(frozen=True)
class AlertSightings:
    """What is kept of a message of events over its panel's budget: the alerts its ``on_air`` events
    say are on air (item id, when), so that a panel's flood never costs it an alert's confirmation."""

    panel_id: str
    sightings: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class StateOverBudget:
    """A state from a panel over its budget of events: it counts all the same (it tells what the panel
    shows, and confirms alerts), but a change between online and offline it brings is not written in
    the history, where a panel switching back and forth would add a row a message."""

    state: PanelState

    @property
    def panel_id(self) -> str:
        return self.state.panel_id


Report = PanelState | StateOverBudget | PanelEvent | AlertSightings


def frame_picture(db: Database, panel_id: str, frame_hash: str) -> tuple[str, bytes] | None:
    """The screenshot of a frame of the panel's schedule and its digest; None when the schedule in the
    outbox has no such frame (the panel shows one of an older schedule, or the state lies)."""
    found = _frame_pictures.get(frame_hash)
    if found is not None:
        return found
    row = db.execute("select payload from desired where panel_id = ?", [panel_id]).fetchone()
    if row is None:
        return None
    try:
        frame = read_own_sealed(row[0]).desired_schedule().frame(frame_hash)
    except WireError:
        log.exception("the outbox's schedule for %s cannot be read back", panel_id)
        return None
    if frame is None:
        return None
    png = screenshot_png(frame)
    found = (hashlib.sha256(png).hexdigest(), png)
    _frame_pictures.put(frame_hash, found)
    return found


def _screenshot(db: Database, state: PanelState) -> tuple[str, bytes] | None:
    """A state's screenshot and its digest: the panel's own picture, or the schedule frame it names.

    A panel's own picture is served to browsers as ``image/png``: kept only if it is one, whole, and
    no larger than the screenshots panels make (``SCREENSHOT_MAX_SIZE``, ``MAX_SCREENSHOT_BYTES``).
    """
    if state.screenshot_png is not None:
        try:
            check_png(state.screenshot_png, SCREENSHOT_MAX_SIZE, MAX_SCREENSHOT_BYTES)
        except ImageError as exc:
            log.warning("%s sent a screenshot that is refused, none kept: %s", state.panel_id, exc)
            return None
        return hashlib.sha256(state.screenshot_png).hexdigest(), state.screenshot_png
    frame_hash = state.screenshot_frame
    picture = None if frame_hash is None else frame_picture(db, state.panel_id, frame_hash)
    if picture is None:
        log.info(
            "%s shows frame %s, which its schedule no longer has: no screenshot until its next state",
            state.panel_id,
            frame_hash,
        )
    return picture


def record_reports(db: Database, reports: Sequence[Report], received_at: float) -> None:
    """States and events as they came from the broker, in order, in a few statements for them all.

    An online state replaces what we knew; a last will only marks the panel offline: the will carries
    nothing about the screen, so what the panel showed last stays on record, and ``last_seen`` stays
    the last time the panel itself spoke. A state's screenshot is its picture, or the schedule frame
    it names, made into a picture here; one naming a frame its schedule no longer has leaves the panel
    without a screenshot rather than with a wrong one; a state with neither keeps the last one. A change
    between online and offline goes in the panel's history, unless the state is over its panel's
    budget (``StateOverBudget``). An alert on air is confirmed by the first
    state that names it, or by its ``on_air`` event (a state goes out with every new schedule; the
    event, for an alert that comes on air later in the rotation). Reports of panels not registered are
    logged and left out. The caller owns the transaction.
    """
    reporting = sorted({report.panel_id for report in reports})
    known = pairs_for_ids(db, "select id, 1 from panels where id in ({marks})", reporting)
    for panel_id in reporting:
        if panel_id not in known:
            log.warning("report from unknown panel %r ignored", panel_id)
    unrecorded = {id(report.state) for report in reports if isinstance(report, StateOverBudget)}
    recorded: list[PanelState | PanelEvent | AlertSightings] = [
        report.state if isinstance(report, StateOverBudget) else report
        for report in reports
        if report.panel_id in known
    ]
    states = [report for report in recorded if isinstance(report, PanelState)]
    was_online = pairs_for_ids(
        db,
        "select panel_id, online from panel_status where panel_id in ({marks})",
        sorted({state.panel_id for state in states}),
    )
    online = {panel_id: bool(value) for panel_id, value in was_online.items() if value is not None}
    at = int(received_at)
    history: list[tuple[Any, ...]] = []
    last_online: dict[str, PanelState] = {}  # each panel's last online state
    screenshots: dict[str, bytes] = {}  # the pictures, by hash
    screenshot_of: dict[str, str | None] = {}  # each panel's last screenshot, by hash
    seen: dict[str, int] = {}
    sightings: list[tuple[str, str, float]] = []
    plays: list[tuple[Any, ...]] = []
    play_hours: list[tuple[Any, ...]] = []
    for report in recorded:
        panel_id = report.panel_id
        if isinstance(report, AlertSightings):
            sightings += [(panel_id, item_id, seen_at) for item_id, seen_at in report.sightings]
            continue
        if isinstance(report, PanelState):
            if online.get(panel_id, False) != report.online and id(report) not in unrecorded:
                event = EVENT_ONLINE if report.online else EVENT_OFFLINE
                change = {"agent_version": report.agent_version} if report.online else {}
                history.append((panel_id, event, at, at, json.dumps(change)))
            online[panel_id] = report.online
            if report.online:
                last_online[panel_id] = report
                if report.item_id is not None:  # what confirms an alert, ahead of its on_air event
                    sightings.append((panel_id, report.item_id, float(report.reported_at)))
                if report.screenshot_png is not None or report.screenshot_frame is not None:
                    picture = _screenshot(db, report)
                    if picture is not None:
                        screenshots[picture[0]] = picture[1]
                    screenshot_of[panel_id] = None if picture is None else picture[0]
            continue
        details = report.details
        seen[panel_id] = at
        if report.event == EVENT_PLAY_HOURS:  # proof of play only, hourly: no panel's history
            play_hours += _play_hours_row(panel_id, details, at)
            continue
        history.append((panel_id, report.event, report.at, at, json.dumps(details, ensure_ascii=False)))
        if not isinstance(details.get("item_id"), str):
            continue
        if report.event == EVENT_ON_AIR:
            sightings.append((panel_id, details["item_id"], _on_air_at(report, received_at)))
        elif report.event == EVENT_PLAY:
            started = _number(details.get("started_at"), received_at)
            ended = max(started, _number(details.get("ended_at"), received_at))
            if started >= 0 and ended <= at + PANEL_CLOCK_AHEAD_S:
                plays.append((panel_id, details["item_id"], details.get("content_hash"), started, ended, at))
            else:
                log.warning("%s sent a play out of range, left out: %.200r", panel_id, details)
    execute = db.conn.executemany
    execute(_HISTORY_INSERT, history)
    execute(
        _STATE_UPSERT,
        [
            [
                panel_id,
                at,
                *(getattr(state, column) for column in STATE_COLUMNS),
                json.dumps(list(state.faults), ensure_ascii=False),
            ]
            for panel_id, state in last_online.items()
        ],
    )
    new_pictures = execute(_SCREENSHOT_INSERT, list(screenshots.items())).rowcount
    execute(
        "update panel_status set screenshot_hash = ? where panel_id = ?",
        [(digest, p) for p, digest in screenshot_of.items()],
    )
    if new_pictures > 0:  # some others may be shown no more
        db.conn.execute(_SCREENSHOTS_UNUSED)
    # Offline at the end of the burst: after its last online state's upsert, if it had one.
    execute(_OFFLINE_UPSERT, [(state.panel_id,) for state in states if not online[state.panel_id]])
    execute(_SEEN_UPSERT, list(seen.items()))
    confirm(db, sightings)
    execute(_PLAY_INSERT, plays)
    execute(_PLAY_HOURS_UPSERT, play_hours)


# A sum's hour is whole and not ahead of the controller's clock by more than a panel's clock may be
# (one not synchronised yet), nor its last end; its displays at most one a millisecond, its times'
# precision. Beyond these a sum would break the reports that read it (a date past year 9999, a total
# past SQLite's integers), not only be wrong.
HOUR_S = 3600
PANEL_CLOCK_AHEAD_S = 86_400
MAX_DISPLAYS_AN_HOUR = HOUR_S * 1000


def _play_hours_row(panel_id: str, details: dict[str, Any], received_at: int) -> list[tuple[Any, ...]]:
    """A ``play_hours`` sum as a row of ``play_hours``; none when it is malformed or out of range
    (logged): an item, a whole hour not in the future, a count of at least one, a first start in that
    hour, a last end after it and not in the future, no more seconds on air than between the two."""
    item_id, content_hash = details.get("item_id"), details.get("content_hash")
    hour, count = details.get("hour"), details.get("count")
    first, seconds, last = details.get("first_start"), details.get("seconds"), details.get("last_end")
    latest = received_at + PANEL_CLOCK_AHEAD_S
    # Python compares a huge integer exactly and a NaN as false: neither passes, nor reaches SQLite.
    if (
        isinstance(item_id, str)
        and isinstance(content_hash, str | None)
        and _integer(hour)
        and hour % HOUR_S == 0
        and 0 <= hour <= latest
        and _integer(count)
        and 1 <= count <= MAX_DISPLAYS_AN_HOUR
        and _is_number(first)
        and _is_number(seconds)
        and _is_number(last)
        and hour <= first < hour + HOUR_S
        and first <= last <= latest
        and 0 <= seconds <= last - first + 1.0  # a second's slack for rounding
    ):
        row = (panel_id, item_id, content_hash or "", hour, count, float(seconds), float(first), float(last))
        return [(*row, received_at)]
    log.warning("%s sent a sum of plays that is not one, left out: %.200r", panel_id, details)
    return []


_BEHIND_QUERY = """
select d.panel_id from desired d join panel_status s on s.panel_id = d.panel_id
where s.online = 1 and coalesce(s.applied_seq, 0) < d.seq
    and d.published_at is not null and d.published_at <= ? and d.expires_at > ?
order by d.published_at, d.panel_id
"""


def behind(
    db: Database, now: float, *, settle_s: float, limit: int, spared: Collection[str] = ()
) -> list[str]:
    """Online panels whose last state shows an older schedule than the one the broker took for them at
    least ``settle_s`` ago, longest behind first, at most ``limit``, leaving out ``spared``.

    A panel that refused its schedule as a replay (the broker handed it an older retained one, after a
    restart from an old save) or never got it shows so; ``settle_s`` leaves a panel the time to follow
    and report. Offline panels are left out: they get their retained schedule when they come back.
    """
    found: list[str] = []
    for (panel_id,) in db.execute(_BEHIND_QUERY, [now - settle_s, now]):
        if len(found) >= limit:
            break
        if panel_id not in spared:
            found.append(panel_id)
    return found


def _integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: object, default: float) -> float:
    """Times in events come from the panel: anything that is not a number is replaced, not trusted (an
    integer past any float too)."""
    return float(value) if _is_number(value) and abs(value) <= sys.float_info.max else default


def _on_air_at(event: PanelEvent, received_at: float) -> float:
    return _number(event.details.get("at"), received_at)


# --- events: what one panel may add to the database, and for how long ----------------------------

# A real event is about 250 bytes: a message of events costs its count, or one event per started
# EVENT_BYTES of its JSON when that is more, so that the budget bounds bytes as well as rows.
EVENT_BYTES = 512
# Defaults of the app's EVENTS_PER_PANEL_PER_MINUTE and EVENTS_BURST_PER_PANEL: a play a second for
# ever (a rotation of one-second dwells), and at once the backlog an agent keeps through a day offline
# (``panel_agent.agent.batching.MAX_PENDING_EVENTS``, 10,000, with its drop report and a batch to spare).
EVENTS_PER_MINUTE = 60
EVENTS_BURST = 10_100
# A panel over its budget is logged once in this time, however many messages it sends meanwhile.
DROP_LOG_EVERY_S = 60.0
# Default of the app's EVENTS_KEPT_DAYS: a quarter of history, for a technician's questions about the
# last weeks; proof of play for campaign reports is kept apart (``plays``, ``play_hours``), not pruned.
EVENTS_KEPT_DAYS = 90
# Rows deleted per transaction by the retention job: milliseconds of the write lock each.
PRUNE_BATCH = 1000
# A batch of events received before a time: by their index (migration 0013), not the whole table.
OLD_EVENTS = "select id from panel_events where received_at < ? limit ?"


def event_cost(batch: EventBatch) -> int:
    return max(len(batch.events), math.ceil(batch.size / EVENT_BYTES))


@dataclass
class _Allowance:
    tokens: float
    counted_at: float  # monotonic time ``tokens`` was last brought up to date
    dropped: int = 0  # events dropped since the controller started
    logged_at: float = -math.inf


class EventBudget:
    """Each panel's allowance of events, a token bucket in memory: ``per_minute`` steadily, up to
    ``burst`` at once. A message over it is dropped whole and its events counted, with one log line
    per panel and DROP_LOG_EVERY_S; other panels' allowances are their own. A restart forgives.

    Only the recorder thread of ``controller.publishing.link`` calls it: no lock.
    """

    def __init__(self, per_minute: int = EVENTS_PER_MINUTE, burst: int = EVENTS_BURST) -> None:
        if per_minute < 1 or burst < MAX_EVENTS_PER_BATCH:
            raise ValueError(
                f"an event budget needs at least 1 event a minute and room for a whole message "
                f"({MAX_EVENTS_PER_BATCH} events) at once, not {per_minute} and {burst}"
            )
        self.per_minute = per_minute
        self.burst = burst
        self._allowances: dict[str, _Allowance] = {}

    def admit(self, panel_id: str, cost: int, now: float) -> bool:
        """Whether the panel may add a message of ``cost`` events now (monotonic seconds); taken if so."""
        allowance = self._allowance(panel_id, now)
        if cost <= allowance.tokens:
            allowance.tokens -= cost
            return True
        self._drop(panel_id, allowance, cost, now, "over its budget")
        return False

    def refuse(self, panel_id: str, problem: WireError, now: float) -> None:
        """A message that cannot be read is dropped too (counted as one event), and logged as seldom as
        one over the budget."""
        self._drop(panel_id, self._allowance(panel_id, now), 1, now, f"unreadable ({problem})")

    def dropped(self, panel_id: str) -> int:
        allowance = self._allowances.get(panel_id)
        return 0 if allowance is None else allowance.dropped

    def _allowance(self, panel_id: str, now: float) -> _Allowance:
        allowance = self._allowances.get(panel_id)
        if allowance is None:
            allowance = self._allowances[panel_id] = _Allowance(float(self.burst), now)
        earned = (now - allowance.counted_at) * self.per_minute / 60
        allowance.tokens = min(float(self.burst), allowance.tokens + earned)
        allowance.counted_at = now
        return allowance

    def _drop(self, panel_id: str, allowance: _Allowance, cost: int, now: float, why: str) -> None:
        allowance.dropped += cost
        if now - allowance.logged_at >= DROP_LOG_EVERY_S:
            allowance.logged_at = now
            log.warning(
                "events of %s dropped, %s: %d dropped since the controller started (budget: %d a minute, "
                "%d at once); further drops in the next %.0f s are counted, not logged",
                panel_id,
                why,
                allowance.dropped,
                self.per_minute,
                self.burst,
                DROP_LOG_EVERY_S,
            )


def alert_sightings(panel_id: str, events: Iterable[PanelEvent], received_at: float) -> AlertSightings:
    """The alerts that a message's ``on_air`` events say are on air, without the rest of it."""
    return AlertSightings(
        panel_id,
        tuple(
            (event.details["item_id"], _on_air_at(event, received_at))
            for event in events
            if event.event == EVENT_ON_AIR
            and isinstance(event.details.get("item_id"), str)
            and event.details["item_id"].startswith(ALERT_ITEM_PREFIX)
        ),
    )


def events_cutoff(now: float, kept_days: int) -> int:
    """Events received before this time (seconds) are past their retention."""
    return int(now) - kept_days * 86_400


def prune_events(db: Database, before: int, batch: int = PRUNE_BATCH) -> int:
    """Delete the events received before ``before``, ``batch`` rows a transaction, so that the write
    lock is never held for long (a report or an alert waits at most one batch); how many went."""
    deleted = 0
    while True:
        with transaction(db):
            count = db.execute(
                f"delete from panel_events where id in ({OLD_EVENTS})", [before, batch]
            ).rowcount
        deleted += count
        if count < batch:
            return deleted


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
