"""From the database to each panel's signed schedule for the next 48 hours.

The scheduler (``controller.scheduling``) decides, as a pure function of the database's content and
``now``, what each panel shows and when; this module feeds it, renders each item once per profile,
and seals the result into the outbox. Panels then rotate on their own, offline if need be, until the
horizon; the controller re-signs a fresh horizon well before that.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.domain.alerts import alert_content, alert_item_id
from controller.domain.panels import Panel, get_panels
from controller.domain.schedule_fields import recurrence_from_json, targets_from_json, utc
from controller.publishing.outbox import Desired, stage_desired
from controller.rendering.drawings import drawable
from controller.rendering.engine import MessageContent, RenderError
from controller.rendering.profiles import PanelProfile
from controller.scheduling.brightness import brightness_steps
from controller.scheduling.conflicts import Problem
from controller.scheduling.conflicts import check_message as check_scheduled
from controller.scheduling.model import PRIORITIES, Alert, Campaign, Consent, ScheduledMessage, as_priority
from controller.scheduling.resolve import PanelIndex, PanelSchedule, resolve
from controller.storage.db import transaction
from controller.storage.message_store import content_from_row, item_id_for
from relais.wire import (
    MAX_DWELL_MS,
    MAX_ITEMS,
    MAX_PAYLOAD_BYTES,
    MAX_SEGMENTS,
    MIN_DWELL_MS,
    BrightnessStep,
    DisplayItem,
    PlaylistEntry,
    Schedule,
    Segment,
    WireError,
)

log = logging.getLogger(__name__)

HORIZON = timedelta(hours=48)
LOOK_BACK_S = 12 * 3600


def _fallback_content(panel: Panel) -> MessageContent:
    return MessageContent(body=panel.commune_name or panel.commune_insee, markup="plain")


def _duration(item: DisplayItem) -> float:
    return sum(page.dwell_ms for page in item.pages) / 1000


class _Items:
    """Renders what a profile's panels may show, once per (content, profile), keyed by item id."""

    def __init__(self, profile: PanelProfile) -> None:
        self.profile = profile
        self.items: dict[str, DisplayItem] = {}
        # Each commune's fallback is added for every one of its panels: made once (a region's 10,000).
        self._made: dict[tuple[str, MessageContent, float | None], DisplayItem | None] = {}

    def add(self, key: str, content: MessageContent, dwell_s: float | None = None) -> DisplayItem | None:
        if (key, content, dwell_s) not in self._made:
            self._made[key, content, dwell_s] = self._make(key, content, dwell_s)
        made = self._made[key, content, dwell_s]
        if made is not None:
            self.items[key] = made
        return made

    def _make(self, key: str, content: MessageContent, dwell_s: float | None) -> DisplayItem | None:
        rendering = drawable(content, self.profile)
        if isinstance(rendering, RenderError):
            # A message targeted by tag may reach a panel it cannot be drawn on: skipped there, logged.
            log.warning("%s cannot be drawn on %s: %s", key, self.profile.id, rendering.message)
            return None
        item = rendering.display_item(key, content.body)
        if dwell_s:
            item = replace(
                item, pages=tuple(replace(page, dwell_ms=int(dwell_s * 1000)) for page in item.pages)
            )
        return item


def _campaigns(db: Database, now: int, *, launched_only: bool = True) -> list[Campaign]:
    consents: dict[int, dict[str, Consent]] = defaultdict(dict)
    for row in db.query("select * from campaign_consents"):
        consents[row["campaign_id"]][row["commune_insee"]] = Consent(
            status=row["status"], hours=recurrence_from_json(row["hours"]), max_share=row["max_share"]
        )
    launched = "launched_at is not null and" if launched_only else ""
    return [
        Campaign(
            id=str(row["id"]),
            starts_at=utc(row["starts_at"]),
            ends_at=utc(row["ends_at"]),
            share=row["share"],
            targets=targets_from_json(row["targets"]),
            consents=consents[row["id"]],
            stopped=row["stopped_at"] is not None,
        )
        for row in db.query(
            f"select * from campaigns where {launched} stopped_at is null and ends_at > ?", [now]
        )
    ]


