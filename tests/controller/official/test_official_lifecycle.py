"""The life cycle: new, replace (Update), end (Cancel, Météo-France's AllClear, a past expires), nothing
(the same document twice), on the documents of one orange snow-ice warning for the Ain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from controller.official.cap import Alert, read_cap
from controller.official.lifecycle import Action, Decision, Deployment, Key, decide, ends_warning, expired

DOCUMENTS = Path(__file__).with_name("documents")
ALERT = read_cap((DOCUMENTS / "meteo-france-orange-snow-ice-ain.xml").read_bytes())
UPDATE = read_cap((DOCUMENTS / "meteo-france-update-ain.xml").read_bytes())
ALL_CLEAR = read_cap((DOCUMENTS / "meteo-france-allclear-ain.xml").read_bytes())
MONDAY = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
WEDNESDAY = datetime(2026, 12, 9, 6, 30, tzinfo=UTC)


def deployed(*alerts: Alert, ended: tuple[Key, ...] = ()) -> dict[Key, Deployment]:
    return {
        alert.key: Deployment(alert.key, alert.info.expires if alert.info else None, alert.key in ended)
        for alert in alerts
    }


def document(name: str, old: str, new: str) -> Alert:
    source = (DOCUMENTS / name).read_text(encoding="utf-8")
    assert old in source
    return read_cap(source.replace(old, new).encode())


def test_first_alert_is_new() -> None:
    assert decide(ALERT, {}, MONDAY) == Decision(Action.NEW, (), "new alert")


def test_same_document_twice_does_nothing() -> None:
    assert decide(ALERT, deployed(ALERT), MONDAY).action == Action.NOTHING
    # Keyed by sender and identifier: the same identifier from another sender is another alert.
    other = document(
        "meteo-france-orange-snow-ice-ain.xml", "<sender>vigilance@meteo.fr", "<sender>autre@example.org"
    )
    assert decide(other, deployed(ALERT), MONDAY).action == Action.NEW


def test_update_replaces_what_it_references() -> None:
    decision = decide(UPDATE, deployed(ALERT), MONDAY)
    assert decision == Decision(Action.REPLACE, (ALERT.key,), "updated by its sender")


def test_update_of_an_unknown_alert_is_new() -> None:
    assert decide(UPDATE, {}, MONDAY) == Decision(Action.NEW, (), "update of an unknown alert")


def test_update_of_an_ended_alert_is_new() -> None:
    assert decide(UPDATE, deployed(ALERT, ended=(ALERT.key,)), MONDAY).action == Action.NEW


def test_meteo_france_all_clear_ends_the_warning() -> None:
    assert ALL_CLEAR.info is not None and ends_warning(ALL_CLEAR.info)
    decision = decide(ALL_CLEAR, deployed(ALERT, UPDATE, ended=(ALERT.key,)), WEDNESDAY)
    assert decision == Decision(Action.END, (UPDATE.key,), "all clear")


def test_all_clear_for_nothing_shown_does_nothing() -> None:
    assert decide(ALL_CLEAR, {}, WEDNESDAY) == Decision(
        Action.NOTHING, (), "an all clear for nothing that is shown"
    )


def test_all_clear_needs_expires_equal_to_effective() -> None:
    # AllClear with time still to run is not Météo-France's end: an update like any other.
    later = document(
        "meteo-france-allclear-ain.xml", "<expires>2026-12-09T07:00:00", "<expires>2026-12-09T19:00:00"
    )
    assert later.info is not None and not ends_warning(later.info)
    assert decide(later, deployed(UPDATE), WEDNESDAY).action == Action.REPLACE


def test_cancel_ends_what_it_references() -> None:
    cancel = document(
        "meteo-france-allclear-ain.xml", "<msgType>Update</msgType>", "<msgType>Cancel</msgType>"
    )
    assert decide(cancel, deployed(UPDATE), WEDNESDAY) == Decision(
        Action.END, (UPDATE.key,), "cancelled by its sender"
    )
    assert decide(cancel, {}, WEDNESDAY).action == Action.NOTHING


def test_document_already_expired_on_arrival() -> None:
    friday = datetime(2026, 12, 11, 8, tzinfo=UTC)
    assert decide(ALERT, {}, friday) == Decision(Action.NOTHING, (), "expired before it arrived")
    assert decide(UPDATE, deployed(ALERT), friday) == Decision(
        Action.END, (ALERT.key,), "updated to an end already past"
    )


def test_the_clock_ends_what_expired() -> None:
    stored = deployed(ALERT, UPDATE, ended=(ALERT.key,))
    assert expired(stored, MONDAY) == []
    # The update expires on Wednesday at 12 h Paris time; the ended alert is not ended twice.
    assert expired(stored, datetime(2026, 12, 9, 11, tzinfo=UTC)) == [UPDATE.key]
    assert expired({ALERT.key: Deployment(ALERT.key, None)}, datetime(2030, 1, 1, tzinfo=UTC)) == []
