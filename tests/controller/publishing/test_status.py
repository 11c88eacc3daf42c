"""What panels report is recorded in bulk, in the order it came, as the technician's pages then show it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.dates import iso_utc
from controller.domain.panels import register_panel
from controller.publishing import reports as status
from controller.publishing.link import MqttLink, _Report
from controller.storage.db import transaction
from controller.web.context import get_db
from relais import wire
from tests.support import DEMO_RGB, picture_png, record_report

LED, RGB = "bourg-entree-nord", "bourg-place-bernard"
NOW = 1_800_000_000
# Pictures the panels send themselves.
LED_PICTURE, RGB_PICTURE = picture_png((255, 176, 0)), picture_png((0, 128, 255))
COMMUNE_PICTURE, ALERT_PICTURE = picture_png((0, 160, 60)), picture_png((255, 0, 0))


@pytest.fixture
def alert(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """An alert on both panels of Bourg-en-Bresse."""
    with app.app_context():
        register_panel(get_db(), DEMO_RGB)
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"text": "Crue de la Reyssouze", "communes": ["01053"], "expires_at": expires}
    response = client.post("/api/v1/alerts", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_a_burst_of_states_and_events_is_recorded_in_order(
    app: Flask, client: FlaskClient, alert: dict[str, Any]
) -> None:
    item = alert["item_id"]
    reports: list[status.Report] = [
        wire.PanelState(LED, True, NOW, item, "sha256:aa", 7, "1.0", 60, LED_PICTURE),
        wire.PanelEvent(LED, wire.EVENT_ON_AIR, NOW, {"item_id": item, "at": NOW}),
        wire.PanelEvent(
            LED, wire.EVENT_PLAY, NOW, {"item_id": "msg-1", "started_at": NOW - 9, "ended_at": NOW}
        ),
        wire.PanelState(RGB, True, NOW, "msg-1", "sha256:bb", 3, "1.0", 5, RGB_PICTURE),
        wire.offline_state(RGB, NOW + 1),  # its last will, in the same burst
        wire.PanelEvent("nobody", wire.EVENT_ON_AIR, NOW, {"item_id": item}),  # not registered
    ]
    with app.app_context(), transaction(get_db()) as db:
        status.record_reports(db, reports, NOW + 2)

    shown = client.get(f"/api/v1/alerts/{alert['id']}").json
    assert {panel["id"]: bool(panel["confirmed_at"]) for panel in shown["panels"]} == {LED: True, RGB: False}
    led, rgb = (client.get(f"/api/v1/panels/{panel}").json for panel in (LED, RGB))
    assert (led["online"], led["showing"]["item_id"], led["applied_seq"]) == (True, item, 7)
    # Offline at the end, with what it showed last still on record.
    assert (rgb["online"], rgb["showing"]["item_id"], rgb["applied_seq"]) == (False, "msg-1", 3)
    history = client.get(f"/api/v1/panels/{RGB}/history").json
    assert [entry["event"] for entry in history["history"]] == ["offline", "online"]  # newest first
    with app.app_context():
        db = get_db()
        assert db.execute(status.SCREENSHOT_QUERY, [LED]).fetchone()[0] == LED_PICTURE
        plays = db.execute("select panel_id, item_id, started_at, ended_at from plays").fetchall()
        assert plays == [(LED, "msg-1", NOW - 9, NOW)]
        assert db.execute("select count(*) from panel_events where panel_id = 'nobody'").fetchone()[0] == 0


@pytest.mark.parametrize("by", ["state", "on_air event"])
def test_an_alert_is_confirmed_by_the_first_state_or_on_air_event_that_names_it(
    app: Flask, client: FlaskClient, alert: dict[str, Any], by: str
) -> None:
    """The state a panel sends as it takes the alert's schedule confirms it; the on_air event, for
    an alert that comes on air later in the rotation, with no state to say it."""
    item = alert["item_id"]
    report: status.Report = (
        wire.PanelState(LED, True, NOW, item, "sha256:aa", 7, "1.0", 60)
        if by == "state"
        else wire.PanelEvent(LED, wire.EVENT_ON_AIR, NOW, {"item_id": item, "at": NOW})
    )
    later = wire.PanelState(LED, True, NOW + 30, item, "sha256:aa", 7, "1.0", 90)
    with app.app_context():
        for reports in ([report], [later]):
            with transaction(get_db()) as db:
                status.record_reports(db, reports, NOW + 60)

    panels = client.get(f"/api/v1/alerts/{alert['id']}").json["panels"]
    assert {panel["id"]: panel["confirmed_at"] for panel in panels} == {LED: iso_utc(NOW), RGB: None}


def test_a_report_that_cannot_be_recorded_is_dropped_alone(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_reports = status.record_reports

    def fails_for_one(db: Any, reports: list[status.Report], received_at: float) -> None:
        if any(report.details.get("item_id") == "msg-bad" for report in reports):
            raise ValueError("a bug met in recording")
        record_reports(db, reports, received_at)

    monkeypatch.setattr(status, "record_reports", fails_for_one)
    now = int(time.time())  # the link records at the real time: a play after it would be refused
    good = wire.PanelEvent(
        LED, wire.EVENT_PLAY, now, {"item_id": "msg-1", "started_at": now - 5, "ended_at": now}
    )
    bad = wire.PanelEvent(
        LED, wire.EVENT_PLAY, now, {"item_id": "msg-bad", "started_at": now, "ended_at": now}
    )
    link = MqttLink(app.config["DATABASE"], "mqtt://127.0.0.1:1", wire.Topics(), "status-test")
    try:
        payload = wire.join_events([good.to_payload(), bad.to_payload()])
        reports = link._read(_Report(wire.Topics().events(LED), payload, 1, 1))
        with transaction(link._db):
            link._record(reports)
    finally:
        link.stop()
    with app.app_context():
        assert get_db().execute("select item_id from plays").fetchall() == [("msg-1",)]


def test_hourly_sums_of_plays_are_kept_once_per_panel_item_hash_and_hour_whatever_comes_again(
    app: Flask, client: FlaskClient, alert: dict[str, Any]
) -> None:
    hour = NOW // 3600 * 3600

    def summed(
        panel: str, item: str, count: int, seconds: float, first: float, last: float
    ) -> wire.PanelEvent:
        details = {"item_id": item, "content_hash": "sha256:aa", "hour": hour, "count": count}
        figures = {"seconds": seconds, "first_start": first, "last_end": last}
        return wire.PanelEvent(panel, wire.EVENT_PLAY_HOURS, NOW, {**details, **figures})

    with app.app_context():
        db = get_db()
        # Sent at a stop with the hour open, then whole, then the first again, late; another panel's.
        for event in (
            summed(LED, "msg-1", 2, 20.0, hour + 10, hour + 40),
            summed(LED, "msg-1", 5, 50.5, hour + 10, hour + 3605),
            summed(LED, "msg-1", 2, 20.0, hour + 10, hour + 40),
            summed(RGB, "msg-1", 1, 10.0, hour + 20, hour + 30),
        ):
            record_report(db, event, NOW + 1)
        malformed = [
            {"item_id": "msg-1", "hour": hour + 1, "count": 1},  # no whole hour
            {"item_id": "msg-1", "hour": hour, "count": 0},
            {"item_id": 7, "hour": hour, "count": 1},
            {"item_id": "msg-1", "hour": hour, "count": 1, "content_hash": 5},
        ]
        for details in malformed:
            record_report(db, wire.PanelEvent(LED, wire.EVENT_PLAY_HOURS, NOW, details), NOW + 2)
        rows = db.execute(
            "select panel_id, item_id, content_hash, hour, displays, seconds_on_air, first_start, last_end"
            " from play_hours order by panel_id"
        ).fetchall()
        assert rows == [
            (LED, "msg-1", "sha256:aa", hour, 5, 50.5, hour + 10, hour + 3605),
            (RGB, "msg-1", "sha256:aa", hour, 1, 10.0, hour + 20, hour + 30),
        ]
        # Proof of play, not history: no row a sum in the panel's events, but the panel was seen.
        assert db.execute("select count(*) from panel_events where event = 'play_hours'").fetchone()[0] == 0
    assert client.get(f"/api/v1/panels/{LED}").json["last_seen"] is not None


def test_a_picture_many_panels_show_is_kept_once_and_dropped_when_none_shows_it(
    app: Flask, client: FlaskClient, alert: dict[str, Any]
) -> None:
    def states(picture: bytes, at: int) -> list[status.Report]:
        return [
            wire.PanelState(panel, True, at, "msg-1", "sha256:aa", 3, "1.0", 5, picture)
            for panel in (LED, RGB)
        ]

    with app.app_context():
        for at, picture in ((NOW, COMMUNE_PICTURE), (NOW + 1, ALERT_PICTURE)):
            with transaction(get_db()) as db:
                status.record_reports(db, states(picture, at), at)
            kept = [row[0] for row in get_db().execute("select png from screenshots")]
            assert kept == [picture]
        # A state without a screenshot keeps the last one.
        with transaction(get_db()) as db:
            status.record_reports(
                db, [wire.PanelState(LED, True, NOW + 2, "msg-1", "sha256:aa", 3, "1.0", 6)], NOW + 2
            )
    for panel in (LED, RGB):
        response = client.get(f"/api/v1/panels/{panel}/screenshot.png")
        assert (response.status_code, response.data) == (200, ALERT_PICTURE)


def test_frame_pictures_are_bounded_by_their_bytes_not_their_count() -> None:
    """A region's hundreds of fallback frames fit; beyond the budget, the least recently used go."""
    pictures = status.FramePictures(budget=3000)
    for number in range(3):
        pictures.put(f"frame-{number}", (f"digest-{number}", b"x" * 1000))
    assert pictures.get("frame-0") is not None  # now the most recently used
    pictures.put("frame-3", ("digest-3", b"x" * 1000))
    assert pictures.get("frame-1") is None
    assert [pictures.get(f"frame-{n}") is not None for n in (0, 2, 3)] == [True, True, True]