@dataclass
class _Inputs:
    """What the scheduler needs for the panels of one profile, with the items rendered for it, and
    what each item is (``about``: message, campaign or alert ids, title, priority, and the ``rank`` by
    which a full schedule keeps it) for people."""

    items: _Items
    messages: list[ScheduledMessage]
    alerts: list[Alert]
    about: dict[str, dict[str, Any]]


def _rank(priority: str, commune: str | None, order: int) -> tuple[int, int]:
    """Which items a full schedule keeps first (lowest first): alerts, then by priority, the
    prefecture's before a commune's own, then the oldest: what is on air stays, a newcomer waits."""
    tier = -1 if priority == "alert" else 2 * (len(PRIORITIES) - PRIORITIES.index(priority))
    return (tier + (commune is not None), order)


def _inputs(
    db: Database, group: list[Panel], start: int, end: int, *, also_message: int | None = None
) -> _Inputs:
    """Approved messages and alerts that reach a panel of ``group`` (all of one profile): one waiting
    for its second person is on no panel, and one for other panels is not even drawn for these.
    ``also_message`` brings in one message whatever its approval, to check it before it is approved."""
    index = PanelIndex([panel.info for panel in group])
    items = _Items(group[0].profile)
    messages = []
    about: dict[str, dict[str, Any]] = {}
    for row in db.query(
        """select * from messages where cancelled_at is null and (approval = 'approved' or id = ?)
           and (ends_at is null or ends_at > ?) and starts_at < ?""",
        [also_message, start, end],
    ):
        targets = replace(targets_from_json(row["targets"]), within_commune=row["commune_insee"])
        if not index.reached(targets):
            continue
        item = items.add(item_id_for(row["id"]), content_from_row(row), row["dwell_s"])
        if item is None:
            continue
        priority = as_priority(row["priority"] or "information")
        about[item.item_id] = {
            "message_id": row["id"],
            "campaign_id": row["campaign_id"],
            "alert_id": None,
            "title": row["title"] or "",
            "priority": priority,
            "label": row["title"] or row["text"][:60],
            "rank": _rank(priority, row["commune_insee"], row["id"]),
        }
        messages.append(
            ScheduledMessage(
                key=item.item_id,
                targets=targets,
                starts_at=utc(row["starts_at"]),
                ends_at=None if row["ends_at"] is None else utc(row["ends_at"]),
                recurrence=recurrence_from_json(row["recurrence"]),
                priority=priority,
                duration_s=_duration(item),
                campaign=None if row["campaign_id"] is None else str(row["campaign_id"]),
                paused=bool(row["paused"]),
                order=row["id"],
            )
        )
    alerts = []
    for row in db.query(
        "select * from alerts where cancelled_at is null and approval = 'approved' and expires_at > ?",
        [start],
    ):
        targets = targets_from_json(row["targets"])
        if not index.reached(targets):
            continue
        # An official alert is worded per kind of panel (``texts``); a typed one has one text.
        text = json.loads(row["texts"] or "{}").get(items.profile.id, row["text"])
        item = items.add(alert_item_id(row["id"]), alert_content(text, row["title"], items.profile))
        if item is None:
            continue
        about[item.item_id] = {
            "message_id": None,
            "campaign_id": None,
            "alert_id": row["id"],
            "title": row["title"] or "ALERTE",
            "priority": "emergency",
            "label": row["title"] or row["text"][:60],
            "rank": _rank("alert", None, -row["id"]),
        }
        alerts.append(
            Alert(
                key=item.item_id,
                targets=targets,
                starts_at=utc(row["starts_at"]),
                expires_at=utc(row["expires_at"]),
                cancelled_at=None,
                duration_s=_duration(item),
            )
        )
    return _Inputs(items, messages, alerts, about)


def _by_profile(panels: Iterable[Panel]) -> list[list[Panel]]:
    groups: dict[str, list[Panel]] = defaultdict(list)
    for panel in panels:
        groups[panel.profile_id].append(panel)
    return list(groups.values())


