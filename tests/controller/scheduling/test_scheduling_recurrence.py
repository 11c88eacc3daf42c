"""Recurrences as UTC intervals (DST in Europe/Paris), window parsing, descriptions, calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from controller.dates import PARIS
from controller.scheduling import (
    DailyWindow,
    Recurrence,
    active_intervals,
    calendar_coverage,
    describe,
    is_calendar_day,
    parse_windows,
)
from controller.scheduling.recurrence import ever_active

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_day(day: date) -> tuple[datetime, datetime]:
    """One Paris calendar day as [start, end) in UTC: 23, 24 or 25 real hours."""
    return (
        datetime.combine(day, time(), PARIS).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC),
    )


def day_intervals(day: date, windows: str) -> list[tuple[datetime, datetime]]:
    return active_intervals(EPOCH, None, Recurrence(windows=parse_windows(windows)), *local_day(day))


@pytest.mark.parametrize(
    ("day", "windows", "expected"),
    [
        # Spring forward, 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        (date(2026, 3, 29), "02:00-03:30", [(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30))]),
        (date(2026, 3, 29), "07:00-09:00", [(utc(2026, 3, 29, 5, 0), utc(2026, 3, 29, 7, 0))]),
        (date(2026, 3, 29), "02:00-02:30", []),
        (date(2026, 3, 29), "01:00-02:30", [(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0))]),
        (date(2026, 3, 28), "02:00-03:30", [(utc(2026, 3, 28, 1, 0), utc(2026, 3, 28, 2, 30))]),
        (date(2026, 3, 30), "07:00-09:00", [(utc(2026, 3, 30, 5, 0), utc(2026, 3, 30, 7, 0))]),
        # Fall back, 25 October 2026: 03:00 CEST goes back to 02:00 CET (01:00 UTC).
        (date(2026, 10, 25), "02:00-03:30", [(utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 30))]),
        (date(2026, 10, 25), "07:00-09:00", [(utc(2026, 10, 25, 6, 0), utc(2026, 10, 25, 8, 0))]),
        (date(2026, 10, 25), "02:00-02:30", [(utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30))]),
        (date(2026, 10, 24), "02:00-03:30", [(utc(2026, 10, 24, 0, 0), utc(2026, 10, 24, 1, 30))]),
        (date(2026, 10, 26), "02:00-03:30", [(utc(2026, 10, 26, 1, 0), utc(2026, 10, 26, 2, 30))]),
        (
            date(2026, 10, 25),
            "02:00-03:30,07:00-09:00",
            [
                (utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 30)),
                (utc(2026, 10, 25, 6, 0), utc(2026, 10, 25, 8, 0)),
            ],
        ),
    ],
)
def test_daylight_saving_changes(day: date, windows: str, expected: list[tuple[datetime, datetime]]) -> None:
    assert day_intervals(day, windows) == expected


@pytest.mark.parametrize(
    ("night", "expected"),
    [
        (date(2026, 3, 28), (utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 4, 0))),  # 7 real hours
        (date(2026, 10, 24), (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 5, 0))),  # 9 real hours
    ],
)
def test_window_across_midnight_on_change_nights(night: date, expected: tuple[datetime, datetime]) -> None:
    start = datetime.combine(night, time(12), PARIS)
    recurrence = Recurrence(windows=parse_windows("22:00-06:00"))
    assert active_intervals(EPOCH, None, recurrence, start, start + timedelta(days=1)) == [expected]


def test_weekdays_only() -> None:
    monday = datetime(2026, 6, 1, tzinfo=PARIS)
    recurrence = Recurrence(weekdays=frozenset(range(5)), windows=parse_windows("07:00-09:00"))
    found = active_intervals(EPOCH, None, recurrence, monday, monday + timedelta(days=7))
    assert found == [(utc(2026, 6, d, 5, 0), utc(2026, 6, d, 7, 0)) for d in range(1, 6)]


def test_message_dates_clip_the_intervals() -> None:
    recurrence = Recurrence(windows=parse_windows("07:00-09:00"))
    found = active_intervals(
        utc(2026, 6, 1, 5, 30), utc(2026, 6, 2, 6, 0), recurrence, utc(2026, 5, 1), utc(2026, 7, 1)
    )
    assert found == [
        (utc(2026, 6, 1, 5, 30), utc(2026, 6, 1, 7, 0)),
        (utc(2026, 6, 2, 5, 0), utc(2026, 6, 2, 6, 0)),
    ]


def test_no_recurrence_is_the_whole_span() -> None:
    assert active_intervals(utc(2026, 6, 1), None, None, utc(2026, 5, 1), utc(2026, 6, 3)) == [
        (utc(2026, 6, 1), utc(2026, 6, 3))
    ]


@pytest.mark.parametrize(
    ("recurrence", "start", "end", "active"),
    [
        # Sundays only: none from Monday to Saturday, one once the Sunday is in.
        (
            Recurrence(weekdays=frozenset({6})),
            datetime(2026, 6, 1, tzinfo=PARIS),
            datetime(2026, 6, 7, tzinfo=PARIS),
            False,
        ),
        (
            Recurrence(weekdays=frozenset({6})),
            datetime(2026, 6, 1, tzinfo=PARIS),
            datetime(2026, 6, 8, tzinfo=PARIS),
            True,
        ),
        # A window wholly in the hour that spring forward skips, on that Sunday only, then a week on.
        (Recurrence(frozenset({6}), parse_windows("02:00-02:30")), *local_day(date(2026, 3, 29)), False),
        (Recurrence(frozenset({6}), parse_windows("02:00-02:30")), utc(2026, 3, 28), utc(2026, 4, 6), True),
        (
            Recurrence(only_during=("public-holidays",), except_during=("public-holidays",)),
            EPOCH,
            utc(2036, 1, 1),
            False,
        ),
        (Recurrence(only_during=("public-holidays",)), utc(2026, 12, 1), utc(2027, 1, 1), True),
    ],
)
def test_ever_active_agrees_with_the_intervals(
    recurrence: Recurrence, start: datetime, end: datetime, active: bool
) -> None:
    assert ever_active(EPOCH, None, recurrence, start, end) is active
    assert bool(active_intervals(EPOCH, None, recurrence, start, end)) is active


def test_parse_windows() -> None:
    assert parse_windows("07:00-09:00,16:00-19:00") == (DailyWindow(420, 540), DailyWindow(960, 1140))
    assert parse_windows("22:00-06:00") == (DailyWindow(0, 360), DailyWindow(1320, 1440))
    assert parse_windows("22:00-00:00") == (DailyWindow(1320, 1440),)
    assert parse_windows("08:00–12:00, 10:00-14:00") == (DailyWindow(480, 840),)
    assert parse_windows("0:00-24:00") == (DailyWindow(0, 1440),)


@pytest.mark.parametrize("text", ["", "7h-9h", "07:00-07:00", "25:00-26:00", "08:60-09:00", "22:00-24:30"])
def test_parse_windows_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_windows(text)


def test_window_must_not_cross_midnight() -> None:
    with pytest.raises(ValueError):
        DailyWindow(1320, 360)


def test_only_on_public_holidays() -> None:
    recurrence = Recurrence(windows=parse_windows("10:00-12:00"), only_during=("public-holidays",))
    found = active_intervals(EPOCH, None, recurrence, utc(2026, 12, 20), utc(2027, 1, 5))
    assert found == [
        (utc(2026, 12, 25, 9, 0), utc(2026, 12, 25, 11, 0)),
        (utc(2027, 1, 1, 9, 0), utc(2027, 1, 1, 11, 0)),
    ]


def test_except_during_school_holidays_zone_a() -> None:
    recurrence = Recurrence(except_during=("school-holidays-A",))
    start = datetime(2026, 12, 14, tzinfo=PARIS)
    found = active_intervals(EPOCH, None, recurrence, start, datetime(2027, 1, 6, tzinfo=PARIS))
    # Christmas holidays: Saturday 19 December 2026 to Sunday 3 January 2027 included.
    assert found == [
        (utc(2026, 12, 13, 23, 0), utc(2026, 12, 18, 23, 0)),
        (utc(2027, 1, 3, 23, 0), utc(2027, 1, 5, 23, 0)),
    ]


def test_only_public_holidays_except_school_holidays_is_never_at_christmas() -> None:
    recurrence = Recurrence(only_during=("public-holidays",), except_during=("school-holidays-A",))
    assert active_intervals(EPOCH, None, recurrence, utc(2026, 12, 20), utc(2027, 1, 5)) == []


def test_unknown_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="calendrier inconnu"):
        active_intervals(EPOCH, None, Recurrence(only_during=("school-holidays-D",)), EPOCH, utc(2026, 2, 1))


def test_calendars() -> None:
    assert is_calendar_day("public-holidays", date(2026, 12, 25))
    assert is_calendar_day("public-holidays", date(2026, 5, 25))  # Whit Monday
    assert not is_calendar_day("public-holidays", date(2026, 4, 3))
    assert not is_calendar_day("public-holidays", date(2026, 12, 26))
    assert is_calendar_day("public-holidays-alsace-moselle", date(2026, 4, 3))  # Good Friday
    assert is_calendar_day("public-holidays-alsace-moselle", date(2026, 12, 26))
    assert is_calendar_day("school-holidays-A", date(2026, 12, 24))
    assert not is_calendar_day("school-holidays-A", date(2026, 12, 18))


def test_school_calendar_coverage() -> None:
    first, last = calendar_coverage()
    assert (first.month, first.day, last.month, last.day) == (9, 1, 8, 31)
    assert first <= date(2026, 9, 1) and last >= date(2027, 8, 31)
    beyond = date(last.year + 1, 7, 20)  # mid-summer, yet unknown: not a holiday
    assert not is_calendar_day("school-holidays-A", beyond)


@pytest.mark.parametrize(
    ("recurrence", "text"),
    [
        (None, "en permanence"),
        (
            Recurrence(
                weekdays=frozenset(range(5)),
                windows=parse_windows("07:00-09:00,16:00-19:00"),
                except_during=("public-holidays",),
            ),
            "du lundi au vendredi, 07:00–09:00 et 16:00–19:00, sauf jours fériés",
        ),
        (Recurrence(), "tous les jours, toute la journée"),
        (Recurrence(weekdays=frozenset({5, 6})), "le week-end, toute la journée"),
        (Recurrence(weekdays=frozenset({2})), "le mercredi, toute la journée"),
        (
            Recurrence(weekdays=frozenset({0, 2, 4}), only_during=("school-holidays-A",)),
            "lundi, mercredi et vendredi, toute la journée, uniquement pendant les vacances scolaires (zone A)",
        ),
    ],
)
def test_describe(recurrence: Recurrence | None, text: str) -> None:
    assert describe(recurrence) == text
