"""Small things several test files need: reference panels and a wait that polls with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlite_utils import Database

from controller import accounts, context, status
from controller.alerts import alert_item_id
from controller.context import get_db
from controller.db import transaction
from controller.demo import DEMO_PANELS
from controller.message_store import item_id_for
from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from relais import wire

# The demo's own reference panels: an amber LED 192x64 and a b/w e-paper 800x480 (and an RGB LED).
DEMO_LED, DEMO_RGB, DEMO_EPAPER = DEMO_PANELS


def user_token(db: Database, name: str, role: str = "admin", commune: str | None = None) -> str:
    """A user of that role (created if missing) and a fresh API token acting as them."""
    return accounts.token_for(db, name, role, commune, label="tests")


def first_page(text: str, profile_id: str) -> Image.Image:
    """What the controller renders for a plain message on a profile: page 1 of the default layout."""
    profile = get_profile(profile_id)
    image = render(MessageContent(body=text), profile).pages[0].frame.image()
    if image.mode == "P" or profile.colour_mode == "rgb":
        return image
    # A WebP frame decodes to RGB: back to the profile's palette indices, as the renderer drew them.
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in profile.palette for channel in colour])
    return image.quantize(palette=palette, dither=Image.Dither.NONE)


def picture_png(colour: tuple[int, int, int], size: tuple[int, int] = (16, 8)) -> bytes:
    """A small real PNG of one colour, as a panel sends its own screenshot."""
    return wire.screenshot_png(wire.Frame.from_image(Image.new("RGB", size, colour)))


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until ``condition()`` is truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(interval)


def same_pixels(path: Path, expected: Image.Image) -> bool:
    """What a person would see: every pixel's colour, whatever the PNG's internal mode; False if unreadable."""
    try:
        with Image.open(path) as shown:
            return (
                shown.size == expected.size
                and shown.convert("RGB").tobytes() == expected.convert("RGB").tobytes()
            )
    except (OSError, SyntaxError):
        return False


def client_as(app: Flask, name: str, role: str = "admin", commune: str | None = None) -> FlaskClient:
    """A test client acting, through a fresh token, as that user (created with that role if missing)."""
    with app.app_context():
        token = user_token(get_db(), name, role, commune)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def on_panel(app: Flask, panel_id: str) -> list[str]:
    """The texts of the messages and alerts in the panel's signed schedule, as the panel will receive it
    (none before any); the panel gets only their frames, so each item is named back to its text."""
    with app.app_context():
        db = get_db()
        row = db.execute("select payload from desired where panel_id = ?", [panel_id]).fetchone()
        if row is None:
            return []
        schedule = wire.unseal(row[0], context.signing_key().public_key()).desired_schedule()
        texts = {item_id_for(r["id"]): r["text"] for r in db.query("select id, text from messages")}
        texts |= {alert_item_id(r["id"]): r["text"] for r in db.query("select id, text from alerts")}
    return [texts.get(item.item_id, "") for item in schedule.items]


def record_report(db: Database, report: status.Report, received_at: float) -> None:
    """A panel's state or event recorded as the MQTT link records it, in a transaction of its own."""
    with transaction(db):
        status.record_reports(db, [report], received_at)
