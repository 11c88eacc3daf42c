"""What each panel shows, segment by segment, from now to now + horizon: a pure function of its inputs.

Rules, in order:

1. A message is *active* on a panel at t when the panel is in its targets (within their
   ``within_commune`` when set), t is in [starts_at, ends_at) and in its recurrence's intervals
   (Paris wall time), and it is not paused.
2. A campaign message (``message.campaign`` set) also needs: the campaign exists and is not stopped,
   t is within the campaign's dates, the panel's commune has *accepted*, and t is inside the
   commune's consent ``hours`` when it set some. Its targets are its own intersected with the
   campaign's. Its priority still applies (an "urgent" campaign message pre-empts like any other).
3. Emergency: while an alert is active (starts_at <= t < min(expires_at, cancelled_at)), or a
   message of priority "emergency", the playlist is the active alerts only (emergency messages
   included), oldest first then by key. Quiet hours do NOT silence an alert.
4. Otherwise, in the panel's quiet hours (Paris wall time) the panel is dark: a ``blank`` segment.
5. Otherwise, when any "urgent" message is active, the playlist is those, by key.
6. Otherwise the panel rotates its commune messages (prevention before information, then the newest first, then by key)
   and its campaign messages (by campaign id, then key). Each campaign takes its ``share`` of each
   cycle's time, capped by the commune's ``max_share``; shares add up, capped at 1 (at 1 the
   commune messages get no time). The commune block is repeated ``a`` times and each campaign's
   block ``k`` times, with the smallest ``a`` (up to an hour of commune items) for which some ``k``
   (at most 12 entries per campaign block) brings every campaign within ±5 % (relative) of its
   share, else the closest found. Entries are spread evenly through the cycle, not in one block:
   2 commune messages of 10 s and a campaign at 1/3 with one 8 s message give a = 3, k = 4:
   C K C K C C K C K C (34.8 % of the time).
   Only campaign messages active: they take all the time, each once; only commune ones: likewise.
7. E-paper: every entry stays at least ``min_refresh_s``. If the changes over the horizon (one per
   segment start plus the rotation's), per day, exceed ``refresh_budget_per_day``, every rotating
   entry's dwell is lengthened by one factor (shares are kept) and ``PanelSchedule.notes`` says so.
   An item's pages count as one change: the renderer already holds each page ``min_refresh_s``.

Segments start at every instant something starts or stops within [now, now + horizon) (window
edges, message, campaign and alert dates, consent hours, quiet hours), cover the horizon without
gaps (nothing to show is an explicit empty segment, where the panel shows its fallback), and
adjacent segments with the same playlist are merged. The panel restarts its playlist at each
segment start. Keys of alerts and messages share one namespace: callers keep them distinct.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from controller.scheduling.model import Alert, Campaign, PanelInfo, Recurrence, ScheduledMessage, Targets
from controller.scheduling.recurrence import Interval, active_intervals, intersect_intervals
from controller.scheduling.targets import matches

DEFAULT_HORIZON = timedelta(hours=48)
SHARE_TOLERANCE = 0.05  # relative
MAX_CYCLE_COMMUNE_S = 3600.0  # commune repetitions per cycle stop at one hour of commune items
MAX_CAMPAIGN_ENTRIES = 12  # per campaign, per cycle

Kind = Literal["alert", "urgent", "commune", "campaign"]


@dataclass(frozen=True)
class Entry:
    """One item in a playlist; ``dwell_s`` None: the item's own duration (set when lengthened)."""

    key: str
    dwell_s: float | None = None


@dataclass(frozen=True)
class Segment:
    """A stretch of time with one playlist; empty and not blank: nothing to show (fallback)."""

    start: datetime
    end: datetime
    playlist: tuple[Entry, ...]
    blank: bool = False  # quiet hours: the panel is dark


