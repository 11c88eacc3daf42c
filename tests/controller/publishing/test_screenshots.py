"""A screenshot a panel sends itself is served to browsers as ``image/png``: the controller keeps it only
if it is one whole PNG no larger than the screenshots panels make; anything else is logged and dropped."""

from __future__ import annotations

import io
import logging
import struct
import threading
import time
import uuid
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from controller.publishing.reports import MAX_SCREENSHOT_BYTES
from controller.rendering.images import PNG_SIGNATURE
from controller.web.context import get_db
from relais import wire
from relais.mqtt import connect_in_background, new_client
from tests.support import DEMO_EPAPER, DEMO_LED, picture_png, record_report, wait_for
from tests.support.live import Live

LED = "bourg-entree-nord"
NOW = 1_800_000_000
GOOD = picture_png((255, 176, 0))


def _png(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def _with_chunk(png: bytes, kind: bytes, *, data: bytes | None = None, crc_flip: int = 0) -> bytes:
    """The same PNG with one chunk's data replaced (its checksum made right) or its checksum wrong."""
    at = png.index(kind) - 4
    (length,) = struct.unpack(">I", png[at : at + 4])
    old = png[at + 8 : at + 8 + length]
    new = old if data is None else data
    crc = zlib.crc32(kind + new) ^ crc_flip
    chunk = struct.pack(">I", len(new)) + kind + new + struct.pack(">I", crc)
    return png[:at] + chunk + png[at + 12 + length :]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), (255, 0, 0)).save(buffer, "JPEG")
    return buffer.getvalue()


NOT_SCREENSHOTS = {
    "html": (b"<html><script>alert(document.cookie)</script></html>", "ce n’est pas un PNG"),
    "jpeg": (_jpeg(), "ce n’est pas un PNG"),
    "signature-then-html": (PNG_SIGNATURE + b"<script>alert(1)</script>", "format non pris en charge (PNG)"),
    "broken-header-checksum": (_with_chunk(GOOD, b"IHDR", crc_flip=1), "format non pris en charge (PNG)"),
    "broken-pixels-checksum": (_with_chunk(GOOD, b"IDAT", crc_flip=1), "PNG abîmé"),
    "pixels-not-zlib": (_with_chunk(GOOD, b"IDAT", data=b"<script>alert(1)</script>"), "PNG illisible"),
    "truncated": (GOOD[: len(GOOD) // 2], "PNG"),
    "too-many-pixels": (
        _png(Image.new("1", (4000, 3000))),
        "image trop grande (12000000 pixels, limite 120000)",
    ),
    "too-wide": (_png(Image.new("1", (401, 8))), "image de 401x8, limite 400x300"),
    "too-heavy": (
        _png(Image.new("RGB", (16, 8))) + b"\0" * MAX_SCREENSHOT_BYTES,
        f"limite {MAX_SCREENSHOT_BYTES}",
    ),
}


@pytest.mark.parametrize("name", sorted(NOT_SCREENSHOTS))
def test_a_screenshot_that_is_not_a_whole_small_png_is_dropped_with_a_log_line(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    data, reason = NOT_SCREENSHOTS[name]
    with app.app_context():
        record_report(get_db(), wire.PanelState(LED, True, NOW, screenshot_png=GOOD), NOW)
    assert client.get(f"/api/v1/panels/{LED}/screenshot.png").data == GOOD

    with app.app_context(), caplog.at_level(logging.WARNING, logger="controller.publishing.reports"):
        record_report(get_db(), wire.PanelState(LED, True, NOW + 1, screenshot_png=data), NOW + 1)
    # Not the forged bytes, nor the older picture: the panel shows something we cannot show.
    assert client.get(f"/api/v1/panels/{LED}/screenshot.png").status_code == 404
    assert client.get(f"/api/v1/panels/{LED}").json["has_screenshot"] is False
    (line,) = [
        record.getMessage() for record in caplog.records if record.name == "controller.publishing.reports"
    ]
    assert line.startswith(f"{LED} sent a screenshot that is refused, none kept: ")
    assert reason in line
    with app.app_context():
        assert get_db().execute("select count(*) from screenshots where png = ?", [data]).fetchone()[0] == 0


def test_a_good_screenshot_is_served_as_png_never_sniffed(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        record_report(get_db(), wire.PanelState(LED, True, NOW, screenshot_png=GOOD), NOW)
    response = client.get(f"/api/v1/panels/{LED}/screenshot.png")
    assert (response.status_code, response.data, response.mimetype) == (200, GOOD, "image/png")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    largest = picture_png((0, 0, 255), wire.SCREENSHOT_MAX_SIZE)
    with app.app_context():
        record_report(get_db(), wire.PanelState(LED, True, NOW + 1, screenshot_png=largest), NOW + 1)
    assert client.get(f"/api/v1/panels/{LED}/screenshot.png").data == largest


def test_a_forged_screenshot_through_the_broker_is_never_served(live_mosquitto: Live) -> None:
    """A panel's state, as it arrives on the panel's topic, with HTML where the picture should be."""
    publisher = new_client(f"forger-{uuid.uuid4().hex[:8]}", live_mosquitto.broker.url)
    connected = threading.Event()
    publisher.on_connect = lambda *_: connected.set()
    connect_in_background(publisher, live_mosquitto.broker.url)
    try:
        assert connected.wait(15), "the publisher could not connect"
        for at, picture in ((int(time.time()), GOOD), (int(time.time()) + 1, b"<script>alert(1)</script>")):
            state = wire.PanelState(LED, True, at, agent_version=str(at), screenshot_png=picture)
            publisher.publish(
                live_mosquitto.topics.state(LED), state.to_payload(), qos=1, retain=True
            ).wait_for_publish()
            wait_for(
                lambda at=at: live_mosquitto.panel(LED)["agent_version"] == str(at), f"the state of {at}"
            )
            shown = live_mosquitto.client.get(f"/api/v1/panels/{LED}/screenshot.png")
            assert (shown.status_code, shown.data) == ((200, GOOD) if picture == GOOD else (404, shown.data))
    finally:
        publisher.disconnect()
        publisher.loop_stop()


@pytest.mark.parametrize("panel", [DEMO_LED["id"], DEMO_EPAPER["id"]])
def test_a_real_agent_s_own_picture_passes_and_is_served(live_mosquitto: Live, panel: str) -> None:
    """A test pattern is a picture the panel makes itself and sends whole: real agents' pictures, an
    LED frame as it is and an e-paper one scaled down, are the PNGs the check lets through."""
    live_mosquitto.start_agent(panel)
    wait_for(lambda: live_mosquitto.panel(panel)["online"], f"{panel} online")
    command = {"command": "test_pattern", "args": {"pattern": "checkerboard", "seconds": 60}}
    assert live_mosquitto.client.post(f"/api/v1/panels/{panel}/commands", json=command).status_code == 202

    def during_the_pattern() -> bytes | None:
        if live_mosquitto.panel(panel)["showing"]["item_id"] is not None:  # the schedule's item, named
            return None
        shot = live_mosquitto.client.get(f"/api/v1/panels/{panel}/screenshot.png")
        return shot.data if shot.status_code == 200 else None

    served = wait_for(during_the_pattern, f"{panel}'s screenshot of its test pattern")
    with Image.open(io.BytesIO(served)) as picture:
        assert picture.format == "PNG"
        assert picture.size == {DEMO_LED["id"]: (192, 64), DEMO_EPAPER["id"]: (400, 240)}[panel]
        assert len(picture.convert("L").getcolors() or ()) >= 2
