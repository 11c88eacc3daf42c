"""One behaviour suite for serial LED signs: on a real Alpha sign when RELAIS_HIL_SERIAL names its port,
else on the simulator behind a pseudo-terminal (what CI runs). See hil_tests/README.md.

A real sign cannot be read back, so the pixel checks run on the simulator only and a person watches
the hardware; checks that need hardware are skipped, saying so, without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import serial
from PIL import Image

from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from panel_agent.backends import create_backend
from panel_agent.backends.alpha import AlphaBackend, SignError
from panel_agent.protocols import alpha as protocol
from panel_agent.simulators.alpha_sign import PtySign, SignSimulator

HARDWARE_PORT = os.environ.get("RELAIS_HIL_SERIAL")
ACK = os.environ.get("RELAIS_HIL_ACK") == "1"  # the sign is set to answer ACK/NAK
PROFILE = os.environ.get("RELAIS_HIL_PROFILE", "led-amber-96x16")
NO_HARDWARE = "no sign configured: set RELAIS_HIL_SERIAL=/dev/ttyUSB0 (see hil_tests/README.md)"
WATCH_S = float(os.environ.get("RELAIS_HIL_WATCH_S", "0"))  # on hardware: time to look at each step


@dataclass
class Target:
    """Where the backend's bytes go; ``sign`` is the simulator, None on hardware."""

    name: str
    settings: dict[str, Any]
    sign: SignSimulator | None

    def backend(self, **settings: Any) -> AlphaBackend:
        made = create_backend("alpha", {**self.settings, **settings}, panel_id="hil")
        assert isinstance(made, AlphaBackend)
        return made

    def shows(self, expected: Image.Image) -> None:
        """On the simulator, the pixels; on hardware, a pause for the person watching."""
        if self.sign is None:
            time.sleep(WATCH_S)
            return
        assert self.sign.image().tobytes() == expected.convert("RGB").tobytes()


def frame(text: str) -> Image.Image:
    profile = get_profile(PROFILE)
    return render(MessageContent(body=text), profile).pages[0].frame.image()


@pytest.fixture(params=["hardware" if HARDWARE_PORT else "simulator"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    profile = get_profile(PROFILE)
    size = {"width": profile.width, "height": profile.height, "ack": ACK or not HARDWARE_PORT}
    if HARDWARE_PORT:
        yield Target("hardware", {"port": HARDWARE_PORT, **size}, None)
        return
    sign = SignSimulator(profile.width, profile.height, ack=True)
    with PtySign(sign) as server:
        yield Target("simulator", {"port": server.path, **size, **PtySign.LINE_8N1}, sign)


def test_a_rendered_frame_is_shown(target: Target) -> None:
    alpha = target.backend()
    try:
        for text in ("Fête à 21 h", "Route barrée", "Marché de Noël"):
            image = frame(text)
            alpha.display(image)
            target.shows(image)
    finally:
        alpha.close()


def test_the_sign_survives_a_closed_and_reopened_port(target: Target) -> None:
    for text in ("Première", "Deuxième"):
        alpha = target.backend()
        image = frame(text)
        alpha.display(image)
        alpha.close()
        target.shows(image)


def test_a_corrupt_frame_changes_nothing(target: Target) -> None:
    alpha = target.backend()
    image = frame("Fête à 21 h")
    alpha.display(image)
    alpha.close()
    packet = bytearray(protocol.text_file_packet("A", "ERREUR"))
    packet[-3] ^= 0x01  # a checksum digit
    line = {k: target.settings[k] for k in ("bytesize", "parity") if k in target.settings}
    with serial.serial_for_url(target.settings["port"], timeout=2, **line) as wire:
        wire.write(bytes(packet))
        wire.flush()
        time.sleep(0.2)
    target.shows(image)
    if target.sign is not None:
        assert len(target.sign.errors) == 1


def test_brightness_steps(target: Target) -> None:
    alpha = target.backend(dimming=True)
    try:
        for level in (100, 44, 100):
            alpha.set_brightness(level)
            if target.sign is not None:
                assert target.sign.brightness == level
            time.sleep(WATCH_S)
    finally:
        alpha.close()


def test_french_text_in_the_signs_own_font(target: Target) -> None:
    alpha = target.backend()
    try:
        alpha.show_text("Fête à l'église, ça où")
        time.sleep(WATCH_S)
        if target.sign is not None:
            assert target.sign.errors == []
    finally:
        alpha.close()


@pytest.mark.skipif(not HARDWARE_PORT, reason=NO_HARDWARE)
def test_hardware_sets_its_clock() -> None:
    with serial.serial_for_url(HARDWARE_PORT, baudrate=9600, bytesize=7, parity="E", timeout=2) as wire:
        wire.write(protocol.time_set_packet(datetime.now()))
        wire.flush()
        if ACK:
            assert wire.read(1) == protocol.ACK


@pytest.mark.skipif(not HARDWARE_PORT, reason=NO_HARDWARE)
@pytest.mark.skipif(not ACK, reason="the sign is not set to answer: set RELAIS_HIL_ACK=1 once it is")
def test_hardware_answers_nak_to_a_bad_checksum() -> None:
    packet = bytearray(protocol.time_set_packet(datetime.now()))
    packet[-3] ^= 0x01
    with serial.serial_for_url(HARDWARE_PORT, baudrate=9600, bytesize=7, parity="E", timeout=2) as wire:
        wire.write(bytes(packet))
        assert wire.read(1) == protocol.NAK


@pytest.mark.skipif(not HARDWARE_PORT, reason=NO_HARDWARE)
def test_hardware_unplugged_adapter_is_a_sign_error() -> None:
    alpha = create_backend(
        "alpha", {"port": "/dev/relais-no-such-tty", "width": 96, "height": 16}, panel_id="hil"
    )
    with pytest.raises(SignError):
        alpha.display(frame("x"))
