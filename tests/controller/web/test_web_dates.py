"""Dates the way a town hall writes them, in Paris time, across both daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.dates import format_day, format_duration, format_when

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("utc", "locale", "expected"),
    [
        (datetime(2026, 12, 21, 17, 0, tzinfo=UTC), "fr", f"lundi 21 décembre 2026, 18{NBSP}h"),
        (datetime(2026, 12, 21, 17, 30, tzinfo=UTC), "fr", f"lundi 21 décembre 2026, 18{NBSP}h{NBSP}30"),
        (datetime(2026, 12, 21, 17, 0, tzinfo=UTC), "en", f"Monday 21 December 2026, 6{NBSP}pm"),
        (datetime(2026, 12, 21, 17, 30, tzinfo=UTC), "en", f"Monday 21 December 2026, 6.30{NBSP}pm"),
        (datetime(2026, 12, 21, 23, 5, tzinfo=UTC), "fr", f"mardi 22 décembre 2026, 0{NBSP}h{NBSP}05"),
        (datetime(2026, 12, 21, 23, 5, tzinfo=UTC), "en", f"Tuesday 22 December 2026, 12.05{NBSP}am"),
        (datetime(2026, 12, 21, 11, 0, tzinfo=UTC), "en", f"Monday 21 December 2026, 12{NBSP}pm"),
        (datetime(2026, 12, 1, 8, 0, tzinfo=UTC), "fr", f"mardi 1er décembre 2026, 9{NBSP}h"),
        (datetime(2026, 12, 1, 8, 0, tzinfo=UTC), "en", f"Tuesday 1 December 2026, 9{NBSP}am"),
        # Summer time: UTC+2 from the last Sunday of March at 01:00 UTC…
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "fr", f"dimanche 29 mars 2026, 1{NBSP}h{NBSP}59"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "fr", f"dimanche 29 mars 2026, 3{NBSP}h"),
        (datetime(2026, 7, 14, 20, 0, tzinfo=UTC), "fr", f"mardi 14 juillet 2026, 22{NBSP}h"),
        # … until the last Sunday of October at 01:00 UTC: 2 h 30 happens twice.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "fr", f"dimanche 25 octobre 2026, 2{NBSP}h{NBSP}30"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "fr", f"dimanche 25 octobre 2026, 2{NBSP}h{NBSP}30"),
        (datetime(2026, 10, 25, 2, 0, tzinfo=UTC), "en", f"Sunday 25 October 2026, 3{NBSP}am"),
    ],
)
def test_dates_read_as_in_paris(utc: datetime, locale: str, expected: str) -> None:
    assert format_when(utc, locale) == expected


def test_timestamps_naive_times_and_locales_like_en_gb() -> None:
    moment = datetime(2026, 12, 21, 17, 0, tzinfo=UTC)
    assert format_when(moment.timestamp(), "fr") == f"lundi 21 décembre 2026, 18{NBSP}h"
    assert format_when(moment.replace(tzinfo=None), "en_GB") == f"Monday 21 December 2026, 6{NBSP}pm"
    assert format_day(moment, "fr_FR") == "lundi 21 décembre 2026"
    assert format_when(None) == ""


@pytest.mark.parametrize(
    ("seconds", "locale", "expected"),
    [
        (9000, "fr", f"2{NBSP}h{NBSP}30"),
        (9000, "en", f"2{NBSP}h{NBSP}30{NBSP}min"),
        (0, "fr", f"0{NBSP}h{NBSP}00"),
        (27, "fr", f"27{NBSP}s"),
        (89, "fr", f"0{NBSP}h{NBSP}01"),
        (36 * 3600 + 5 * 60, "fr", f"36{NBSP}h{NBSP}05"),
    ],
)
def test_time_on_air_reads_in_hours_and_minutes(seconds: int, locale: str, expected: str) -> None:
    assert format_duration(seconds, locale) == expected