@dataclass(frozen=True)
class PanelSchedule:
    """A panel's segments, contiguous from ``start`` to ``end``; ``notes`` in French, for previews."""

    panel_id: str
    start: datetime
    end: datetime
    segments: tuple[Segment, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Item:
    key: str
    kind: Kind
    rank: tuple[object, ...]  # order within its kind
    duration_s: float
    campaign: str | None


def resolve(
    panels: Sequence[PanelInfo],
    messages: Sequence[ScheduledMessage],
    campaigns: Sequence[Campaign],
    alerts: Sequence[Alert],
    now: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
) -> dict[str, PanelSchedule]:
    """Every panel's schedule over [now, now + horizon), by panel id."""
    start = now.astimezone(UTC)
    end = start + horizon
    by_campaign = {campaign.id: campaign for campaign in campaigns}
    index = PanelIndex(panels)

    items: list[_Item] = []
    base: list[list[Interval]] = []
    reach: list[set[str]] = []
    for alert in alerts:
        intervals = active_intervals(alert.starts_at, alert.stops_at, None, start, end)
        if intervals:
            items.append(_Item(alert.key, "alert", (alert.starts_at, alert.key), alert.duration_s, None))
            base.append(intervals)
            reach.append(index.reached(alert.targets))
    for message in messages:
        campaign = by_campaign.get(message.campaign) if message.campaign else None
        if message.paused or (message.campaign and (campaign is None or campaign.stopped)):
            continue
        intervals = active_intervals(message.starts_at, message.ends_at, message.recurrence, start, end)
        if campaign is not None:
            intervals = intersect_intervals(intervals, [(campaign.starts_at, campaign.ends_at)])
        if not intervals:
            continue
        panel_ids = index.reached(message.targets)
        if campaign is not None:
            panel_ids &= index.reached(campaign.targets)
        items.append(_item_of(message))
        base.append(intervals)
        reach.append(panel_ids)

    per_panel: dict[str, list[int]] = defaultdict(list)
    for number, panel_ids in enumerate(reach):
        for panel_id in panel_ids:
            per_panel[panel_id].append(number)

    builder = _PlaylistBuilder(items)
    consent_windows: dict[tuple[str, str], list[Interval]] = {}
    done: dict[tuple[object, ...], tuple[tuple[Segment, ...], tuple[str, ...]]] = {}
    result: dict[str, PanelSchedule] = {}
    for panel in panels:
        numbers = per_panel.get(panel.id, [])
        shown: list[tuple[int, list[Interval]]] = []
        shares: dict[str, float] = {}
        for number in numbers:
            item = items[number]
            if item.campaign is None:
                shown.append((number, base[number]))
                continue
            campaign = by_campaign[item.campaign]
            slot = (campaign.id, panel.commune_insee)
            if slot not in consent_windows:
                consent_windows[slot] = campaign_window(campaign, panel.commune_insee, start, end)
            intervals = intersect_intervals(base[number], consent_windows[slot])
            if intervals:
                shown.append((number, intervals))
                shares[campaign.id] = campaign_share(campaign, panel.commune_insee)
        signature = (
            tuple(number for number, _ in shown),
            panel.commune_insee if shares else None,
            panel.quiet_hours,
            panel.min_refresh_s,
            panel.refresh_budget_per_day,
        )
        if signature not in done:
            quiet = (
                active_intervals(start, None, Recurrence(windows=panel.quiet_hours), start, end)
                if panel.quiet_hours
                else []
            )
            done[signature] = _panel_segments(builder, shown, quiet, shares, panel, start, end)
        segments, notes = done[signature]
        result[panel.id] = PanelSchedule(panel.id, start, end, segments, notes)
    return result


def playlist_at(schedule: PanelSchedule, at: datetime) -> Segment | None:
    """The segment in force at ``at``, or None outside the schedule."""
    if not schedule.start <= at < schedule.end:
        return None
    starts = [segment.start for segment in schedule.segments]
    return schedule.segments[bisect.bisect_right(starts, at) - 1]


def campaign_window(campaign: Campaign, commune: str, start: datetime, end: datetime) -> list[Interval]:
    """When a commune lets a campaign run, within [start, end): nothing unless it accepted."""
    consent = campaign.consents.get(commune)
    if campaign.stopped or consent is None or consent.status != "accepted":
        return []
    return active_intervals(campaign.starts_at, campaign.ends_at, consent.hours, start, end)


def campaign_share(campaign: Campaign, commune: str) -> float:
    """The campaign's share of air time in a commune, capped by the commune's ``max_share``."""
    consent = campaign.consents.get(commune)
    if consent is None or consent.max_share is None:
        return campaign.share
    return min(campaign.share, consent.max_share)


def message_intervals(
    message: ScheduledMessage,
    panel: PanelInfo,
    campaigns: Sequence[Campaign],
    start: datetime,
    end: datetime,
) -> list[Interval]:
    """When a message is active on a panel (rules 1 and 2), before priorities and quiet hours."""
    if message.paused or not matches(message.targets, panel):
        return []
    intervals = active_intervals(message.starts_at, message.ends_at, message.recurrence, start, end)
    if message.campaign is None:
        return intervals
    campaign = next((c for c in campaigns if c.id == message.campaign), None)
    if campaign is None or not matches(campaign.targets, panel):
        return []
    return intersect_intervals(intervals, campaign_window(campaign, panel.commune_insee, start, end))


def _item_of(message: ScheduledMessage) -> _Item:
    if message.priority == "emergency":
        kind: Kind = "alert"
        rank: tuple[object, ...] = (message.starts_at, message.key)
    elif message.priority == "urgent":
        kind, rank = "urgent", (-message.starts_at.timestamp(), -message.order, message.key)
    elif message.campaign is not None:
        kind, rank = "campaign", (message.campaign, message.key)
    else:
        # Newest first: a message just queued goes on air at once, not after the whole rotation.
        kind, rank = (
            "commune",
            (message.priority != "prevention", -message.starts_at.timestamp(), -message.order, message.key),
        )
    return _Item(message.key, kind, rank, message.duration_s, message.campaign)


class PanelIndex:
    """Panels by id, tag, commune and department, to find a target's panels without a full scan."""

    def __init__(self, panels: Sequence[PanelInfo]) -> None:
        self.ids = {panel.id for panel in panels}
        self.by_tag: dict[str, set[str]] = defaultdict(set)
        self.by_commune: dict[str, set[str]] = defaultdict(set)
        self.by_department: dict[str, set[str]] = defaultdict(set)
        for panel in panels:
            for tag in panel.tags:
                self.by_tag[tag].add(panel.id)
            self.by_commune[panel.commune_insee].add(panel.id)
            self.by_department[panel.department].add(panel.id)

    def reached(self, targets: Targets) -> set[str]:
        found = set(targets.panels & self.ids)
        for tag in targets.tags:
            found |= self.by_tag.get(tag, set())
        for commune in targets.communes:
            found |= self.by_commune.get(commune, set())
        for department in targets.departments:
            found |= self.by_department.get(department, set())
        if targets.within_commune is not None:
            found &= self.by_commune.get(targets.within_commune, set())
        return found


class _PlaylistBuilder:
    """Playlists from the set of active items (rules 3 to 6), remembered across panels."""

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.cache: dict[tuple[object, ...], tuple[tuple[Entry, ...], bool]] = {}

    def build(
        self, active: frozenset[int], quiet: bool, shares: Mapping[str, float], min_refresh_s: int
    ) -> tuple[tuple[Entry, ...], bool]:
        cache_key = (active, quiet, tuple(sorted(shares.items())), min_refresh_s)
        if cache_key not in self.cache:
            self.cache[cache_key] = self._build(active, quiet, shares, min_refresh_s)
        return self.cache[cache_key]

    def _build(
        self, active: frozenset[int], quiet: bool, shares: Mapping[str, float], min_refresh_s: int
    ) -> tuple[tuple[Entry, ...], bool]:
        by_kind: dict[Kind, list[_Item]] = defaultdict(list)
        for number in active:
            by_kind[self.items[number].kind].append(self.items[number])

        def entries(chosen: Iterable[_Item]) -> tuple[Entry, ...]:
            return tuple(
                Entry(item.key, None if item.duration_s >= min_refresh_s else float(min_refresh_s))
                for item in chosen
            )

        def ranked(kind: Kind) -> list[_Item]:
            return sorted(by_kind[kind], key=lambda item: item.rank)

        if by_kind["alert"]:
            return entries(ranked("alert")), False
        if quiet:
            return (), True
        if by_kind["urgent"]:
            return entries(ranked("urgent")), False
        commune = ranked("commune")
        blocks: dict[str, list[_Item]] = defaultdict(list)
        for item in ranked("campaign"):
            blocks[item.campaign or ""].append(item)
        if not blocks or not commune:
            return entries(commune + ranked("campaign")), False

        def seconds(chosen: list[_Item]) -> float:
            return sum(max(item.duration_s, min_refresh_s) for item in chosen)

        wanted = [(shares[campaign], seconds(block), len(block)) for campaign, block in blocks.items()]
        if sum(share for share, _, _ in wanted) >= 1:
            return entries(ranked("campaign")), False
        repeats, counts = _repetitions(seconds(commune), wanted)
        streams = [commune * repeats] + [
            block * count for block, count in zip(blocks.values(), counts, strict=True)
        ]
        placed = sorted(
            ((position + 0.5) / len(stream), order, item)
            for order, stream in enumerate(streams)
            for position, item in enumerate(stream)
        )
        return entries(item for _, _, item in placed), False


def _repetitions(commune_s: float, wanted: list[tuple[float, float, int]]) -> tuple[int, tuple[int, ...]]:
    """The commune block's repetitions and each campaign block's, closest to the wanted shares.

    ``wanted`` holds (share, block seconds, block entries) per campaign; shares add up to < 1.
    """
    best = _closest(1, commune_s, wanted)
    most = max(1, math.floor(MAX_CYCLE_COMMUNE_S / commune_s))
    for repeats in range(2, most + 1):
        if best[0][0] <= SHARE_TOLERANCE:
            break
        candidate = _closest(repeats, commune_s, wanted)
        if candidate[0] < best[0]:
            best = candidate
    return best[1], best[2]


def _closest(
    repeats: int, commune_s: float, wanted: list[tuple[float, float, int]]
) -> tuple[tuple[float, int], int, tuple[int, ...]]:
    """With the commune block ``repeats`` times, the campaign blocks' counts closest to the wanted
    shares, as (score: the worst share's relative error then the cycle's blocks, repeats, counts);
    the first of equals."""
    total_share = sum(share for share, _, _ in wanted)
    choices = []
    for share, block_s, size in wanted:
        ideal = share / (1 - total_share) * repeats * commune_s / block_s
        cap = max(1, MAX_CAMPAIGN_ENTRIES // size)
        choices.append(sorted({min(cap, max(1, math.floor(ideal))), min(cap, max(1, math.ceil(ideal)))}))
    candidates = []
    for counts in itertools.product(*choices):
        cycle = repeats * commune_s + sum(
            count * block_s for count, (_, block_s, _) in zip(counts, wanted, strict=True)
        )
        error = max(
            abs(count * block_s / cycle - share) / share
            for count, (share, block_s, _) in zip(counts, wanted, strict=True)
        )
        candidates.append(((error, repeats + sum(counts)), repeats, counts))
    return min(candidates, key=lambda candidate: candidate[0])


def _panel_segments(
    builder: _PlaylistBuilder,
    shown: list[tuple[int, list[Interval]]],
    quiet: list[Interval],
    shares: Mapping[str, float],
    panel: PanelInfo,
    start: datetime,
    end: datetime,
) -> tuple[tuple[Segment, ...], tuple[str, ...]]:
    """Sweep the panel's start and stop instants into merged segments, then apply e-paper limits."""
    changes: dict[datetime, list[tuple[int, bool]]] = defaultdict(list)
    for number, intervals in shown:
        for begin, finish in intervals:
            changes[begin].append((number, True))
            changes[finish].append((number, False))
    for begin, finish in quiet:
        changes[begin].append((-1, True))
        changes[finish].append((-1, False))
    instants = sorted({start, end, *changes})
    active: set[int] = set()
    segments: list[Segment] = []
    for begin, finish in itertools.pairwise(instants):
        for number, starting in changes.get(begin, ()):
            if starting:
                active.add(number)
            else:
                active.discard(number)
        is_quiet = -1 in active
        playlist, blank = builder.build(frozenset(active - {-1}), is_quiet, shares, panel.min_refresh_s)
        if segments and segments[-1].playlist == playlist and segments[-1].blank == blank:
            segments[-1] = replace(segments[-1], end=finish)
        else:
            segments.append(Segment(begin, finish, playlist, blank))
    notes: list[str] = []
    if any(entry.dwell_s is not None for segment in segments for entry in segment.playlist):
        notes.append(
            f"Affichages allongés à {panel.min_refresh_s} s au moins : c’est le délai minimal "
            "entre deux rafraîchissements de ce panneau."
        )
    durations = {item.key: item.duration_s for item in builder.items}
    if panel.refresh_budget_per_day is not None:
        segments, note = _fit_budget(segments, durations, panel.refresh_budget_per_day, end - start)
        if note:
            notes.append(note)
    return tuple(segments), tuple(notes)


def _fit_budget(
    segments: list[Segment], durations: Mapping[str, float], budget: int, horizon: timedelta
) -> tuple[list[Segment], str | None]:
    """Lengthen every rotating dwell by one factor so the changes per day fit the budget."""
    days = horizon.total_seconds() / 86400
    fixed = len(segments) - 1  # each segment start after the first changes the picture
    rotating = 0.0
    for segment in segments:
        if len(segment.playlist) > 1:
            cycle = sum(_dwell(entry, durations) for entry in segment.playlist)
            rotating += (segment.end - segment.start).total_seconds() * len(segment.playlist) / cycle
    per_day = (fixed + rotating) / days
    if per_day <= budget:
        return segments, None
    room = budget * days - fixed
    factor = rotating / max(room, 1.0)
    lengthened = [
        replace(
            segment,
            playlist=tuple(
                Entry(entry.key, math.ceil(_dwell(entry, durations) * factor * 10) / 10)
                for entry in segment.playlist
            ),
        )
        if len(segment.playlist) > 1
        else segment
        for segment in segments
    ]
    shown_factor = f"{factor:.1f}".replace(".", ",")
    note = (
        f"Budget de rafraîchissements dépassé : environ {round(per_day)} changements par jour pour "
        f"{budget} permis ; chaque affichage en rotation est allongé {shown_factor} fois."
    )
    if room < 1:
        note += " Le budget reste dépassé : la programmation change trop souvent d’elle-même."
    return lengthened, note


def _dwell(entry: Entry, durations: Mapping[str, float]) -> float:
    return durations[entry.key] if entry.dwell_s is None else entry.dwell_s
