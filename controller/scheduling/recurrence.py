"""Recurrences turned into UTC intervals, window parsing, and a French description.

Daily windows are Europe/Paris wall-clock times, converted day by day with zoneinfo. Daylight
saving time, chosen and tested:

- Spring forward (last Sunday of March, 02:00 → 03:00): a wall time in the missing hour maps to
  the change itself (03:00 local, 01:00 UTC). A window 02:00–03:30 that day runs 03:00–03:30; a
  window lying wholly in the missing hour (02:00–02:30) does not happen that day.
- Fall back (last Sunday of October, 03:00 → 02:00): an ambiguous wall time, start or end, is its
  first occurrence (fold=0), so the repeated hour is never counted twice by a window inside it. A
  window that spans the whole repeated hour (02:00–03:30) runs through both occurrences and ends at
  03:30 after the change: 00:00–02:30 UTC, two and a half real hours.

Days are iterated with dateutil's ``rrule`` (DAILY by weekday), the same rule an iCalendar export
would carry; holiday calendars then keep or drop days.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from dateutil.rrule import DAILY, rrule

from controller.dates import PARIS
from controller.scheduling.calendars import ALSACE_MOSELLE, check_calendar, is_calendar_day
from controller.scheduling.model import MINUTES_PER_DAY, DailyWindow, Recurrence

Interval = tuple[datetime, datetime]

_WHOLE_DAY = (DailyWindow(0, MINUTES_PER_DAY),)
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
_DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def active_intervals(
    starts_at: datetime,
    ends_at: datetime | None,
    recurrence: Recurrence | None,
    start: datetime,
    end: datetime,
) -> list[Interval]:
    """The UTC intervals inside [start, end) when a schedule is active, sorted and disjoint.

    ``ends_at`` None: open-ended. ``recurrence`` None: active all the time between its dates.
    """
    return list(_active_intervals(starts_at, ends_at, recurrence, start, end))


@lru_cache(maxsize=4096)
def _active_intervals(
    starts_at: datetime,
    ends_at: datetime | None,
    recurrence: Recurrence | None,
    start: datetime,
    end: datetime,
) -> tuple[Interval, ...]:
    return tuple(merge_intervals(list(_day_by_day(starts_at, ends_at, recurrence, start, end))))


def ever_active(
    starts_at: datetime,
    ends_at: datetime | None,
    recurrence: Recurrence | None,
    start: datetime,
    end: datetime,
) -> bool:
    """Whether a schedule is active at some instant inside [start, end).

    Days are looked at one by one and the search stops at the first active one: the answer costs
    the days up to the recurrence's first window, not every window of the span.
    """
    return next(_day_by_day(starts_at, ends_at, recurrence, start, end), None) is not None


def _day_by_day(
    starts_at: datetime,
    ends_at: datetime | None,
    recurrence: Recurrence | None,
    start: datetime,
    end: datetime,
) -> Iterator[Interval]:
    """The active intervals in time order, day after day as they are found, not yet merged."""
    lo = max(starts_at, start).astimezone(UTC)
    hi = (end if ends_at is None else min(ends_at, end)).astimezone(UTC)
    if lo >= hi:
        return
    if recurrence is None:
        yield lo, hi
        return
    for calendar in (*recurrence.only_during, *recurrence.except_during):
        check_calendar(calendar)
    if not recurrence.weekdays:
        return
    first_day = lo.astimezone(PARIS).date()
    last_day = (hi - timedelta(microseconds=1)).astimezone(PARIS).date()
    days = rrule(
        DAILY,
        dtstart=datetime.combine(first_day, time()),
        until=datetime.combine(last_day, time()),
        byweekday=sorted(recurrence.weekdays),
    )
    windows = recurrence.windows or _WHOLE_DAY
    for day_start in days:
        day = day_start.date()
        if recurrence.only_during and not any(is_calendar_day(c, day) for c in recurrence.only_during):
            continue
        if any(is_calendar_day(c, day) for c in recurrence.except_during):
            continue
        for window in windows:
            begin = max(local_to_utc(day, window.start_min), lo)
            finish = min(local_to_utc(day, window.end_min), hi)
            if begin < finish:
                yield begin, finish


def local_to_utc(day: date, minute: int) -> datetime:
    """The UTC instant of a Paris wall-clock time (minute 1440 is the next midnight).

    Ambiguous times take their first occurrence; times in the spring-forward gap take the change.
    """
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    utc = naive.replace(tzinfo=PARIS).astimezone(UTC)
    if utc.astimezone(PARIS).replace(tzinfo=None) == naive:
        return utc
    # In the gap: find the change, the first instant whose wall time is past ``naive``.
    low = naive.replace(tzinfo=PARIS, fold=1).astimezone(UTC)
    high = utc
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(PARIS).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def merge_intervals(intervals: list[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for begin, finish in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            if finish > merged[-1][1]:
                merged[-1] = (merged[-1][0], finish)
        else:
            merged.append((begin, finish))
    return merged


def intersect_intervals(first: list[Interval], second: list[Interval]) -> list[Interval]:
    """The instants in both lists (each sorted and disjoint)."""
    result: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        begin = max(first[i][0], second[j][0])
        finish = min(first[i][1], second[j][1])
        if begin < finish:
            result.append((begin, finish))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def parse_windows(text: str) -> tuple[DailyWindow, ...]:
    """Parse "07:00-09:00,16:00-19:00"; a window crossing midnight ("22:00-06:00") becomes two.

    The result is sorted with overlapping windows joined. Errors are ValueError, in French.
    """
    minutes: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _WINDOW.match(part)
        if not match:
            raise ValueError(f"plage horaire illisible : « {part.strip()} » (attendu HH:MM-HH:MM)")
        hours_a, mins_a, hours_b, mins_b = (int(group) for group in match.groups())
        if hours_a > 23 or mins_a > 59 or hours_b > 24 or mins_b > 59 or (hours_b == 24 and mins_b):
            raise ValueError(f"heure invalide dans « {part.strip()} »")
        begin, finish = hours_a * 60 + mins_a, hours_b * 60 + mins_b
        if begin == finish:
            raise ValueError(f"plage horaire vide : « {part.strip()} »")
        if finish == 0:
            finish = MINUTES_PER_DAY
        if finish < begin:
            minutes.append((0, finish))
            finish = MINUTES_PER_DAY
        minutes.append((begin, finish))
    joined: list[tuple[int, int]] = []
    for begin, finish in sorted(minutes):
        if joined and begin <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], finish))
        else:
            joined.append((begin, finish))
    return tuple(DailyWindow(begin, finish) for begin, finish in joined)


def describe(recurrence: Recurrence | None) -> str:
    """In French: "du lundi au vendredi, 07:00–09:00 et 16:00–19:00, sauf jours fériés"."""
    if recurrence is None:
        return "en permanence"
    parts = [_describe_days(recurrence.weekdays)]
    if recurrence.windows:
        parts.append(_join([_format_window(window) for window in sorted(recurrence.windows)], " et "))
    else:
        parts.append("toute la journée")
    if recurrence.only_during:
        parts.append("uniquement " + _join([_only_name(c) for c in recurrence.only_during], " ou "))
    if recurrence.except_during:
        parts.append("sauf " + _join([_except_name(c) for c in recurrence.except_during], " et "))
    return ", ".join(parts)


def _describe_days(weekdays: frozenset[int]) -> str:
    days = sorted(weekdays)
    if len(days) == 7:
        return "tous les jours"
    if not days:
        return "aucun jour"
    if days == [5, 6]:
        return "le week-end"
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return f"du {_DAY_NAMES[days[0]]} au {_DAY_NAMES[days[-1]]}"
    if len(days) == 1:
        return f"le {_DAY_NAMES[days[0]]}"
    return _join([_DAY_NAMES[day] for day in days], " et ")


def _format_window(window: DailyWindow) -> str:
    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    return f"{clock(window.start_min)}–{clock(window.end_min)}"


def _only_name(calendar: str) -> str:
    if calendar == "public-holidays":
        return "les jours fériés"
    if calendar == ALSACE_MOSELLE:
        return "les jours fériés (Alsace-Moselle)"
    return f"pendant les vacances scolaires (zone {calendar[-1]})"


def _except_name(calendar: str) -> str:
    if calendar == "public-holidays":
        return "jours fériés"
    if calendar == ALSACE_MOSELLE:
        return "jours fériés (Alsace-Moselle)"
    return f"vacances scolaires (zone {calendar[-1]})"


def _join(words: list[str], last: str) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + last + words[-1]
