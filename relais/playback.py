"""Playback: what a panel shows at any instant of its signed schedule, a pure function of the time.

Shared by both sides: the agent follows it, and the controller derives from the schedule it signed
what each panel has on air now, without waiting for the panel to say.

It keeps no state, so a panel that slept, rebooted offline or had its clock stepped lands on the
right frame at once, and panels sharing a schedule turn their pages together; the timing is tested
without threads or clocks.

An item's pages loop forever in order, each up for its ``dwell_ms`` (``step_at``). A page with a
flash frame shows its frame and its flash frame in turn, each for ``flash_ms``, starting with the
frame every time the page comes up; the end of the dwell cuts the last of them short. A flash period
as long as the dwell or longer therefore never shows the flash frame.

Within a segment the playlist plays in order from the segment's start and loops, each entry being
every page of its item in turn (the last entry is cut short by the end of the segment). A playlist of
one entry is one showing for the whole segment rather than one per round of its pages: nothing on the
panel changes between rounds, so neither a wake-up nor a proof-of-play event is due. Outside the
segments the fallback item rotates from the start of the gap (the epoch, before the first segment),
or the panel is blank; from the end of the last segment on, that lasts forever, so content past the
horizon is never shown.

Brightness follows the same idea (``brightness_at``): the schedule's steps give the level, full
brightness everywhere else, past the horizon included, so a panel whose schedule ran out is never
left dim with nothing to say why.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from relais import wire


@dataclass(frozen=True)
class Step:
    """One frame of an item: ``pages[page_index].frame`` (phase 0) or its ``flash_frame`` (phase 1)."""

    page_index: int
    flash_phase: int


def step_at(pages: Sequence[wire.Page], elapsed_ms: int) -> tuple[Step, int | None]:
    """The step up ``elapsed_ms`` after the item started, and how many ms until a different step is up.

    The wait is None when nothing ever changes (a single page that does not flash): the caller then
    sleeps until something else wakes it, instead of polling an arbitrary horizon. The schedule is a
    function of the elapsed time alone, never of the steps already shown, so a caller that slept
    through many cycles (a suspended board, a slow e-paper refresh) lands on the right step at once
    instead of replaying the ones it missed.
    """
    if not pages:
        raise ValueError("an item has at least one page")
    if elapsed_ms < 0:
        raise ValueError(f"elapsed_ms must not be negative, not {elapsed_ms}")
    position = elapsed_ms % sum(page.dwell_ms for page in pages)
    index = 0
    while position >= pages[index].dwell_ms:
        position -= pages[index].dwell_ms
        index += 1
    page = pages[index]
    phase, wait_ms = _phase_at(page, position)
    step = Step(index, phase)
    if len(pages) > 1 or phase == 1 or position + wait_ms < page.dwell_ms:
        return step, wait_ms
    # A single page whose round ends on its frame starts the next round on that same frame: the
    # next change is the flash after it, if the page flashes at all.
    if page.flash_frame is None or page.flash_ms >= page.dwell_ms:
        return step, None
    return step, wait_ms + page.flash_ms


def _phase_at(page: wire.Page, position: int) -> tuple[int, int]:
    """The flash phase ``position`` ms into ``page``, and the ms until that phase or the page ends."""
    if page.flash_frame is None:
        return 0, page.dwell_ms - position
    period = position // page.flash_ms
    return period % 2, min((period + 1) * page.flash_ms, page.dwell_ms) - position


@dataclass(frozen=True)
class Showing:
    """What to draw at an instant, and until when (ms since the epoch; None: until something else changes).

    ``item`` indexes ``Schedule.items`` (None when ``blank``); ``page`` and ``flash_phase`` are those of
    ``Step``. ``entry_index`` is the position in the segment's playlist (None for the fallback
    or a blank panel) and ``started_at_ms`` when this showing began by the schedule: together with
    ``item`` they say whether two instants belong to the same showing, which is what proof of play counts.
    """

    item: int | None
    page: int
    flash_phase: int
    blank: bool
    entry_index: int | None
    started_at_ms: int
    until_ms: int | None


def showing_at(schedule: wire.Schedule, t_ms: int) -> Showing:
    """What ``schedule`` puts on the panel at ``t_ms`` (ms since the epoch, not negative)."""
    segments = schedule.segments
    index = bisect.bisect_right(segments, t_ms, key=lambda segment: segment.start * 1000) - 1
    if index < 0 or t_ms >= segments[index].end * 1000:
        gap_start = segments[index].end * 1000 if index >= 0 else 0
        gap_end = segments[index + 1].start * 1000 if index + 1 < len(segments) else None
        return _fallback(schedule, t_ms, gap_start, gap_end)
    segment = segments[index]
    start_ms, end_ms = segment.start * 1000, segment.end * 1000
    if segment.blank:
        return Showing(None, 0, 0, True, None, start_ms, end_ms)
    if not segment.playlist:
        return _fallback(schedule, t_ms, start_ms, end_ms)
    if len(segment.playlist) == 1:
        return _play(schedule, segment.playlist[0], 0, t_ms, start_ms, end_ms)
    durations = [_duration(schedule, entry) for entry in segment.playlist]
    entry_start = t_ms - (t_ms - start_ms) % sum(durations)  # the start of the current round
    for entry_index, (entry, duration) in enumerate(zip(segment.playlist, durations, strict=True)):
        if t_ms < entry_start + duration:
            return _play(schedule, entry, entry_index, t_ms, entry_start, min(entry_start + duration, end_ms))
        entry_start += duration
    raise AssertionError("unreachable: t_ms falls within the round")


def _fallback(schedule: wire.Schedule, t_ms: int, start_ms: int, end_ms: int | None) -> Showing:
    if schedule.fallback is None:
        return Showing(None, 0, 0, True, None, start_ms, end_ms)
    return _play(schedule, wire.PlaylistEntry(schedule.fallback), None, t_ms, start_ms, end_ms)


def _play(
    schedule: wire.Schedule,
    entry: wire.PlaylistEntry,
    entry_index: int | None,
    t_ms: int,
    start_ms: int,
    end_ms: int | None,
) -> Showing:
    """The page of ``entry`` up at ``t_ms`` when its pages started at ``start_ms``; they stop at ``end_ms``."""
    step, wait_ms = step_at(_pages(schedule, entry), t_ms - start_ms)
    until_ms = end_ms if wait_ms is None else t_ms + wait_ms
    if end_ms is not None and until_ms is not None:
        until_ms = min(until_ms, end_ms)
    return Showing(entry.item, step.page_index, step.flash_phase, False, entry_index, start_ms, until_ms)


def _pages(schedule: wire.Schedule, entry: wire.PlaylistEntry) -> tuple[wire.Page, ...]:
    """The item's pages, each with the entry's dwell when it sets one."""
    pages = schedule.items[entry.item].pages
    if entry.dwell_ms is None:
        return pages
    return tuple(dataclasses.replace(page, dwell_ms=entry.dwell_ms) for page in pages)


def _duration(schedule: wire.Schedule, entry: wire.PlaylistEntry) -> int:
    return sum(page.dwell_ms for page in _pages(schedule, entry))


def brightness_at(schedule: wire.Schedule, t_ms: int) -> tuple[int, int | None]:
    """The brightness ``schedule`` sets at ``t_ms``, and until when (ms since the epoch; None: for ever).

    The end is the next actual change of level: neighbouring steps at the same level, or a step at
    full brightness next to a gap, are one stretch, so the panel is not woken for nothing.
    """
    level: int | None = None
    for start_ms, end_ms, stretch_level in _brightness_stretches(schedule.brightness):
        if level is None:
            if end_ms is not None and t_ms >= end_ms:
                continue
            level = stretch_level
        elif stretch_level != level:
            return level, start_ms
        if end_ms is None:
            return level, None
    raise AssertionError("unreachable: the last stretch lasts for ever")


def _brightness_stretches(steps: tuple[wire.BrightnessStep, ...]) -> Iterator[tuple[int, int | None, int]]:
    """``(start_ms, end_ms, level)`` from the epoch on: the steps, and full brightness around them."""
    cursor = 0
    for step in steps:
        if cursor < step.start * 1000:
            yield cursor, step.start * 1000, wire.FULL_BRIGHTNESS
        yield step.start * 1000, step.end * 1000, step.level
        cursor = step.end * 1000
    yield cursor, None, wire.FULL_BRIGHTNESS