class Left(NamedTuple):
    """An item a full schedule left out: the wire limit it would have passed, and what it is for people."""

    limit: str
    label: str


class Planned(NamedTuple):
    """A panel's schedule as the wire carries it, and what a person should know about it;
    ``dropped``: the items a full schedule left out, by item id."""

    schedule: Schedule
    notes: tuple[str, ...]
    dropped: dict[str, Left]


# Room kept in a sealed schedule for what is not frames: item texts, segments, the envelope.
_SEGMENT_BYTES = 96
_ENVELOPE_BYTES = 4096
_LIMITS = {
    "items": f"un programme porte {MAX_ITEMS} contenus au plus sur 48 heures",
    "segments": f"un programme change {MAX_SEGMENTS} fois au plus en 48 heures",
    "bytes": f"un programme signé pèse {MAX_PAYLOAD_BYTES // 2**20} Mio au plus",
}


def _left_out(why: Left) -> str:
    return f"« {why.label} » n’est pas diffusé ici : {_LIMITS[why.limit]}"


def build_schedules(
    db: Database, now: float, panel_ids: Iterable[str] | None = None, *, also_message: int | None = None
) -> dict[str, Planned]:
    """Each panel's schedule from ``now`` to ``now + 48 h``, with the scheduler's notes (e-paper limits).

    Panels with identical inputs (same profile, same resolved segments, same fallback and brightness)
    get the very same ``Schedule`` object: a department's thousand panels come down to a few hundred
    distinct schedules, and whoever encodes them (``republish``) does it once for each. A schedule
    that would pass a wire limit leaves out its lowest-ranked items (``_rank``) until it fits, so
    what one user queued never makes another's schedule fail, and an alert always fits.
    """
    start, end = int(now), int(now + HORIZON.total_seconds())
    panels = get_panels(db, None if panel_ids is None else list(panel_ids))
    campaigns = _campaigns(db, start)
    schedules = {}
    for group in _by_profile(panels.values()):
        inputs = _inputs(db, group, start, end, also_message=also_message)
        resolved = resolve(
            [panel.info for panel in group], inputs.messages, campaigns, inputs.alerts, utc(start), HORIZON
        )
        built: dict[tuple[object, ...], Schedule] = {}
        loads: dict[int, _Load] = {}  # by segments, which panels with the same inputs share
        for panel in group:
            fallback = None
            if panel.fallback == "commune":
                fallback = inputs.items.add(f"commune-{panel.commune_insee}", _fallback_content(panel))
            brightness = _brightness(panel, start, end)
            plan = resolved[panel.id]
            dropped: dict[str, str] = {}
            if id(plan.segments) not in loads:
                loads[id(plan.segments)] = _Load.of(plan, inputs.items.items)
            if loads[id(plan.segments)].excess(fallback) is not None:
                plan, dropped = _fitted(panel, plan, inputs, campaigns, fallback)
            key = (plan.segments, None if fallback is None else fallback.item_id, brightness)
            if key not in built:
                try:
                    built[key] = _to_wire(plan, inputs.items.items, fallback, end, brightness)
                except WireError:
                    # Never expected once fitted; should it happen, this panel keeps the schedule it
                    # has and the others are still signed.
                    log.exception("the schedule of %s cannot be built", panel.id)
                    continue
            left = {item: Left(limit, inputs.about[item]["label"]) for item, limit in dropped.items()}
            notes = plan.notes + tuple(_left_out(why) for why in left.values())
            schedules[panel.id] = Planned(built[key], notes, left)
    return schedules


