"""MeteoAlarm's legacy Atom feed: one CAP document to fetch per alert, expired entries left out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.official.atom import MAX_FEED_BYTES, read_feed
from controller.official.safe_xml import OfficialAlertError

FEED = (Path(__file__).with_name("documents") / "meteoalarm-france.atom").read_bytes()
MONDAY_MORNING = datetime(2026, 12, 7, 7, tzinfo=UTC)


def test_each_alert_once_with_its_document_link_and_all_its_areas() -> None:
    alerts = read_feed(FEED, MONDAY_MORNING)
    assert [alert.identifier for alert in alerts] == [
        "2.49.0.0.250.0.FR.20261207060000.100001",
        "2.49.0.0.250.0.FR.20261207053000.100004",
    ]
    snow = alerts[0]
    assert snow.link == "http://127.0.0.1/api/v1/warnings/feeds-france/5d7bd3f8-0001"
    assert snow.message_type == "Alert"
    assert snow.expires == datetime(2026, 12, 9, 7, tzinfo=UTC)
    # Its two entries (Ain, Haute-Savoie) give one alert with both areas' geocodes.
    assert snow.geocodes == (("EMMA_ID", "FR039"), ("EMMA_ID", "FR035"))


def test_expired_entries_are_filtered() -> None:
    # The Haute-Garonne wind warning expired on 6 December and is still listed: never fetched.
    assert "2.49.0.0.250.0.FR.20261205160000.099999" not in {
        a.identifier for a in read_feed(FEED, MONDAY_MORNING)
    }
    late_evening = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)  # the thunderstorm ended at 22 h Paris time
    assert [a.identifier for a in read_feed(FEED, late_evening)] == [
        "2.49.0.0.250.0.FR.20261207060000.100001"
    ]


def test_an_expired_update_is_still_fetched_as_it_may_end_a_warning_shown() -> None:
    # Météo-France's all clear is an Update expiring the moment it is sent: listed after that moment, it
    # must still be read, or the warning it ends would stay on the panels until its own expiry.
    feed = FEED.decode().replace(
        "<cap:message_type>Alert</cap:message_type>\n    <cap:status>Actual</cap:status>\n"
        "    <cap:identifier>2.49.0.0.250.0.FR.20261205160000.099999",
        "<cap:message_type>Update</cap:message_type>\n    <cap:status>Actual</cap:status>\n"
        "    <cap:identifier>2.49.0.0.250.0.FR.20261205160000.099999",
    )
    assert feed != FEED.decode()
    assert "2.49.0.0.250.0.FR.20261205160000.099999" in {
        a.identifier for a in read_feed(feed.encode(), MONDAY_MORNING)
    }


def test_entries_without_identifier_or_cap_link_are_skipped() -> None:
    feed = FEED.decode().replace('type="application/cap+xml"', 'type="text/html"', 1)
    feed = feed.replace("<cap:identifier>2.49.0.0.250.0.FR.20261207053000.100004</cap:identifier>", "")
    alerts = read_feed(feed.encode(), MONDAY_MORNING)
    # The snow warning is still found through its second entry's link; the thunderstorm is gone.
    assert [(a.identifier, a.geocodes) for a in alerts] == [
        ("2.49.0.0.250.0.FR.20261207060000.100001", (("EMMA_ID", "FR035"),))
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<rss version='2.0'><channel/></rss>", "not an Atom feed: the root element is <rss>"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><entry></feed>", "the Atom feed is not well-formed XML"),
        (b'<!DOCTYPE feed [<!ENTITY x "x">]><feed xmlns="http://www.w3.org/2005/Atom"/>', "declares a DTD"),
        (b" " * (MAX_FEED_BYTES + 1), "more than the 20000000 allowed"),
    ],
)
def test_bad_feeds_are_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(OfficialAlertError, match=message):
        read_feed(data, MONDAY_MORNING)


def test_empty_feed_has_no_alerts() -> None:
    assert read_feed(b"<feed xmlns='http://www.w3.org/2005/Atom'><id>x</id></feed>", MONDAY_MORNING) == []
