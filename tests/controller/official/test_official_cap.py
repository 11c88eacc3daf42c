"""Reading CAP 1.2 and 1.1: the typed model from real-shaped documents, and a clear error for what is
hostile, malformed or not CAP; which messages may reach panels at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.official.cap import (
    MAX_CAP_BYTES,
    AwarenessLevel,
    AwarenessType,
    Circle,
    Reference,
    read_cap,
    refusal,
)
from controller.official.safe_xml import OfficialAlertError

DOCUMENTS = Path(__file__).with_name("documents")
PARIS_WINTER = timezone(timedelta(hours=1))


def document(name: str) -> bytes:
    return (DOCUMENTS / name).read_bytes()


def test_meteo_france_alert_reads_whole() -> None:
    alert = read_cap(document("meteo-france-orange-snow-ice-ain.xml"))
    assert alert.version == "1.2"
    assert alert.key == ("vigilance@meteo.fr", "2.49.0.0.250.0.FR.20261207060000.100001")
    assert alert.sent == datetime(2026, 12, 7, 6, tzinfo=PARIS_WINTER)
    assert (alert.status, alert.msg_type, alert.scope, alert.references) == ("Actual", "Alert", "Public", ())
    assert [info.language for info in alert.infos] == ["en-GB", "fr-FR"]
    info = alert.info
    assert info is not None
    # French first, though the document puts English first.
    assert info.language == "fr-FR"
    assert info.event == "Vigilance orange neige-verglas"
    assert (info.categories, info.response_types) == (("Met",), ("Prepare",))
    assert (info.urgency, info.severity, info.certainty) == ("Future", "Severe", "Likely")
    assert info.onset == datetime(2026, 12, 8, 5, tzinfo=UTC)
    assert info.expires == datetime(2026, 12, 9, 7, tzinfo=UTC)
    assert info.effective == datetime(2026, 12, 7, 5, tzinfo=UTC)
    assert info.headline == "Vigilance orange neige-verglas"
    assert info.instruction.startswith("Limitez vos déplacements")
    assert info.awareness_level == AwarenessLevel(3, "orange", "Severe")
    assert info.awareness_type == AwarenessType(2, "snow-ice")
    assert ("awareness_level", "3; orange; Severe") in info.parameters
    assert [(area.description, area.geocodes) for area in info.areas] == [
        ("Ain", (("NUTS3", "FR711"),)),
        ("Haute Savoie", (("NUTS3", "FR718"),)),
    ]
    assert refusal(alert) is None


def test_other_language_is_the_fallback() -> None:
    alert = read_cap(document("meteo-france-orange-snow-ice-ain.xml"))
    english_only = replace(alert, infos=tuple(info for info in alert.infos if not info.is_french))
    assert english_only.info is not None
    assert english_only.info.event == "Severe snow-ice warning"


def test_update_names_what_it_references() -> None:
    alert = read_cap(document("meteo-france-update-ain.xml"))
    assert alert.msg_type == "Update"
    assert alert.references == (
        Reference(
            "vigilance@meteo.fr", "2.49.0.0.250.0.FR.20261207060000.100001", "2026-12-07T06:00:00+01:00"
        ),
    )


def test_cap_1_1_with_polygon_and_circle() -> None:
    alert = read_cap(document("prefecture-flood-polygon-cap11.xml"))
    assert alert.version == "1.1"
    info = alert.info
    assert info is not None
    assert info.categories == ("Met", "Safety")
    assert info.onset is None
    polygon_area, circle_area = info.areas
    assert polygon_area.polygons == (
        ((46.15, 5.15), (46.15, 5.30), (46.26, 5.30), (46.26, 5.15), (46.15, 5.15)),
    )
    assert circle_area.circles == (Circle(46.256, 5.655, 5.0),)
    assert polygon_area.geocodes == circle_area.geocodes == ()


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&secret;</identifier></alert>"""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ENTITY_BOMB, "declares a DTD or an entity"),
        (EXTERNAL_ENTITY, "declares a DTD or an entity"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</alert>", "not well-formed XML"),
        (b"", "is empty"),
        (
            b"<html><body>Service unavailable</body></html>",
            "not a CAP 1.2 or 1.1 alert: the root element is <html>",
        ),
        (b"<alert><identifier>x</identifier></alert>", "without a namespace"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "the root element is <feed>"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>", "alert/identifier is missing"),
        (b" " * (MAX_CAP_BYTES + 1), "more than the 1000000 allowed"),
        (b"<?xml version='1.0' encoding='nope'?><alert/>", "in an unknown encoding"),
    ],
)
def test_hostile_malformed_or_not_cap_is_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(OfficialAlertError, match=message.replace("(", r"\(")):
        read_cap(data)


