"""Brightness schedules: the pure function with frozen times, the panel setting, and what gets published."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from astral import Observer
from astral.sun import sunrise, sunset
from flask import Flask

from controller.dates import PARIS
from controller.domain.errors import FieldError
from controller.domain.panels import get_panels, register_panel, validate_panel
from controller.publishing.schedules import build_schedules
from controller.scheduling.brightness import brightness_steps
from controller.storage.db import migrate
from controller.web.context import get_db
from programs.cli import main
from relais.wire import BrightnessStep
from tests.support.database import open_database_at

BOURG = (46.2, 5.22)  # Bourg-en-Bresse
NIGHT = 30


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def check_contiguous(steps: tuple, start: datetime, end: datetime) -> None:
    """Steps cover [start, end) without gap or overlap, and neighbours differ (they are merged)."""
    assert steps[0][0] == start and steps[-1][1] == end
    for (_, first_end, first_level), (second_start, _, second_level) in pairwise(steps):
        assert first_end == second_start and first_level != second_level
    assert all(begin < finish and 1 <= level <= 100 for begin, finish, level in steps)


def day_steps(steps: tuple) -> list[tuple[datetime, datetime]]:
    return [(begin, finish) for begin, finish, level in steps if level == 100]


def local(instant: datetime) -> str:
    return instant.astimezone(PARIS).strftime("%H:%M")


# --- the pure function -------------------------------------------------------------------------


def test_without_a_setting_the_panel_is_always_at_full_brightness() -> None:
    start, end = utc(2025, 3, 29, 13, 37, 12), utc(2025, 3, 31, 13, 37, 12)
    assert brightness_steps("", NIGHT, None, None, start, end) == ((start, end, 100),)
    assert brightness_steps("", NIGHT, None, None, start, start) == ()


def test_fixed_hours_follow_paris_time_across_the_spring_change() -> None:
    """30 March 2025, 02:00 → 03:00: 07:00 and 22:00 in Paris come an hour earlier in UTC."""
    start, end = paris(2025, 3, 29), paris(2025, 3, 31)
    steps = brightness_steps("07:00-22:00", NIGHT, None, None, start, end)
    check_contiguous(steps, start, end)
    assert steps == (
        (utc(2025, 3, 28, 23), utc(2025, 3, 29, 6), NIGHT),
        (utc(2025, 3, 29, 6), utc(2025, 3, 29, 21), 100),
        (utc(2025, 3, 29, 21), utc(2025, 3, 30, 5), NIGHT),  # a night of 8 hours, not 9
        (utc(2025, 3, 30, 5), utc(2025, 3, 30, 20), 100),
        (utc(2025, 3, 30, 20), utc(2025, 3, 30, 22), NIGHT),
    )


def test_fixed_hours_follow_paris_time_across_the_autumn_change() -> None:
    steps = brightness_steps("07:00-22:00", NIGHT, None, None, paris(2025, 10, 25), paris(2025, 10, 27))
    assert day_steps(steps) == [
        (utc(2025, 10, 25, 5), utc(2025, 10, 25, 20)),
        (utc(2025, 10, 26, 6), utc(2025, 10, 26, 21)),
    ]
    assert {(local(begin), local(finish)) for begin, finish in day_steps(steps)} == {("07:00", "22:00")}


def test_windows_over_midnight_and_a_full_night_level_are_merged() -> None:
    start, end = paris(2025, 6, 1), paris(2025, 6, 3)
    steps = brightness_steps("20:00-02:00", NIGHT, None, None, start, end)
    check_contiguous(steps, start, end)
    assert [(local(b), local(f), level) for b, f, level in steps] == [
        ("00:00", "02:00", 100),
        ("02:00", "20:00", NIGHT),
        ("20:00", "02:00", 100),  # one stretch over midnight, not two steps at the same level
        ("02:00", "20:00", NIGHT),
        ("20:00", "00:00", 100),
    ]
    assert brightness_steps("07:00-22:00", 100, None, None, start, end) == ((start, end, 100),)


def sun_day(day: date) -> tuple[datetime, datetime]:
    """The day step of a Bourg-en-Bresse panel on ``day``, looked at from midnight to midnight in Paris."""
    start = paris(day.year, day.month, day.day)
    steps = brightness_steps("sun", NIGHT, *BOURG, start, start + timedelta(days=1))
    check_contiguous(steps, start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC))
    assert [level for _, _, level in steps] == [NIGHT, 100, NIGHT]
    return day_steps(steps)[0]


def test_the_sun_rises_later_and_sets_earlier_in_winter_in_bourg_en_bresse() -> None:
    winter_rise, winter_set = sun_day(date(2025, 12, 21))
    summer_rise, summer_set = sun_day(date(2025, 6, 21))
    # Bourg-en-Bresse's sunrise and sunset at the solstices, Paris time, to within a few minutes
    # (the sun's upper edge on the horizon, refraction included, as almanacs count them).
    for instant, expected in (
        (winter_rise, paris(2025, 12, 21, 8, 18)),
        (winter_set, paris(2025, 12, 21, 16, 57)),
        (summer_rise, paris(2025, 6, 21, 5, 48)),
        (summer_set, paris(2025, 6, 21, 21, 34)),
    ):
        assert abs(instant - expected) < timedelta(minutes=5), (instant, expected)
    assert (summer_set - summer_rise) - (winter_set - winter_rise) > timedelta(hours=7)
    assert all(instant.microsecond == 0 for instant in (winter_rise, winter_set, summer_rise, summer_set))


def test_sunrise_moves_by_minutes_in_utc_over_the_spring_change_but_an_hour_on_the_clock() -> None:
    before_rise, before_set = sun_day(date(2025, 3, 29))
    after_rise, after_set = sun_day(date(2025, 3, 30))
    assert timedelta(0) < (before_rise + timedelta(days=1)) - after_rise < timedelta(minutes=3)
    assert (local(before_rise), local(after_rise)) == ("06:24", "07:22")
    assert (local(before_set), local(after_set)) == ("19:03", "20:05")


def test_a_horizon_starting_in_daylight_begins_at_full_brightness() -> None:
    start = utc(2025, 12, 21, 12, 0, 7)
    end = start + timedelta(hours=48)
    steps = brightness_steps("sun", 15, *BOURG, start, end)
    check_contiguous(steps, start, end)
    assert [level for _, _, level in steps] == [100, 15, 100, 15, 100]
    observer = Observer(*BOURG)
    for _, finish, level in steps[:-1]:
        event = sunset if level == 100 else sunrise
        assert abs(finish - event(observer, finish.date(), tzinfo=UTC)) < timedelta(seconds=1)


def test_bad_settings_are_value_errors() -> None:
    start, end = paris(2025, 6, 1), paris(2025, 6, 2)
    for setting, night, coordinates in (
        ("sun", NIGHT, (None, None)),
        ("sun", NIGHT, (46.2, None)),
        ("7h-22h", NIGHT, (None, None)),
        ("", 0, (None, None)),
        ("", 101, (None, None)),
    ):
        with pytest.raises(ValueError):
            brightness_steps(setting, night, *coordinates, start, end)


# --- the panel setting -------------------------------------------------------------------------

PANEL = {"id": "bourg-gare", "name": "Bourg — gare", "commune_insee": "01053", "profile": "led-amber-192x64"}


def test_a_panel_is_at_full_brightness_unless_told_otherwise() -> None:
    panel = validate_panel(PANEL)
    assert (panel.brightness, panel.night_brightness) == ("", 30)
    panel = validate_panel({**PANEL, "latitude": 46.2, "longitude": 5.22, "brightness": "sun"})
    assert (panel.brightness, panel.night_brightness) == ("sun", 30)
    panel = validate_panel({**PANEL, "brightness": "07:00-22:00", "night_brightness": 1})
    assert (panel.brightness, panel.night_brightness) == ("07:00-22:00", 1)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"brightness": "sun"}, "brightness"),
        ({"brightness": "sun", "latitude": 46.2}, "brightness"),
        ({"brightness": "sun", "latitude": 78.2, "longitude": 15.6}, "brightness"),
        ({"brightness": "7h-22h"}, "brightness"),
        ({"brightness": "25:00-26:00"}, "brightness"),
        ({"brightness": ",".join(f"{h:02d}:00-{h:02d}:30" for h in range(13))}, "brightness"),
        ({"brightness": 7}, "brightness"),
        ({"brightness": False}, "brightness"),
        ({"night_brightness": 0}, "night_brightness"),
        ({"night_brightness": 101}, "night_brightness"),
        ({"night_brightness": "30"}, "night_brightness"),
        ({"night_brightness": 30.5}, "night_brightness"),
        ({"night_brightness": True}, "night_brightness"),
    ],
)
def test_bad_brightness_settings_name_their_field(change: dict, field: str) -> None:
    with pytest.raises(FieldError) as refused:
        validate_panel({**PANEL, **change})
    assert refused.value.field == field


def test_panels_registered_before_brightness_existed_stay_at_full_brightness(tmp_path: Path) -> None:
    db = open_database_at(tmp_path / "old.db", "0003_scheduling")
    db["panels"].insert(
        {
            **PANEL,
            "profile": "led-amber-192x64",
            "kind": "led",
            "width": 192,
            "height": 64,
            "colour_mode": "amber",
            "created_at": 0,
            "last_seq": 0,
        }
    )
    db.conn.commit()
    assert migrate(db)[:2] == ["0004_brightness", "0005_panel_health"]
    panel = get_panels(db)["bourg-gare"]
    assert (panel.brightness, panel.night_brightness) == ("", 30)


def test_relais_panel_add_takes_the_brightness(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    spec = [
        "--id",
        "bourg-gare",
        "--name",
        "Gare",
        "--commune-insee",
        "01053",
        "--profile",
        "led-amber-192x64",
    ]
    assert main(["panel", "add", *data, *spec, "--brightness", "sun", "--latitude", "46.2"]) == 2
    assert "brightness" in capsys.readouterr().err
    sun = ["--brightness", "sun", "--latitude", "46.2", "--longitude", "5.22", "--night-brightness", "20"]
    assert main(["panel", "add", *data, *spec, *sun]) == 0
    capsys.readouterr()
    assert main(["panel", "list", *data, "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["brightness"], listed["night_brightness"]) == ("sun", 20)


# --- publishing --------------------------------------------------------------------------------


def test_each_panel_schedule_carries_its_own_brightness(app: Flask) -> None:
    now = paris(2025, 3, 29, 12).timestamp()
    with app.app_context():
        db = get_db()
        register_panel(db, {**PANEL, "brightness": "07:00-22:00", "night_brightness": 25})
        schedules = build_schedules(db, now)
    start = int(now)
    assert schedules["bourg-gare"].schedule.brightness == (
        BrightnessStep(start, int(utc(2025, 3, 29, 21).timestamp()), 100),
        BrightnessStep(int(utc(2025, 3, 29, 21).timestamp()), int(utc(2025, 3, 30, 5).timestamp()), 25),
        BrightnessStep(int(utc(2025, 3, 30, 5).timestamp()), int(utc(2025, 3, 30, 20).timestamp()), 100),
        BrightnessStep(int(utc(2025, 3, 30, 20).timestamp()), int(utc(2025, 3, 31, 5).timestamp()), 25),
        BrightnessStep(int(utc(2025, 3, 31, 5).timestamp()), start + 48 * 3600, 100),
    )
    # Registered without a setting: always full, and the schedule says nothing about brightness.
    assert schedules["bourg-entree-nord"].schedule.brightness == ()
    assert "brightness" not in schedules["bourg-entree-nord"].schedule.to_json()