def _fitted(
    panel: Panel,
    plan: PanelSchedule,
    inputs: _Inputs,
    campaigns: list[Campaign],
    fallback: DisplayItem | None,
) -> tuple[PanelSchedule, dict[str, str]]:
    """The panel's resolved schedule within the wire's limits, and the items left out for that.

    Rare (a panel filled by its own commune), so the panel is resolved again on its own after each
    item left out, the lowest-ranked first."""
    dropped: dict[str, str] = {}
    while True:
        load = _Load.of(plan, inputs.items.items)
        limit = load.excess(fallback)
        if limit is None or not load.keys:
            return plan, dropped
        dropped[max(load.keys, key=lambda item: inputs.about[item]["rank"])] = limit
        plan = resolve(
            [panel.info],
            [message for message in inputs.messages if message.key not in dropped],
            campaigns,
            [alert for alert in inputs.alerts if alert.key not in dropped],
            plan.start,
            plan.end - plan.start,
        )[panel.id]


class _Load(NamedTuple):
    """What a resolved schedule carries, against the wire's limits."""

    keys: frozenset[str]
    segments: int
    size: int  # bytes, frames and texts, with room for the rest

    @classmethod
    def of(cls, plan: PanelSchedule, items: dict[str, DisplayItem]) -> _Load:
        keys = frozenset(entry.key for segment in plan.segments for entry in segment.playlist)
        size = _ENVELOPE_BYTES + _SEGMENT_BYTES * len(plan.segments) + sum(_size(items[key]) for key in keys)
        return cls(keys, len(plan.segments), size)

    def excess(self, fallback: DisplayItem | None) -> str | None:
        """Which limit the schedule passes with this fallback: items, segments or bytes; None when it fits."""
        extra = fallback is not None and fallback.item_id not in self.keys
        if len(self.keys) + extra > MAX_ITEMS:
            return "items"
        if self.segments > MAX_SEGMENTS:
            return "segments"
        size = self.size + (_size(fallback) if extra and fallback is not None else 0)
        return "bytes" if size > MAX_PAYLOAD_BYTES else None


def _size(item: DisplayItem) -> int:
    frames = (frame for page in item.pages for frame in (page.frame, page.flash_frame) if frame is not None)
    return len(item.text.encode()) + sum(len(frame.data) for frame in frames)


def _brightness(panel: Panel, start: int, end: int) -> tuple[BrightnessStep, ...]:
    """The panel's brightness from ``start`` to ``end``; none for an always-full panel, whose
    schedule then stays as it was before brightness existed."""
    if not panel.brightness:
        return ()
    steps = brightness_steps(
        panel.brightness, panel.night_brightness, panel.latitude, panel.longitude, utc(start), utc(end)
    )
    return tuple(
        BrightnessStep(int(begin.timestamp()), int(finish.timestamp()), level)
        for begin, finish, level in steps
    )


def check_message(db: Database, message_id: int, panels: Iterable[Panel], now: float) -> list[Problem]:
    """What the scheduler foresees for a message already written (uncommitted): errors and warnings,
    judged for each profile among the panels it reaches, each problem once; one waiting for approval
    is judged as if approved, so its author learns now what is wrong with it."""
    start, end = int(now), int(now + HORIZON.total_seconds())
    campaigns = _campaigns(db, start, launched_only=False)
    key = item_id_for(message_id)
    found: dict[str, Problem] = {}
    for group in _by_profile(panels):
        inputs = _inputs(db, group, start, end, also_message=message_id)
        message = next((m for m in inputs.messages if m.key == key), None)
        if message is None:
            continue
        others = [m for m in inputs.messages if m.key != key]
        for problem in check_scheduled(
            message, [panel.info for panel in group], others, campaigns, inputs.alerts, utc(start), HORIZON
        ):
            found.setdefault(problem.code, problem)
    return list(found.values())


_FULL = {
    "items": (
        "panels",
        f"le panneau {{panel}} porte déjà {MAX_ITEMS} contenus sur les 48 prochaines heures, le plus "
        "qu’un programme peut porter, et ceux qui y sont passent avant (alertes, priorité, ancienneté)",
    ),
    "segments": (
        "recurrence",
        f"avec ce message, le programme du panneau {{panel}} changerait plus de {MAX_SEGMENTS} fois en "
        "48 heures, le plus qu’un programme permet : moins de créneaux",
    ),
    "bytes": (
        "panels",
        f"avec ce message, le programme du panneau {{panel}} pèserait plus de {MAX_PAYLOAD_BYTES // 2**20} "
        "Mio, le plus qu’un programme permet : moins d’images ou de pages",
    ),
}