def test_a_state_naming_a_frame_of_its_schedule_gets_the_controller_s_picture_of_it(
    app: Flask, client: FlaskClient, alert: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A department's panels name the alert's frame instead of sending it back: the controller makes
    the screenshot from the schedule it sealed, once; a frame it never made leaves no screenshot,
    never a wrong one."""
    # Nothing made by other tests.
    monkeypatch.setattr(status, "_frame_pictures", status.FramePictures(status.FRAME_PICTURES_BYTES))
    with app.app_context():
        payload = get_db().execute("select payload from desired where panel_id = ?", [LED]).fetchone()[0]
    schedule = wire.read_own_sealed(payload).desired_schedule()
    (shown,) = [item for item in schedule.items if item.item_id == alert["item_id"]]
    frame = shown.pages[0].frame

    def record(state: wire.PanelState) -> None:
        with app.app_context():
            record_report(get_db(), state, NOW)

    naming = wire.PanelState(
        LED, True, NOW, shown.item_id, shown.content_hash, 7, screenshot_frame=frame.content_hash
    )
    record(naming)
    response = client.get(f"/api/v1/panels/{LED}/screenshot.png")
    assert (response.status_code, response.data) == (200, wire.screenshot_png(frame))
    assert response.data == frame.png_bytes()  # an LED frame is small enough to be its own screenshot
    # A state late for the alert's cancellation: the outbox has moved on, the picture was made already.
    assert client.delete(f"/api/v1/alerts/{alert['id']}").status_code == 200
    record(naming)
    assert client.get(f"/api/v1/panels/{LED}/screenshot.png").data == frame.png_bytes()

    record(
        wire.PanelState(LED, True, NOW + 1, "msg-9", "sha256:aa", 8, screenshot_frame="sha256:" + "0" * 64)
    )
    assert client.get(f"/api/v1/panels/{LED}/screenshot.png").status_code == 404
    assert client.get(f"/api/v1/panels/{LED}").json["has_screenshot"] is False
