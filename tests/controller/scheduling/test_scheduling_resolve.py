"""What panels show: priorities, campaigns and their share, quiet hours, e-paper limits, segments."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from controller.scheduling import (
    Alert,
    Campaign,
    Consent,
    PanelInfo,
    PanelSchedule,
    Recurrence,
    ScheduledMessage,
    Targets,
    air_time,
    parse_windows,
    playlist_at,
    resolve,
)
from controller.scheduling.model import Priority

NOW = datetime(2026, 6, 2, 6, 0, tzinfo=UTC)  # Tuesday 2 June 2026, 08:00 in Paris
HOUR = timedelta(hours=1)
BOURG = "01053"
AMBERIEU = "01004"
PANEL = PanelInfo("bourg-gare", BOURG, frozenset({"gare"}))
EVERYWHERE = Targets(departments=frozenset({"01"}))


def message(
    key: str,
    priority: Priority = "information",
    *,
    duration_s: float = 10,
    starts_at: datetime = NOW - HOUR,
    ends_at: datetime | None = None,
    windows: str | None = None,
    campaign: str | None = None,
    targets: Targets = EVERYWHERE,
    paused: bool = False,
) -> ScheduledMessage:
    recurrence = None if windows is None else Recurrence(windows=parse_windows(windows))
    return ScheduledMessage(
        key, targets, starts_at, ends_at, recurrence, priority, duration_s, campaign=campaign, paused=paused
    )


def campaign(consents: dict[str, Consent], share: float = 1 / 3, **changes: object) -> Campaign:
    values: dict[str, object] = {
        "id": "securite-routiere",
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=30),
        "share": share,
        "targets": EVERYWHERE,
        "consents": consents,
    }
    values.update(changes)
    return Campaign(**values)  # type: ignore[arg-type]


def keys_at(schedule: PanelSchedule, at: datetime) -> list[str]:
    segment = playlist_at(schedule, at)
    assert segment is not None
    return [entry.key for entry in segment.playlist]


def keys_anywhere(schedule: PanelSchedule) -> set[str]:
    return {entry.key for segment in schedule.segments for entry in segment.playlist}


def one(
    panel: PanelInfo = PANEL,
    messages: Sequence[ScheduledMessage] = (),
    campaigns: Sequence[Campaign] = (),
    alerts: Sequence[Alert] = (),
) -> PanelSchedule:
    return resolve([panel], list(messages), list(campaigns), list(alerts), NOW)[panel.id]


def test_prevention_before_information_then_by_key() -> None:
    schedule = one(messages=[message("a-fete"), message("z-verglas", "prevention"), message("b-marche")])
    assert keys_at(schedule, NOW) == ["z-verglas", "a-fete", "b-marche"]


def test_paused_and_untargeted_messages_are_not_shown() -> None:
    elsewhere = Targets(communes=frozenset({AMBERIEU}))
    schedule = one(messages=[message("pause", paused=True), message("ailleurs", targets=elsewhere)])
    assert [(s.playlist, s.blank) for s in schedule.segments] == [((), False)]


def test_urgent_pre_empts_until_it_ends() -> None:
    messages = [message("fete"), message("route-coupee", "urgent", ends_at=NOW + 3 * HOUR)]
    schedule = one(messages=messages)
    assert keys_at(schedule, NOW) == ["route-coupee"]
    assert keys_at(schedule, NOW + 3 * HOUR - timedelta(seconds=1)) == ["route-coupee"]
    assert keys_at(schedule, NOW + 3 * HOUR) == ["fete"]


def test_alert_pre_empts_everything_and_ends_when_cancelled_or_expired() -> None:
    alerts = [
        Alert("inondation", EVERYWHERE, NOW + HOUR, NOW + 5 * HOUR, NOW + 2 * HOUR, 15),
        Alert("canicule", EVERYWHERE, NOW + HOUR, NOW + 4 * HOUR, None, 15),
    ]
    messages = [message("fete"), message("route-coupee", "urgent", ends_at=NOW + 10 * HOUR)]
    schedule = one(messages=messages, alerts=alerts)
    assert keys_at(schedule, NOW) == ["route-coupee"]
    assert keys_at(schedule, NOW + HOUR) == ["canicule", "inondation"]
    assert keys_at(schedule, NOW + 2 * HOUR) == ["canicule"]  # cancelled
    assert keys_at(schedule, NOW + 4 * HOUR) == ["route-coupee"]  # expired
    assert keys_at(schedule, NOW + 10 * HOUR) == ["fete"]


def test_emergency_message_is_treated_like_an_alert() -> None:
    messages = [message("fete"), message("urgent", "urgent"), message("evacuation", "emergency")]
    alerts = [Alert("inondation", EVERYWHERE, NOW - HOUR, NOW + HOUR, None, 15)]
    schedule = one(messages=messages, alerts=alerts)
    assert keys_at(schedule, NOW) == ["evacuation", "inondation"]
    assert keys_at(schedule, NOW + HOUR) == ["evacuation"]


CONSENTS = {
    BOURG: Consent("accepted"),
    AMBERIEU: Consent("accepted", hours=Recurrence(windows=parse_windows("07:00-09:00"))),
    "01002": Consent("pending"),
    "01001": Consent("declined"),
}


@pytest.mark.parametrize("commune", ["01001", "01002", "01999"])
def test_campaign_not_shown_without_acceptance(commune: str) -> None:
    panel = PanelInfo("p", commune)
    messages = [message("fete"), message("ceinture", campaign="securite-routiere")]
    schedule = one(panel, messages, [campaign(CONSENTS)])
    assert keys_anywhere(schedule) == {"fete"}


def test_campaign_only_in_the_communes_hours() -> None:
    panel = PanelInfo("amberieu-mairie", AMBERIEU)
    messages = [message("fete"), message("ceinture", campaign="securite-routiere")]
    schedule = one(panel, messages, [campaign(CONSENTS)])
    with_campaign = [s for s in schedule.segments if "ceinture" in {e.key for e in s.playlist}]
    # 07:00–09:00 in Paris (05:00–07:00 UTC), from now (08:00) for 48 h.
    assert [(s.start, s.end) for s in with_campaign] == [
        (NOW, NOW + HOUR),
        (NOW + 23 * HOUR, NOW + 25 * HOUR),
        (NOW + 47 * HOUR, NOW + 48 * HOUR),
    ]
    assert keys_at(schedule, NOW + 2 * HOUR) == ["fete"]


def test_campaign_stopped_or_outside_its_dates_or_targets_is_not_shown() -> None:
    messages = [message("fete"), message("ceinture", campaign="securite-routiere")]
    stopped = campaign(CONSENTS, stopped=True)
    later = campaign(CONSENTS, starts_at=NOW + 2 * HOUR)
    elsewhere = campaign(CONSENTS, targets=Targets(departments=frozenset({"2A"})))
    assert keys_anywhere(one(PANEL, messages, [stopped])) == {"fete"}
    assert keys_anywhere(one(PANEL, messages, [elsewhere])) == {"fete"}
    assert keys_anywhere(one(PANEL, messages, [])) == {"fete"}
    schedule = one(PANEL, messages, [later])
    assert keys_at(schedule, NOW) == ["fete"]
    assert "ceinture" in keys_at(schedule, NOW + 2 * HOUR)


def test_simulated_day_with_a_campaign_at_one_third() -> None:
    messages = [
        message("fete", duration_s=10),
        message("marche", duration_s=10),
        message("ceinture", duration_s=8, campaign="securite-routiere"),
    ]
    schedule = one(PANEL, messages, [campaign(CONSENTS, share=1 / 3)])
    seconds = air_time(schedule, {"fete": 10, "marche": 10, "ceinture": 8}, NOW, NOW + timedelta(days=1))
    assert sum(seconds.values()) == pytest.approx(86400)
    assert seconds["ceinture"] / 86400 == pytest.approx(1 / 3, rel=0.05)
    assert seconds["fete"] == pytest.approx(seconds["marche"], rel=0.01)
    playlist = [entry.key for entry in schedule.segments[0].playlist]
    positions = [i for i, key in enumerate(playlist) if key == "ceinture"]
    assert len(positions) > 1
    assert all(b - a > 1 for a, b in itertools.pairwise(positions))  # never two in a row


@pytest.mark.parametrize(
    ("share", "max_share", "expected"), [(0.5, 0.2, 0.2), (0.25, None, 0.25), (0.1, None, 0.1)]
)
def test_campaign_share_capped_by_the_commune(share: float, max_share: float | None, expected: float) -> None:
    consents = {BOURG: Consent("accepted", max_share=max_share)}
    messages = [
        message("fete", duration_s=7),
        message("ceinture", duration_s=12, campaign="securite-routiere"),
    ]
    schedule = one(PANEL, messages, [campaign(consents, share=share)])
    seconds = air_time(schedule, {"fete": 7, "ceinture": 12}, NOW, NOW + timedelta(days=1))
    assert seconds["ceinture"] / 86400 == pytest.approx(expected, rel=0.05)


def test_two_campaigns_add_up() -> None:
    consents = {BOURG: Consent("accepted")}
    first = campaign(consents, share=0.3)
    second = campaign(consents, share=0.2, id="vacances-tranquilles")
    messages = [
        message("fete", duration_s=10),
        message("ceinture", duration_s=8, campaign=first.id),
        message("cambriolage", duration_s=12, campaign=second.id),
    ]
    schedule = one(PANEL, messages, [first, second])
    seconds = air_time(schedule, {"fete": 10, "ceinture": 8, "cambriolage": 12}, NOW, NOW + timedelta(days=1))
    assert seconds["ceinture"] / 86400 == pytest.approx(0.3, rel=0.05)
    assert seconds["cambriolage"] / 86400 == pytest.approx(0.2, rel=0.05)


def test_only_campaign_or_only_commune_messages_take_all_the_time() -> None:
    only_campaign = one(PANEL, [message("ceinture", campaign="securite-routiere")], [campaign(CONSENTS)])
    assert keys_at(only_campaign, NOW) == ["ceinture"]
    only_commune = one(PANEL, [message("fete"), message("marche")], [campaign(CONSENTS)])
    assert keys_at(only_commune, NOW) == ["fete", "marche"]


def test_quiet_hours_blank_except_alerts() -> None:
    panel = PanelInfo("bourg-gare", BOURG, quiet_hours=parse_windows("23:00-06:00"))
    # 23:00 Paris is 21:00 UTC in June; the alert runs 22:00–23:00 UTC, inside quiet hours.
    alert = Alert("inondation", EVERYWHERE, NOW + 16 * HOUR, NOW + 17 * HOUR, None, 15)
    schedule = one(panel, [message("fete")], alerts=[alert])
    quiet = playlist_at(schedule, NOW + 15 * HOUR)
    assert quiet is not None and quiet.blank and quiet.playlist == ()
    assert quiet.start == NOW + 15 * HOUR
    loud = playlist_at(schedule, NOW + 16 * HOUR)
    assert loud is not None and not loud.blank and [e.key for e in loud.playlist] == ["inondation"]
    after = playlist_at(schedule, NOW + 17 * HOUR)
    assert after is not None and after.blank and after.end == NOW + 22 * HOUR
    assert keys_at(schedule, NOW + 22 * HOUR) == ["fete"]


def test_epaper_minimum_refresh_lengthens_short_items() -> None:
    panel = PanelInfo("amberieu-epaper", AMBERIEU, min_refresh_s=30)
    schedule = one(panel, [message("fete", duration_s=10), message("marche", duration_s=45)])
    segment = schedule.segments[0]
    assert [(e.key, e.dwell_s) for e in segment.playlist] == [("fete", 30.0), ("marche", None)]
    assert any("30 s au moins" in note for note in schedule.notes)


def test_epaper_refresh_budget_lengthens_dwells_with_a_note() -> None:
    panel = PanelInfo("amberieu-epaper", AMBERIEU, min_refresh_s=30, refresh_budget_per_day=96)
    messages = [message("fete", duration_s=30), message("marche", duration_s=60)]
    schedule = one(panel, messages)
    (segment,) = schedule.segments
    dwells = {e.key: e.dwell_s for e in segment.playlist}
    assert dwells["fete"] is not None and dwells["marche"] is not None
    assert dwells["marche"] == pytest.approx(2 * dwells["fete"], rel=0.01)  # proportions kept
    cycle = dwells["fete"] + dwells["marche"]
    assert 86400 / cycle * 2 <= 96  # changes per day
    assert 86400 / cycle * 2 >= 90  # and not much slower than needed
    assert any("Budget de rafraîchissements" in note for note in schedule.notes)
    assert not one(PanelInfo("led", AMBERIEU), messages).notes


def test_segments_contiguous_merged_and_at_every_change() -> None:
    panel = PanelInfo("bourg-gare", BOURG, quiet_hours=parse_windows("23:00-06:00"))
    messages = [
        message("matin", windows="07:00-09:00,16:00-19:00"),
        message("toujours", "prevention"),
        message("midi", windows="12:00-14:00", ends_at=NOW + 30 * HOUR),
        message("urgent", "urgent", starts_at=NOW + 5 * HOUR, ends_at=NOW + 6 * HOUR),
        message("ceinture", campaign="securite-routiere"),
    ]
    consents = {BOURG: Consent("accepted", hours=Recurrence(windows=parse_windows("10:00-20:00")))}
    alerts = [Alert("orage", EVERYWHERE, NOW + 20 * HOUR, NOW + 40 * HOUR, NOW + 21 * HOUR, 12)]
    schedule = one(panel, messages, [campaign(consents)], alerts)
    segments = schedule.segments
    assert segments[0].start == NOW and segments[-1].end == NOW + 48 * HOUR
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start
        assert (before.playlist, before.blank) != (after.playlist, after.blank)
    starts = {segment.start for segment in segments}
    # Window edges 06:00 (quiet), 07:00, 09:00, 10:00 (consent), 12:00, 14:00, 16:00, 19:00,
    # 20:00 (consent) and 23:00 (quiet) in Paris, in UTC:
    for day in (2, 3, 4):
        for hour in (4, 5, 7, 8, 10, 12, 14, 17, 18, 21):
            moment = datetime(2026, 6, day, hour, tzinfo=UTC)
            if NOW < moment < NOW + 48 * HOUR:
                assert moment in starts, moment
    assert {NOW + 5 * HOUR, NOW + 6 * HOUR, NOW + 20 * HOUR, NOW + 21 * HOUR} <= starts
    assert playlist_at(schedule, NOW - timedelta(seconds=1)) is None
    assert playlist_at(schedule, NOW + 48 * HOUR) is None


def test_same_inputs_same_output_whatever_the_order() -> None:
    panels = [PanelInfo(f"p{i}", [BOURG, AMBERIEU, "01002"][i % 3], frozenset({"gare"})) for i in range(6)]
    messages = [
        message(f"m{i}", ["information", "prevention"][i % 2], windows=["07:00-09:00", "08:00-20:00"][i % 2])
        for i in range(8)
    ] + [message("ceinture", campaign="securite-routiere")]
    campaigns = [campaign(CONSENTS)]
    alerts = [Alert("orage", Targets(panels=frozenset({"p1"})), NOW + HOUR, NOW + 2 * HOUR, None, 12)]
    first = resolve(panels, messages, campaigns, alerts, NOW)
    assert resolve(panels, messages, campaigns, alerts, NOW) == first
    shuffled = list(messages)
    random.Random(4).shuffle(shuffled)
    assert resolve(panels[::-1], shuffled, campaigns, alerts, NOW) == first


def test_invalid_durations_and_shares_are_refused() -> None:
    with pytest.raises(ValueError, match="durée"):
        message("vide", duration_s=0)
    with pytest.raises(ValueError, match="durée"):
        Alert("vide", EVERYWHERE, NOW, NOW + HOUR, None, 0)
    with pytest.raises(ValueError, match="part"):
        campaign(CONSENTS, share=1.5)
