"""Problems found before a message is saved: one test per code, and a clean message has none."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType

from controller.dates import PARIS
from controller.scheduling import (
    Alert,
    Campaign,
    Consent,
    PanelInfo,
    Problem,
    Recurrence,
    ScheduledMessage,
    Targets,
    calendar_coverage,
    check_message,
    parse_windows,
)
from controller.scheduling.recurrence import local_to_utc

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
BOURG = Targets(communes=frozenset({"01053"}))
PANELS = [
    PanelInfo("bourg-gare", "01053", frozenset({"gare"})),
    PanelInfo("bourg-ecole", "01053", frozenset({"ecole"})),
    PanelInfo("amberieu-epaper", "01004", frozenset(), min_refresh_s=30, refresh_budget_per_day=200),
]


def draft(**changes: object) -> ScheduledMessage:
    values: dict[str, object] = {
        "key": "fete",
        "targets": BOURG,
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=7),
        "recurrence": None,
        "priority": "information",
        "duration_s": 10.0,
    }
    values.update(changes)
    return ScheduledMessage(**values)  # type: ignore[arg-type]


def codes(problems: list[Problem]) -> list[tuple[str, str, str]]:
    return [(problem.level, problem.code, problem.field) for problem in problems]


def check(
    message: ScheduledMessage,
    messages: Sequence[ScheduledMessage] = (),
    campaigns: Sequence[Campaign] = (),
    alerts: Sequence[Alert] = (),
) -> list[Problem]:
    return check_message(message, PANELS, list(messages), list(campaigns), list(alerts), NOW)


def test_a_clean_message_has_no_problem() -> None:
    assert check(draft()) == []


def test_no_panel_matches() -> None:
    problems = check(draft(targets=Targets(panels=frozenset({"ghost"}), communes=frozenset({"75056"}))))
    assert codes(problems) == [("error", "no_panel", "targets")]
    assert "Aucun panneau" in problems[0].message


def test_window_entirely_in_the_past() -> None:
    problems = check(draft(starts_at=NOW - timedelta(days=3), ends_at=NOW - timedelta(days=1)))
    assert codes(problems) == [("error", "in_the_past", "ends_at")]
    assert "30/11/2026 à 09:00" in problems[0].message  # Paris time


def test_never_active_before_its_end() -> None:
    recurrence = Recurrence(only_during=("public-holidays",), except_during=("school-holidays-A",))
    problems = check(draft(recurrence=recurrence, ends_at=datetime(2027, 1, 5, tzinfo=UTC)))
    assert codes(problems) == [("error", "never_active", "recurrence")]
    assert "uniquement les jours fériés" in problems[0].message


def test_never_active_when_open_ended() -> None:
    problems = check(draft(recurrence=Recurrence(weekdays=frozenset()), ends_at=None))
    assert codes(problems) == [("error", "never_active", "recurrence")]


def test_never_active_is_searched_a_year_ahead_whatever_the_end() -> None:
    recurrence = Recurrence(only_during=("public-holidays",), except_during=("public-holidays",))
    problems = check(draft(recurrence=recurrence, ends_at=NOW + timedelta(days=365 * 100)))
    assert codes(problems) == [("error", "never_active", "recurrence")]
    assert "entre le 01/12/2026 à 09:00 et le 02/12/2027 à 09:00" in problems[0].message


def conversions(work: Callable[[], object]) -> int:
    """How many Paris wall-clock times ``work`` turns into UTC: two per daily window expanded."""
    count = 0

    def profile(frame: FrameType, event: str, _: object) -> None:
        nonlocal count
        if event == "call" and frame.f_code is local_to_utc.__code__:
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def test_checking_a_message_expands_its_recurrence_over_the_horizon_not_its_span() -> None:
    """Checking a ten-year recurrence of many windows expanded all of it (7.6 s in the write
    transaction); it now costs what a week's does: the 48-hour horizon, and the first window found."""
    windows = parse_windows(",".join(f"{hour:02d}:00-{hour:02d}:30" for hour in range(24)))
    recurrence = Recurrence(windows=windows)
    work = {
        days: conversions(
            lambda days=days: check(draft(recurrence=recurrence, ends_at=NOW + timedelta(days=days)))
        )
        for days in (7, 3650)
    }
    horizon_days = 3  # 48 hours touch three Paris days
    assert work[3650] == work[7] <= (horizon_days + 1) * len(windows) * 2


def test_no_air_time_because_of_urgent_messages_and_alerts() -> None:
    urgent = draft(key="route-coupee", priority="urgent", targets=Targets(panels=frozenset({"bourg-gare"})))
    alert = Alert(
        "inondation", Targets(panels=frozenset({"bourg-ecole"})), NOW, NOW + timedelta(days=3), None, 12
    )
    problems = check(draft(), [urgent], alerts=[alert])
    assert codes(problems) == [("warning", "no_air_time", "priority")]
    # An alert that expires within the horizon leaves the school's panel room: no warning.
    short_alert = Alert("inondation", alert.targets, NOW, NOW + HOUR, None, 12)
    assert check(draft(), [urgent], alerts=[short_alert]) == []


def test_epaper_lengthens_the_dwell() -> None:
    problems = check(draft(targets=Targets(panels=frozenset({"amberieu-epaper"}))))
    assert codes(problems) == [("warning", "dwell_lengthened", "dwell_s")]
    assert "amberieu-epaper" in problems[0].message and "30\u00a0s" in problems[0].message


def test_school_holidays_beyond_the_known_years() -> None:
    last = calendar_coverage()[1]
    starts = datetime(last.year, 6, 1, tzinfo=PARIS)
    message = draft(
        starts_at=starts,
        ends_at=starts + timedelta(days=180),
        recurrence=Recurrence(except_during=("school-holidays-B",)),
    )
    problems = check(message)
    assert codes(problems) == [("warning", "school_calendar_not_covered", "recurrence")]
    assert f"{last:%d/%m/%Y}" in problems[0].message


def test_unknown_campaign_and_campaign_targets() -> None:
    problems = check(draft(campaign="inconnue"))
    assert ("error", "unknown_campaign", "campaign") in codes(problems)
    campaign = Campaign(
        "securite-routiere",
        NOW,
        NOW + timedelta(days=30),
        1 / 3,
        Targets(communes=frozenset({"01004"})),
        {"01053": Consent("accepted")},
    )
    # The message aims at Bourg, the campaign at Ambérieu: their intersection is empty.
    assert codes(check(draft(campaign=campaign.id), campaigns=[campaign])) == [
        ("error", "no_panel", "targets")
    ]


def test_the_message_being_edited_replaces_its_old_version() -> None:
    old = draft(priority="urgent", targets=Targets(panels=frozenset({"bourg-gare", "bourg-ecole"})))
    assert check(draft(), [old]) == []
