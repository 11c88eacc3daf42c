"""Hardware in the loop: the epaper backend on a real panel, with a frame the engine renders.

Run on the Raspberry Pi with the panel attached and its library installed, e.g.
``RELAIS_HIL_EPAPER=waveshare:epd7in5_V2 .venv/bin/pytest hil_tests/test_epaper.py``; optionally
``RELAIS_HIL_EPAPER_PROFILE`` (default ``epaper-bw-800x480``) and ``RELAIS_HIL_EPAPER_ROTATE``.
Skipped otherwise. Look at the panel: the test can check timings and the absence of errors, only a
person can check the picture.
"""

from __future__ import annotations

import os
import time

import pytest

from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from panel_agent.backends import create_backend
from panel_agent.backends.epaper import EpaperBackend

DRIVER = os.environ.get("RELAIS_HIL_EPAPER", "")
PROFILE = os.environ.get("RELAIS_HIL_EPAPER_PROFILE", "epaper-bw-800x480")
ROTATE = int(os.environ.get("RELAIS_HIL_EPAPER_ROTATE", "0"))

pytestmark = pytest.mark.skipif(
    not DRIVER,
    reason="no e-paper panel: set RELAIS_HIL_EPAPER=waveshare:<module> or inky:auto|what|phat on a Pi with one",
)


@pytest.fixture(scope="module")
def backend() -> EpaperBackend:
    profile = get_profile(PROFILE)
    settings = {"driver": DRIVER, "width": profile.width, "height": profile.height, "rotate": ROTATE}
    created = create_backend("epaper", settings, panel_id="hil-epaper")
    assert isinstance(created, EpaperBackend)
    return created


def test_full_then_partial_then_no_refresh(backend: EpaperBackend) -> None:
    first, second = (
        render(MessageContent(body=text), get_profile(PROFILE)).pages[0].frame.image()
        for text in ("Mairie fermée lundi", "Réunion publique jeudi à 20 h")
    )
    start = time.monotonic()
    backend.display(first)  # full refresh: the panel flashes, then shows the text
    full_s = time.monotonic() - start
    start = time.monotonic()
    backend.display(second)  # partial where the panel has one: no flash
    second_s = time.monotonic() - start
    start = time.monotonic()
    backend.display(second)  # the same image: nothing sent to the panel
    assert time.monotonic() - start < 0.5
    print(f"\n{DRIVER}: full update {full_s:.1f} s, second update {second_s:.1f} s")
    assert full_s < backend.busy_timeout_s
