"""A warning's whole life through take_in, as the polling will drive it: an orange snow-ice warning for
the Ain is proposed for approval with a 15-minute timeout, its Update replaces it with new wording, its
AllClear ends it, a second copy changes nothing, and what is not CAP is a source error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.official.intake import take_in
from controller.official.lifecycle import Action, Deployment, Key
from controller.official.rules import default_rules, rules_from_toml, wording
from controller.official.safe_xml import OfficialAlertError

DOCUMENTS = Path(__file__).with_name("documents")
MONDAY = datetime(2026, 12, 7, 5, 1, tzinfo=UTC)
AUTOMATIC = rules_from_toml(
    """
    [[rule]]
    name = "Vigilance orange ou rouge, sans attendre"
    match = { senders = ["vigilance@meteo.fr"], awareness_levels = [3, 4] }
    deployment = { mode = "automatic", priority = "emergency" }
    wording = { led = "Vigilance {level} {hazard} {period}" }
    """
)


def document(name: str) -> bytes:
    return (DOCUMENTS / name).read_bytes()


def test_a_warning_from_alert_to_all_clear() -> None:
    stored: dict[Key, Deployment] = {}

    first = take_in(
        document("meteo-france-orange-snow-ice-ain.xml"), stored=stored, rules=default_rules(), now=MONDAY
    )
    assert first.decision.action == Action.NEW and first.shows
    assert first.rule is not None
    assert first.rule.deployment.deploys_at(MONDAY) == MONDAY + timedelta(minutes=15)
    assert first.alert.info is not None
    stored[first.alert.key] = Deployment(first.alert.key, first.alert.info.expires)

    again = take_in(
        document("meteo-france-orange-snow-ice-ain.xml"), stored=stored, rules=default_rules(), now=MONDAY
    )
    assert again.decision.action == Action.NOTHING and not again.shows

    update = take_in(
        document("meteo-france-update-ain.xml"), stored=stored, rules=default_rules(), now=MONDAY
    )
    assert update.decision.action == Action.REPLACE and update.decision.previous == (first.alert.key,)
    assert update.rule is first.rule
    tuesday = datetime(2026, 12, 8, 8, tzinfo=UTC)
    assert first.rule is not None and update.rule is not None
    assert wording(first.rule, first.alert, "led-amber-96x16", tuesday) != wording(
        update.rule, update.alert, "led-amber-96x16", tuesday
    )
    stored[first.alert.key] = Deployment(first.alert.key, None, ended=True)
    assert update.alert.info is not None
    stored[update.alert.key] = Deployment(update.alert.key, update.alert.info.expires)

    wednesday = datetime(2026, 12, 9, 6, 1, tzinfo=UTC)
    clear = take_in(
        document("meteo-france-allclear-ain.xml"), stored=stored, rules=default_rules(), now=wednesday
    )
    assert clear.decision.action == Action.END and clear.decision.previous == (update.alert.key,)
    assert not clear.shows


def test_automatic_rule_deploys_at_once() -> None:
    intake = take_in(document("meteo-france-orange-snow-ice-ain.xml"), stored={}, rules=AUTOMATIC, now=MONDAY)
    assert intake.rule is not None and intake.rule.deployment.deploys_at(MONDAY) == MONDAY


def test_approval_waits_for_a_person() -> None:
    (rule,) = rules_from_toml(
        '[[rule]]\nname = "a"\ndeployment = { mode = "approval", priority = "urgent" }\nwording = { led = "{event}" }'
    )
    assert rule.deployment.deploys_at(MONDAY) is None


def test_yellow_is_kept_but_shown_nowhere() -> None:
    yellow = document("meteo-france-orange-snow-ice-ain.xml").replace(
        b"3; orange; Severe", b"2; yellow; Moderate"
    )
    intake = take_in(yellow, stored={}, rules=default_rules(), now=MONDAY)
    assert intake.decision.action == Action.NEW and intake.rule is None and not intake.shows


def test_test_status_only_from_a_source_in_test_mode() -> None:
    test = document("meteo-france-orange-snow-ice-ain.xml").replace(b"<status>Actual<", b"<status>Test<")
    refused = take_in(test, stored={}, rules=AUTOMATIC, now=MONDAY)
    assert refused.decision.action == Action.NOTHING and not refused.shows
    assert refused.decision.reason.startswith("status Test is not shown")
    assert take_in(test, stored={}, rules=AUTOMATIC, now=MONDAY, test_mode=True).shows


@pytest.mark.parametrize(
    "data",
    [
        b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>",
        b'<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><a>&b;</a>',
        b"<html><title>Not found</title></html>",
    ],
)
def test_what_is_not_cap_is_a_source_error(data: bytes) -> None:
    with pytest.raises(OfficialAlertError):
        take_in(data, stored={}, rules=AUTOMATIC, now=MONDAY)