def fit_problems(plans: dict[str, Planned], item_id: str, reached: Iterable[str]) -> list[Problem]:
    """A message left out of a panel it reaches because that panel's schedule is full is an error; the
    items it pushed out of others' schedules are warnings, one per item, for whoever queued it."""
    for panel_id in sorted(reached):
        why = plans[panel_id].dropped.get(item_id) if panel_id in plans else None
        if why is not None:
            field, text = _FULL[why.limit]
            return [Problem("error", f"schedule-{why.limit}", field, text.format(panel=panel_id))]
    pushed: dict[tuple[str, Left], list[str]] = defaultdict(list)
    for panel_id, plan in sorted(plans.items()):
        for item, why in plan.dropped.items():
            pushed[item, why].append(panel_id)
    return [
        Problem("warning", "pushed-out", "panels", f"{_left_out(why)} (panneaux {_some(panel_ids)})")
        for (_, why), panel_ids in pushed.items()
    ]


def _some(names: list[str], shown: int = 5) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" et {more} autres" if more > 0 else "")


def _to_wire(
    resolved: PanelSchedule,
    items: dict[str, DisplayItem],
    fallback: DisplayItem | None,
    horizon_end: int,
    brightness: tuple[BrightnessStep, ...],
) -> Schedule:
    used: list[str] = []
    for segment in resolved.segments:
        for entry in segment.playlist:
            if entry.key not in used:
                used.append(entry.key)
    if fallback is not None and fallback.item_id not in used:
        used.append(fallback.item_id)
    index = {key: position for position, key in enumerate(used)}
    return Schedule(
        items=tuple(items[key] for key in used),
        segments=tuple(
            Segment(
                start=int(segment.start.timestamp()),
                end=int(segment.end.timestamp()),
                playlist=tuple(
                    PlaylistEntry(
                        index[entry.key], None if entry.dwell_s is None else _dwell_ms(entry.dwell_s)
                    )
                    for entry in segment.playlist
                ),
                blank=segment.blank,
            )
            for segment in resolved.segments
        ),
        horizon_end=horizon_end,
        fallback=None if fallback is None else index[fallback.item_id],
        brightness=brightness,
    )


def _dwell_ms(dwell_s: float) -> int:
    """A dwell as the wire takes it: an e-paper's lengthened dwells can pass a day when its refresh
    budget is spent; held a day, it still never changes more often than the budget asks."""
    return min(MAX_DWELL_MS, max(MIN_DWELL_MS, int(dwell_s * 1000)))


def republish(
    db: Database, key: Ed25519PrivateKey, *, now: float, panel_ids: Iterable[str] | None = None
) -> dict[str, int]:
    """Seal a fresh 48-hour schedule for the given panels (all when None); returns their new sequence numbers.

    Everything is read inside the write transaction: a schedule built from what another writer was
    changing meanwhile would otherwise be sealed after that writer's own, with a newer sequence number,
    and panels would follow the stale one (the hourly refresh racing a message queued at start-up).
    What takes time, rendering, is done before the lock by ``draw_ahead`` and the queuing checks.
    """
    with transaction(db):
        return stage(db, key, build_schedules(db, now, panel_ids), now=now)


def stage(db: Database, key: Ed25519PrivateKey, plans: dict[str, Planned], *, now: float) -> dict[str, int]:
    """Seal planned schedules into the outbox; call inside the write transaction they were built in.

    Each distinct schedule is encoded once, however many panels share it; only the seal, which names
    the panel and its sequence number, is made for each panel."""
    # By identity: build_schedules hands panels with identical inputs the same object, and
    # comparing whole schedules (every frame's bytes) would cost more than it saves.
    encoded: dict[int, tuple[dict[str, Any], str | None]] = {}
    states = []
    for panel_id, (schedule, _notes, _dropped) in plans.items():
        if id(schedule) not in encoded:
            encoded[id(schedule)] = ({"schedule": schedule.to_json()}, _on_air(schedule, now))
        content, on_air = encoded[id(schedule)]
        states.append(Desired(panel_id, content, item_id=on_air))
    return stage_desired(db, key, states, now=now, ttl_s=int(HORIZON.total_seconds()))