def edited(old: str, new: str, name: str = "meteo-france-orange-snow-ice-ain.xml") -> bytes:
    source = document(name).decode()
    assert old in source
    return source.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<status>Actual</status>", "<status>Real</status>", "alert/status is 'Real', not one of Actual"),
        ("<msgType>Alert</msgType>", "", "alert/msgType is missing"),
        (
            "<sent>2026-12-07T06:00:00+01:00</sent>",
            "<sent>hier</sent>",
            "alert/sent is 'hier', not a CAP date",
        ),
        ("<sent>2026-12-07T06:00:00+01:00</sent>", "<sent>2026-12-07T06:00:00</sent>", "without its offset"),
        ("<urgency>Future</urgency>", "<urgency>Soon</urgency>", r"alert/info\[1\]/urgency is 'Soon'"),
        ("<event>Severe snow-ice warning</event>", "", r"alert/info\[1\]/event is missing"),
        ("<value>3; orange; Severe</value>", "<value>orange</value>", "awareness_level is 'orange'"),
        ("<value>2; snow-ice</value>", "<value>snow</value>", "awareness_type is 'snow'"),
        ("<value>3; orange; Severe</value>", "<value>³; orange; Severe</value>", "awareness_level is '³"),
        ("<areaDesc>Ain</areaDesc>", "<areaDesc/>", r"alert/info\[1\]/area\[1\]/areaDesc is missing"),
        (
            "<scope>Public</scope>",
            "<scope>Public</scope><references>only-one-part</references>",
            "references",
        ),
    ],
)
def test_faults_name_the_element(old: str, new: str, message: str) -> None:
    with pytest.raises(OfficialAlertError, match=message):
        read_cap(edited(old, new))


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ("46.15,5.15 46.15,5.30", "fewer than three distinct points"),
        ("46.15;5.15 46.15,5.30 46.26,5.30", "not latitude,longitude"),
        ("146.15,5.15 46.15,5.30 46.26,5.30", "outside the Earth"),
        ("nan,5.15 46.15,5.30 46.26,5.30", "outside the Earth"),
    ],
)
def test_bad_polygons_are_refused(polygon: str, message: str) -> None:
    bad = edited(
        "46.15,5.15 46.15,5.30 46.26,5.30 46.26,5.15 46.15,5.15",
        polygon,
        "prefecture-flood-polygon-cap11.xml",
    )
    with pytest.raises(OfficialAlertError, match=message):
        read_cap(bad)


def test_open_polygon_is_closed() -> None:
    alert = read_cap(
        edited(
            "46.15,5.15 46.15,5.30 46.26,5.30 46.26,5.15 46.15,5.15",
            " 46.15,5.15 46.15,5.30 46.26,5.30 ",
            "prefecture-flood-polygon-cap11.xml",
        )
    )
    assert alert.info is not None
    assert alert.info.areas[0].polygons[0][-1] == (46.15, 5.15)


@pytest.mark.parametrize(
    ("old", "new", "test_mode", "reason"),
    [
        (
            "<status>Actual</status>",
            "<status>Test</status>",
            False,
            "status Test is not shown outside a source in test mode",
        ),
        (
            "<status>Actual</status>",
            "<status>Exercise</status>",
            False,
            "status Exercise is not shown outside",
        ),
        ("<status>Actual</status>", "<status>Test</status>", True, None),
        ("<status>Actual</status>", "<status>Exercise</status>", True, None),
        ("<status>Actual</status>", "<status>System</status>", True, "status System is not shown"),
        ("<status>Actual</status>", "<status>Draft</status>", True, "status Draft is not shown"),
        ("<scope>Public</scope>", "<scope>Restricted</scope>", False, "scope Restricted is not public"),
        ("<msgType>Alert</msgType>", "<msgType>Ack</msgType>", False, "msgType Ack is for the sender"),
    ],
)
def test_status_and_scope_filtering(old: str, new: str, test_mode: bool, reason: str | None) -> None:
    found = refusal(read_cap(edited(old, new)), test_mode=test_mode)
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_give_an_alert_or_a_clear_error(data: bytes) -> None:
    try:
        read_cap(data)
    except OfficialAlertError as error:
        assert str(error)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=1, max_value=40), st.text(max_size=12))
def test_a_damaged_document_gives_an_alert_or_a_clear_error(start: int, length: int, junk: str) -> None:
    source = document("meteo-france-orange-snow-ice-ain.xml").decode()
    at = start % len(source)
    try:
        read_cap((source[:at] + junk + source[at + length :]).encode())
    except OfficialAlertError as error:
        assert str(error)


@pytest.mark.parametrize(
    "circle", ["46.256,5.655 -5", "46.256,5.655 nan", "46.256,5.655 cinq", "46.256,5.655"]
)
def test_bad_circles_are_refused(circle: str) -> None:
    with pytest.raises(OfficialAlertError, match=r"alert/info\[1\]/area\[2\]/circle"):
        read_cap(edited("46.256,5.655 5", circle, "prefecture-flood-polygon-cap11.xml"))
