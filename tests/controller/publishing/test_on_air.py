"""What a panel has on air now, derived from the schedule the controller signed and the clock: which
item and page, until when, its picture, and the panel's own report where it says otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from controller.dates import iso_utc
from controller.domain.panels import item_labels, panel_statuses
from controller.publishing import on_air
from controller.web.context import get_db
from relais import wire
from tests.support import DEMO_LED, record_report

LED = DEMO_LED["id"]
T0 = 1_800_000_000
SEQ = 7


def frame(shade: int) -> wire.Frame:
    return wire.Frame.from_image(Image.new("RGB", (192, 64), (shade, shade, 0)))


# A 3-page message (its page 2 flashing) and the commune's name take turns for an hour; the commune's
# name before and after. A round is 4 + 4 + 4 + 5 = 17 s.
PAGES = (wire.Page(frame(10), 4000), wire.Page(frame(20), 4000, frame(25), 500), wire.Page(frame(30), 4000))
MESSAGE = wire.DisplayItem("msg-1", "", PAGES)
COMMUNE = wire.DisplayItem("commune-01053", "", (wire.Page(frame(40), 5000),))
SCHEDULE = wire.Schedule(
    (MESSAGE, COMMUNE),
    (wire.Segment(T0, T0 + 3600, (wire.PlaylistEntry(0), wire.PlaylistEntry(1))),),
    T0 + 48 * 3600,
    fallback=1,
)


@pytest.fixture
def signed(app: Flask, signing_key: Ed25519PrivateKey) -> None:
    """The schedule sealed for the LED panel, in the outbox; the panel says it applied it."""
    with app.app_context():
        db = get_db()
        payload = wire.seal_schedule(
            signing_key, SCHEDULE, panel_id=LED, seq=SEQ, issued_at=T0, expires_at=T0 + 48 * 3600
        )
        db["desired"].insert(
            {
                "panel_id": LED,
                "seq": SEQ,
                "item_id": "msg-1",
                "payload": payload,
                "issued_at": T0,
                "expires_at": T0 + 48 * 3600,
            },
            replace=True,
        )
        record_report(db, wire.PanelState(LED, True, T0, "msg-1", MESSAGE.content_hash, SEQ), T0)


def on_air_at(app: Flask, seconds: float) -> dict[str, Any]:
    with app.app_context():
        db = get_db()
        return on_air.with_on_air(db, panel_statuses(db, LED), T0 + seconds)[0]["on_air"]


def shows(
    item: str, page: int, pages: int, until: int | None, label: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "item": item,
        "page": page,
        "pages": pages,
        "until": None if until is None else iso_utc(T0 + until),
        "label": label,
    }


BOURG = {"kind": "fallback", "text": "Bourg-en-Bresse"}


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, shows("msg-1", 1, 3, 4)),
        (3.9, shows("msg-1", 1, 3, 4)),
        (4, shows("msg-1", 2, 3, 8)),  # page 2 until it ends, not until its next flash
        (5.7, shows("msg-1", 2, 3, 8)),
        (8, shows("msg-1", 3, 3, 12)),
        (12, shows("commune-01053", 1, 1, 17, BOURG)),
        (17, shows("msg-1", 1, 3, 21)),  # the second round
        (17 * 10 + 9, shows("msg-1", 3, 3, 17 * 10 + 12)),
        (3600, shows("commune-01053", 1, 1, None, BOURG)),  # after the segment: the fallback for good
        (-60, shows("commune-01053", 1, 1, 0, BOURG)),  # before it: the fallback until it begins
    ],
)
def test_the_item_and_page_on_air_and_until_when_follow_the_signed_schedule(
    app: Flask, signed: None, seconds: float, expected: dict[str, Any]
) -> None:
    found = on_air_at(app, seconds)
    assert {key: found[key] for key in expected} == expected
    assert (found["source"], found["seq"], found["reported"]) == ("schedule", SEQ, None)
    item = MESSAGE if found["item"] == "msg-1" else COMMUNE
    assert found["frame"] == item.pages[found["page"] - 1].frame.content_hash


def test_a_schedule_is_decoded_once_per_sequence(
    app: Flask, signed: None, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(on_air, "_schedules", type(on_air._schedules)())
    reads: list[int] = []
    read = on_air.SignedSchedule.read
    monkeypatch.setattr(on_air.SignedSchedule, "read", lambda payload: reads.append(1) or read(payload))
    for seconds in (0, 4, 8, 12):
        on_air_at(app, seconds)
    assert len(reads) == 1
    # Kept without its pictures: a department's schedules fit in memory.
    timing = on_air._schedules[LED].timing
    assert {page.frame.data for item in timing.items for page in item.pages} == {b""}
    with app.app_context():
        payload = wire.seal_schedule(
            signing_key, SCHEDULE, panel_id=LED, seq=SEQ + 1, issued_at=T0, expires_at=T0 + 48 * 3600
        )
        get_db()["desired"].update(LED, {"seq": SEQ + 1, "payload": payload})
    assert on_air_at(app, 0)["seq"] == SEQ + 1
    assert len(reads) == 2


def test_a_panel_behind_its_schedule_is_said_so(app: Flask, signed: None) -> None:
    with app.app_context():
        record_report(get_db(), wire.PanelState(LED, True, T0 + 1, "msg-0", "sha256:aa", SEQ - 1), T0 + 1)
    assert on_air_at(app, 5)["reported"] == {"reason": "behind", "applied_seq": SEQ - 1}


def acknowledged(app: Flask, seq: int, command: str, args: dict[str, Any], at: int) -> None:
    """A command sent at ``at`` and acknowledged by the panel a second later."""
    with app.app_context():
        db = get_db()
        db["commands"].insert(
            {
                "panel_id": LED,
                "seq": seq,
                "command": command,
                "args": json.dumps(args),
                "sent_at": at,
                "sent_by": "tests",
            }
        )
        ack = {"command": command, "seq": seq, "ok": True}
        record_report(db, wire.PanelEvent(LED, wire.EVENT_ACK, at + 1, ack), at + 1)


def test_a_timed_command_up_instead_is_said_so_until_it_ends(app: Flask, signed: None) -> None:
    acknowledged(app, 3, "test_pattern", {"pattern": "border", "seconds": 60}, T0 + 10)
    with app.app_context():
        record_report(get_db(), wire.PanelState(LED, True, T0 + 11, None, None, SEQ), T0 + 11)
    expected = {"reason": "command", "command": "test_pattern", "until": iso_utc(T0 + 71)}
    assert on_air_at(app, 20)["reported"] == expected
    assert on_air_at(app, 71)["reported"] is None  # over: the panel shows the schedule again
    acknowledged(app, 4, "refresh", {}, T0 + 30)
    assert on_air_at(app, 40)["reported"] is None  # a refresh ended it


def test_the_api_gives_the_rows_of_the_page_on_air_and_the_picture_of_the_page(
    app: Flask, client: FlaskClient, signed: None
) -> None:
    answer = client.get(f"/api/v1/panels?id={LED}&id={DEMO_LED['id']}").json
    assert [panel["id"] for panel in answer["panels"]] == [LED]
    on_air_now = answer["panels"][0]["on_air"]
    assert on_air_now["source"] == "schedule" and on_air_now["item"] in ("msg-1", "commune-01053")
    assert client.get(f"/api/v1/panels/{LED}").json["on_air"]["frame"] is not None
    assert answer["panels"][0]["showing"]["reported_at"] == iso_utc(T0)
    # A panel without a signed schedule has nothing on air by it.
    assert client.get("/api/v1/panels?id=amberieu-mairie").json["panels"][0]["on_air"] is None

    picture = client.get(f"/api/v1/panels/{LED}/on-air.png?frame={PAGES[1].frame.content_hash}")
    assert (picture.status_code, picture.data) == (200, PAGES[1].frame.png_bytes())
    assert picture.headers["Cache-Control"] == "private, max-age=86400"
    missing = client.get(f"/api/v1/panels/{LED}/on-air.png?frame=sha256:{'0' * 64}")
    assert (missing.status_code, missing.json["error"]["field"]) == (404, "frame")
    assert client.get(f"/api/v1/panels/{LED}/on-air.png").json["error"]["field"] == "frame"
    many = "&".join(f"id=p{number}" for number in range(201))
    assert client.get(f"/api/v1/panels?{many}").json["error"]["field"] == "id"


def test_an_item_is_named_by_its_words_not_its_markup(app: Flask, client: FlaskClient) -> None:
    typed = {"text": "Mairie fermée[np]Réouverture [fl]lundi[/fl]", "markup": "multi", "panels": [LED]}
    queued = client.post("/api/v1/messages", json=typed)
    assert queued.status_code == 201, queued.json
    with app.app_context():
        labels = item_labels(get_db(), [f"msg-{queued.json['id']}"])
    assert labels[f"msg-{queued.json['id']}"]["text"] == "Mairie fermée Réouverture lundi"
