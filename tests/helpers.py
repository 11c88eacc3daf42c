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

from controller import accounts
from controller.context import get_db
from controller.db import transaction
from controller.demo import DEMO_PANELS
from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile

# The demo's own reference panels: an amber LED 192x64 and a b/w e-paper 800x480 (and an RGB LED).
DEMO_LED, DEMO_RGB, DEMO_EPAPER = DEMO_PANELS


def user_token(db: Database, name: str, role: str = "admin", commune: str | None = None) -> str:
    """A user of that role (created if missing) and a fresh API token acting as them."""
    with transaction(db):
        found = accounts.user_by_name(db, name)
        user_id = found["id"] if found else accounts.create_user(db, name, role, None, commune)
        return accounts.create_token(db, user_id, "tests")[1]


def client_for(app: Flask, name: str, role: str = "admin", commune: str | None = None) -> FlaskClient:
    """A test client acting as that user (created if missing) through a new bearer token."""
    with app.app_context():
        token = user_token(get_db(), name, role, commune)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def first_page(text: str, profile_id: str) -> Image.Image:
    """What the controller renders for a plain message on a profile: page 1 of the default layout."""
    content = MessageContent(body=text)
    return render(content, get_profile(profile_id)).pages[0].frame.image()


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