def draw_ahead(db: Database, panel_ids: Iterable[str], now: float) -> None:
    """Render, outside any transaction, what these panels' next schedules will show: the write lock
    that follows then finds every rendering made (a controller just started has none)."""
    start, end = int(now), int(now + HORIZON.total_seconds())
    for group in _by_profile(get_panels(db, list(panel_ids)).values()):
        _inputs(db, group, start, end)
        for content in {_fallback_content(panel) for panel in group if panel.fallback == "commune"}:
            drawable(content, group[0].profile)


def _on_air(schedule: Schedule, now: float) -> str | None:
    """The item a panel should show at ``now``: the first of the playlist, else the fallback."""
    for segment in schedule.segments:
        if segment.start <= now < segment.end:
            if segment.blank:
                return None
            if segment.playlist:
                return schedule.items[segment.playlist[0].item].item_id
            break
    return None if schedule.fallback is None else schedule.items[schedule.fallback].item_id


def playlist(db: Database, panel_id: str, at: float) -> dict[str, Any]:
    """What a panel shows at ``at``, in order, with validity window and dwell: "what will it show tomorrow at 8"."""
    # Resolved from half a day before, so that the window containing ``at`` shows where it really starts.
    schedules = build_schedules(db, at - LOOK_BACK_S, [panel_id])
    if panel_id not in schedules:
        return {}
    schedule, notes, _dropped = schedules[panel_id]
    segment = next((s for s in schedule.segments if s.start <= at < s.end), None)
    entries = []
    if segment is not None and not segment.blank:
        for entry in segment.playlist:
            item = schedule.items[entry.item]
            entries.append(
                {
                    "item_id": item.item_id,
                    "text": item.text,
                    "pages": len(item.pages),
                    "dwell_s": (entry.dwell_ms / 1000 * len(item.pages))
                    if entry.dwell_ms
                    else _duration(item),
                }
            )
    return {
        "panel": panel_id,
        "at": at,
        "blank": bool(segment and segment.blank),
        "valid_from": segment.start if segment else None,
        "valid_until": segment.end if segment else None,
        "items": entries,
        "notes": list(notes),
        "fallback": None
        if schedule.fallback is None or entries
        else schedule.items[schedule.fallback].item_id,
    }


def timeline(db: Database, panel_id: str, start: float, days: int) -> dict[str, Any]:
    """What a panel will show from ``start`` for ``days`` days, segment by segment, for people: the
    same resolution as its signed schedule, with each item's message, campaign or alert."""
    panel = get_panels(db, [panel_id])[panel_id]
    begin, end = int(start), int(start + days * 86400)
    inputs = _inputs(db, [panel], begin, end)
    resolved = resolve(
        [panel.info], inputs.messages, _campaigns(db, begin), inputs.alerts, utc(begin), timedelta(days=days)
    )[panel_id]
    segments = []
    for segment in resolved.segments:
        entries = []
        for entry in segment.playlist:
            item = inputs.items.items[entry.key]
            entries.append(
                {
                    **inputs.about[entry.key],
                    "item_id": entry.key,
                    "text": item.text,
                    "dwell_s": entry.dwell_s * len(item.pages) if entry.dwell_s else _duration(item),
                }
            )
        segments.append(
            {
                "start": int(segment.start.timestamp()),
                "end": int(segment.end.timestamp()),
                "blank": segment.blank,
                "items": entries,
            }
        )
    fallback = _fallback_content(panel).body if panel.fallback == "commune" else None
    return {
        "panel": panel_id,
        "from": begin,
        "until": end,
        "fallback": fallback,
        "notes": list(resolved.notes),
        "segments": segments,
    }
