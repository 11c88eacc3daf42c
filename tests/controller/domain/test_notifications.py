"""The notification rules on their own: delays and hysteresis, flapping reported once, a broker outage
as one cause, faults, and messages that name every panel, in French first."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from controller.domain.errors import FieldError
from controller.domain.notifications import (
    FAULT,
    FAULT_CLEARED,
    FLAPPING,
    NAMED_IN_A_GROUP,
    OFFLINE,
    ONLINE,
    Conditions,
    Notice,
    PanelCard,
    Seen,
    Watch,
    compose,
    step,
)

RULES = Conditions(offline_after_s=60, recovery_s=30, flap_spells=3)
T0 = 1_800_000_000.0


def run(
    timeline: list[tuple[float, Mapping[str, Seen]]], broker_down: dict[float, float] | None = None
) -> list[tuple[float, Notice]]:
    """Step through ``(seconds after T0, what is seen)``; every notice with when it came."""
    memory: dict[str, Watch] = {}
    told = []
    for at, seen in timeline:
        memory, notices = step(RULES, memory, seen, T0 + at, (broker_down or {}).get(at))
        told += [(at, notice) for notice in notices]
    return told


def every(
    seconds: float, until: float, seen: Mapping[str, Seen], start: float = 0
) -> list[tuple[float, Mapping[str, Seen]]]:
    at, found = start, []
    while at < until:
        found.append((at, seen))
        at += seconds
    return found


def test_offline_only_after_the_delay_and_back_only_after_the_recovery() -> None:
    up, down = {"p": Seen(True)}, {"p": Seen(False)}
    told = run(every(5, 20, up) + every(5, 120, down, start=20) + every(5, 200, up, start=120))
    assert [(at, notice.kind, notice.since) for at, notice in told] == [
        (80, OFFLINE, T0 + 20),  # dark at 20, told at 20 + 60
        (150, ONLINE, T0 + 120),  # back at 120, told at 120 + 30
    ]


def test_a_short_drop_or_a_short_return_says_nothing() -> None:
    up, down = {"p": Seen(True)}, {"p": Seen(False)}
    assert run(every(5, 20, up) + every(5, 70, down, start=20) + every(5, 100, up, start=70)) == []
    told = run(every(5, 100, down) + every(5, 110, up, start=100) + every(5, 300, down, start=110))
    assert [notice.kind for _, notice in told] == [OFFLINE]  # the 10 s back were not a return


def test_a_flapping_panel_is_reported_once_until_it_calms_down() -> None:
    timeline = [
        (float(at), {"p": Seen(at % 20 < 10, offline_spells=min(at // 20, 9))}) for at in range(0, 600, 5)
    ]
    told = run(timeline)
    assert [(at, notice.kind, notice.detail) for at, notice in told] == [(60, FLAPPING, "3")]
    calm = run([*timeline, (600.0, {"p": Seen(True)}), (605.0, {"p": Seen(False, offline_spells=3)})])
    assert [notice.kind for _, notice in calm] == [FLAPPING, FLAPPING]


def test_a_broker_outage_darkens_every_online_panel_since_the_link_went_down() -> None:
    fleet = {f"p{n:02d}": Seen(True) for n in range(50)} | {"gone": Seen(False)}
    outage = dict.fromkeys((float(at) for at in range(20, 200, 5)), T0 + 18)
    told = run(every(5, 200, fleet), outage)
    offline = [(at, notice) for at, notice in told if notice.kind == OFFLINE]
    assert [(at, notice.broker_down) for at, notice in offline if notice.panel_id == "gone"] == [(60, False)]
    dark = [(at, notice) for at, notice in offline if notice.panel_id != "gone"]
    assert len(dark) == 50 and {at for at, _ in dark} == {80}  # 18 + 60, all in one step: one message
    assert all(notice.broker_down and notice.since == T0 + 18 for _, notice in dark)


def test_faults_started_and_cleared_on_online_panels() -> None:
    told = run(
        [
            (0, {"p": Seen(True)}),
            (5, {"p": Seen(True, ("display", "disk"))}),
            (10, {"p": Seen(True, ("disk",))}),
        ]
    )
    assert [(notice.kind, notice.detail) for _, notice in told] == [
        (FAULT, "display"),
        (FAULT, "disk"),
        (FAULT_CLEARED, "display"),
    ]


def test_conditions_change_field_by_field_and_refuse_what_is_wrong() -> None:
    changed = Conditions.from_json({"offline_after_s": 300, "back_online": False})
    assert changed.to_json() == {**Conditions().to_json(), "offline_after_s": 300, "back_online": False}
    for body, field in (
        ({"offline_after_s": 0}, "offline_after_s"),
        ({"recovery_s": "2"}, "recovery_s"),
        ({"faults": 1}, "faults"),
        ({"flap_spells": True}, "flap_spells"),
        ({"colour": "red"}, "colour"),
    ):
        with pytest.raises(FieldError) as refused:
            Conditions.from_json(body)
        assert refused.value.field == field


def card(panel_id: str) -> PanelCard:
    return PanelCard(
        panel_id,
        f"Panneau {panel_id}",
        "Bourg-en-Bresse",
        "place Bernard",
        T0 - 3600,
        f"https://relais.example/parc/{panel_id}",
    )


def test_one_panel_one_message_many_panels_one_grouped_message() -> None:
    (alone,) = compose([Notice(OFFLINE, "gare", T0 - 900)], {"gare": card("gare")}, T0)
    assert alone.subject == "Relais\u00a0: Panneau hors ligne : Panneau gare / Panel offline: Panneau gare"
    french, english = alone.text.split("— English —")
    assert "Panneau gare (Bourg-en-Bresse, place Bernard)\u00a0: hors ligne depuis" in french
    assert "vu pour la dernière fois" in french and "https://relais.example/parc/gare" in french
    assert "offline since" in english and "last seen" in english

    many = [Notice(OFFLINE, f"p{n:03d}", T0 - 900, broker_down=True) for n in range(NAMED_IN_A_GROUP + 5)]
    (grouped,) = compose(many, {n.panel_id: card(n.panel_id) for n in many}, T0)
    assert grouped.subject.startswith(f"Relais\u00a0: {NAMED_IN_A_GROUP + 5} panneaux hors ligne")
    assert grouped.broker_down and len(grouped.panel_ids) == NAMED_IN_A_GROUP + 5
    assert "n’entend plus son broker" in grouped.text and "… et 5 autres" in grouped.text
    assert grouped.text.count("https://relais.example/parc/") == 2 * NAMED_IN_A_GROUP


def test_behind_only_while_online_and_again_after_catching_up() -> None:
    rules = Conditions(behind_after_s=60)
    timeline = [
        (0, Seen(True, behind=True)),
        (30, Seen(False, behind=True)),  # offline: its own notice, not this one
        (40, Seen(True, behind=True)),
        (100, Seen(True, behind=True)),
        (110, Seen(True)),  # caught up
        (120, Seen(True, behind=True)),
        (180, Seen(True, behind=True)),
    ]
    memory: dict[str, Watch] = {}
    told = []
    for at, seen in timeline:
        memory, notices = step(rules, memory, {"p": seen}, T0 + at)
        told += [(at, notice.kind, notice.since) for notice in notices]
    assert told == [(100, "behind", T0 + 40), (180, "behind", T0 + 120)]


def test_each_running_alert_a_panel_has_not_confirmed_is_told_once() -> None:
    rules = Conditions(alert_confirm_s=60)
    memory: dict[str, Watch] = {}
    told = []
    for at, alerts in (
        (10, ((7, T0),)),
        (61, ((7, T0),)),
        (90, ((7, T0), (8, T0 + 30))),
        (95, ((8, T0 + 30),)),
    ):
        memory, notices = step(rules, memory, {"p": Seen(True, unconfirmed_alerts=alerts)}, T0 + at)
        told += [(at, notice.detail) for notice in notices]
    assert told == [(61, "7"), (90, "8")]
    assert memory["p"].reported_alerts == (8,)  # alert 7 ended: forgotten
