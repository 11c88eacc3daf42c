"""Rules as data: matching an alert, the wording per kind of panel in each phase (« à partir de mardi
6 h », « jusqu’à mercredi 8 h », nothing after), Météo-France's shipped defaults, bad rules refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from controller.official.cap import Alert, read_cap
from controller.official.rules import (
    DeploymentPolicy,
    Match,
    RuleError,
    RuleTargets,
    default_rules,
    first_rule,
    period,
    rule_from_mapping,
    rules_from_toml,
    wording,
)

DOCUMENTS = Path(__file__).with_name("documents")
ORANGE = read_cap((DOCUMENTS / "meteo-france-orange-snow-ice-ain.xml").read_bytes())
FLOOD = read_cap((DOCUMENTS / "prefecture-flood-polygon-cap11.xml").read_bytes())
NBSP = "\u00a0"
MONDAY_8H = datetime(2026, 12, 7, 7, tzinfo=UTC)  # before the onset, Tuesday 6 h Paris time
TUESDAY_9H = datetime(2026, 12, 8, 8, tzinfo=UTC)  # during, until Wednesday 8 h
WEDNESDAY_9H = datetime(2026, 12, 9, 8, tzinfo=UTC)  # after


def with_level(alert: Alert, value: str) -> Alert:
    source = (DOCUMENTS / "meteo-france-orange-snow-ice-ain.xml").read_text(encoding="utf-8")
    return read_cap(source.replace("3; orange; Severe", value).encode())


def test_default_rules_are_meteo_france_orange_and_red_with_approval_in_15_minutes() -> None:
    (rule,) = default_rules()
    assert rule.match.senders == ("vigilance@meteo.fr",)
    assert rule.match.awareness_levels == (3, 4)
    assert rule.targets == RuleTargets(alert_area=True)
    assert rule.deployment == DeploymentPolicy(
        mode="approval_timeout", priority="emergency", timeout_minutes=15
    )
    assert first_rule(default_rules(), ORANGE) is rule
    assert first_rule(default_rules(), with_level(ORANGE, "4; red; Extreme")) is rule
    # Yellow is ignored: no rule, so no panel.
    assert first_rule(default_rules(), with_level(ORANGE, "2; yellow; Moderate")) is None
    # Another sender's alerts are not Météo-France's vigilance.
    assert first_rule(default_rules(), FLOOD) is None


def test_wording_per_kind_of_panel_and_phase() -> None:
    (rule,) = default_rules()
    assert wording(rule, ORANGE, "led-amber-96x16", MONDAY_8H) == (
        f"Vigilance orange neige-verglas à partir de mardi 6{NBSP}h"
    )
    assert wording(rule, ORANGE, "led-red-192x64", TUESDAY_9H) == (
        f"Vigilance orange neige-verglas jusqu’à mercredi 8{NBSP}h"
    )
    assert wording(rule, ORANGE, "epaper-bw-800x480", TUESDAY_9H) == (
        f"Vigilance orange neige-verglas\nJusqu’à mercredi 8{NBSP}h\n"
        "Limitez vos déplacements et renseignez-vous avant de partir."
    )
    # After expires: nothing to show.
    assert wording(rule, ORANGE, "led-amber-96x16", WEDNESDAY_9H) is None
    # A kind of panel the rule has no wording for.
    assert wording(rule, ORANGE, "lcd-1920x1080", TUESDAY_9H) is None


def test_period_in_paris_time() -> None:
    assert ORANGE.info is not None
    assert period(ORANGE.info, datetime(2026, 12, 8, 4, tzinfo=UTC)) == f"à partir de 6{NBSP}h"  # same day
    assert period(ORANGE.info, datetime(2026, 11, 28, 12, tzinfo=UTC)) == (
        f"à partir de mardi 8 décembre 2026, 6{NBSP}h"  # more than a week ahead: the date
    )
    assert FLOOD.info is not None  # no onset: under way at once
    assert period(FLOOD.info, MONDAY_8H) == f"jusqu’à 20{NBSP}h"
    no_end = replace(FLOOD.info, expires=None)
    assert period(no_end, MONDAY_8H) == "en cours"


def rule_table(**changes: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": "Crues de l'Ain",
        "match": {"events": ["crue"], "severities": ["Severe", "Extreme"], "categories": ["Met"]},
        "targets": {"alert_area": True, "tags": ["bord-de-riviere"]},
        "deployment": {"mode": "automatic", "priority": "urgent"},
        "wording": {"led": "{event} : {headline}", "epaper": "{headline}\n{period}\n{instruction}"},
    }
    for path, value in changes.items():
        *tables, field = path.split("__")
        place = table
        for name in tables:
            place = place[name]
        if value is None:
            del place[field]
        else:
            place[field] = value
    return table


def test_matching_on_each_field() -> None:
    rule = rule_from_mapping(rule_table())
    assert rule.applies_to(FLOOD, FLOOD.infos[0])
    assert rule.wording_for("led-amber-96x16") == "{event} : {headline}"
    info = FLOOD.infos[0]
    misses = {
        "senders": Match(senders=("vigilance@meteo.fr",)),
        "events": Match(events=("orage",)),
        "categories": Match(categories=("Geo",)),
        "awareness_types": Match(awareness_types=(2,)),
        "awareness_levels": Match(awareness_levels=(3,)),
        "severities": Match(severities=("Extreme",)),
        "urgencies": Match(urgencies=("Future",)),
        "certainties": Match(certainties=("Likely",)),
        "response_types": Match(response_types=("Shelter",)),
    }
    for field, match in misses.items():
        assert not replace(rule, match=match).applies_to(FLOOD, info), field
    hits = Match(
        senders=("alerte@ain.gouv.fr",),
        events=("REYSSOUZE",),
        categories=("Safety",),
        severities=("Severe",),
        urgencies=("Immediate",),
        certainties=("Observed",),
        response_types=("Avoid",),
    )
    assert replace(rule, match=hits).applies_to(FLOOD, info)
    assert ORANGE.info is not None
    assert replace(rule, match=Match(awareness_types=(2,), awareness_levels=(3,))).applies_to(
        ORANGE, ORANGE.info
    )


def test_first_matching_rule_wins_in_order() -> None:
    rules = rules_from_toml(
        """
        [[rule]]
        name = "Rouge"
        match = { awareness_levels = [4] }
        deployment = { mode = "automatic", priority = "emergency" }
        wording = { led = "ROUGE {hazard}" }

        [[rule]]
        name = "Orange"
        match = { awareness_levels = [3] }
        deployment = { mode = "approval", priority = "urgent" }
        wording = { led = "{level} {hazard}", "led-rgb" = "{headline}" }
        """
    )
    chosen = first_rule(rules, ORANGE)
    assert chosen is not None and chosen.name == "Orange"
    assert chosen.wording_for("led-rgb-64x32") == "{headline}"  # the longest family wins
    assert chosen.wording_for("led-amber-96x16") == "{level} {hazard}"
    red = first_rule(rules, with_level(ORANGE, "4; red; Extreme"))
    assert red is not None and red.name == "Rouge"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, r"rule\.name must be a non-empty text"),
        ({"deployment__mode": "sometimes"}, r"rule\.deployment\.mode must be one of automatic"),
        ({"deployment__mode": "approval_timeout"}, r"rule\.deployment\.timeout_minutes is needed"),
        ({"deployment__timeout_minutes": 15}, r"timeout_minutes is only for approval_timeout"),
        (
            {"deployment__mode": "approval_timeout", "deployment__timeout_minutes": 0},
            r"rule\.deployment\.timeout_minutes must be a positive whole number",
        ),
        ({"deployment__priority": "low"}, r"rule\.deployment\.priority must be one of emergency, urgent"),
        ({"match__severities": ["Grave"]}, r"rule\.match\.severities has 'Grave'"),
        ({"match__awareness_levels": ["orange"]}, r"rule\.match\.awareness_levels must be a list of whole"),
        ({"match__colour": ["orange"]}, r"rule\.match\.colour is not a known field"),
        ({"match__events": "crue"}, r"rule\.match\.events must be a list of texts"),
        ({"wording": {}}, r"rule\.wording needs at least one kind of panel"),
        ({"wording__led": "{event} {colour}"}, r"rule\.wording\.led uses \{colour\}"),
        ({"wording__led": "{event"}, r"rule\.wording\.led is not a valid wording"),
        ({"targets__alert_area": "yes"}, r"rule\.targets\.alert_area must be true or false"),
        ({"targets__alert_area": False, "targets__tags": None}, r"rule\.targets reach no panel"),
        ({"targets": []}, r"rule\.targets must be a table"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        rule_from_mapping(rule_table(**changes))


def test_bad_toml_is_refused() -> None:
    with pytest.raises(RuleError, match="not valid TOML"):
        rules_from_toml("[[rule]\nname=")
    with pytest.raises(RuleError, match=r"rules\[1\]\.deployment\.mode"):
        rules_from_toml(
            '[[rule]]\nname = "a"\ndeployment = { mode = "automatic", priority = "urgent" }\n'
            'wording = { led = "{event}" }\n'
            '[[rule]]\nname = "b"\nwording = { led = "{event}" }\n'
        )
