"""A panel's brightness over a horizon, as a pure function of its setting, its place and the time range.

A panel's ``brightness`` setting is ``""`` (always full), ``"sun"`` (full from sunrise to sunset at
the panel's coordinates, dimmed at night) or daily windows of full brightness in Europe/Paris wall
time (``"07:00-22:00"``, parsed like quiet hours, DST handled by ``active_intervals``). Outside the
day it is at its night level.

Sunrise and sunset are instants: astral finds them date by date in the panel's local mean solar
time (UTC plus longitude / 15 hours), where each date has its sunrise in the morning and its sunset
in the evening of that same date. In Paris time the Antilles' sunset can fall after midnight, on the
next date, which astral refuses; solar time works the same for every French commune, overseas
included. Sun times are cut to the whole second, as the wire carries them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from astral import Observer
from astral.sun import sunrise, sunset

from controller.scheduling.model import Recurrence
from controller.scheduling.recurrence import Interval, active_intervals, parse_windows

FULL = 100
SUN = "sun"

Step = tuple[datetime, datetime, int]


def brightness_steps(
    setting: str,
    night_level: int,
    latitude: float | None,
    longitude: float | None,
    start: datetime,
    end: datetime,
) -> tuple[Step, ...]:
    """``(start, end, level)`` steps covering [start, end) without gap, in UTC, adjacent levels merged.

    ``start`` and ``end`` are timezone-aware. Raises ValueError for an unreadable setting, a night
    level outside 1..100, or ``"sun"`` without coordinates (astral's own ValueError near the poles).
    """
    if not 1 <= night_level <= FULL:
        raise ValueError(f"night level must be 1 to {FULL}, not {night_level}")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start >= end:
        return ()
    if not setting:
        day: list[Interval] = [(start, end)]
    elif setting == SUN:
        if latitude is None or longitude is None:
            raise ValueError('"sun" needs the panel\'s latitude and longitude')
        day = _daylight(Observer(latitude, longitude), start, end)
    else:
        day = active_intervals(start, None, Recurrence(windows=parse_windows(setting)), start, end)
    steps: list[Step] = []
    cursor = start
    for begin, finish in day:
        steps += [(cursor, begin, night_level), (begin, finish, FULL)]
        cursor = finish
    steps.append((cursor, end, night_level))
    return _merged(steps)


def _merged(steps: list[Step]) -> tuple[Step, ...]:
    """Contiguous steps without the empty ones, neighbours at the same level joined."""
    merged: list[Step] = []
    for begin, finish, level in steps:
        if begin >= finish:
            continue
        if merged and merged[-1][2] == level:
            merged[-1] = (merged[-1][0], finish, level)
        else:
            merged.append((begin, finish, level))
    return tuple(merged)


def _daylight(observer: Observer, start: datetime, end: datetime) -> list[Interval]:
    """From sunrise to sunset each day, clipped to [start, end), to the second."""
    solar = timezone(timedelta(hours=observer.longitude / 15))
    first, last = start.astimezone(solar).date(), end.astimezone(solar).date()
    found: list[Interval] = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        begin = max(_second(sunrise(observer, day, tzinfo=solar)), start)
        finish = min(_second(sunset(observer, day, tzinfo=solar)), end)
        if begin < finish:
            found.append((begin, finish))
    return found


def _second(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)
