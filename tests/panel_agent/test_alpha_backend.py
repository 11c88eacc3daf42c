"""The alpha backend end to end: real bytes over a pseudo-terminal (or TCP) to the sign simulator."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import serial
from PIL import Image

from panel_agent.backends import BackendSettingError, create_backend
from panel_agent.backends.alpha import AlphaBackend, SignError
from panel_agent.protocols import alpha as protocol
from panel_agent.simulators.alpha_sign import PtySign, SignSimulator, SocketSign
from tests.support import first_page, same_pixels, wait_for

PROFILE = "led-amber-96x16"


def rgb(image: Image.Image) -> bytes:
    return image.convert("RGB").tobytes()


@pytest.fixture
def sign() -> SignSimulator:
    return SignSimulator(96, 16, ack=True)


@pytest.fixture
def pty_sign(sign: SignSimulator) -> Iterator[PtySign]:
    with PtySign(sign) as running:
        yield running


def backend(port: str, **settings: Any) -> AlphaBackend:
    made = create_backend(
        "alpha", {"port": port, "width": 96, "height": 16, **settings}, panel_id="bourg-bus"
    )
    assert isinstance(made, AlphaBackend)
    return made


def test_a_rendered_frame_is_shown_pixel_for_pixel(sign: SignSimulator, pty_sign: PtySign) -> None:
    frame = first_page("Fête à 21 h", PROFILE)
    alpha = backend(pty_sign.path, ack=True)
    try:
        alpha.display(frame)
        assert rgb(sign.image()) == rgb(frame)
        following = first_page("Vide-grenier dimanche", PROFILE)
        alpha.display(following)
        assert rgb(sign.image()) == rgb(following)
    finally:
        alpha.close()
    assert sign.errors == []
    assert sign.accepted == 5  # memory configuration once, then a picture and its text file per frame


def test_a_corrupted_byte_on_the_wire_is_rejected(sign: SignSimulator, pty_sign: PtySign) -> None:
    alpha = backend(pty_sign.path, **PtySign.LINE_8N1)  # the port is opened again below
    alpha.display(first_page("Fête à 21 h", PROFILE))
    alpha.close()
    wait_for(lambda: sign.accepted == 3, "the first frame")
    before = rgb(sign.image())
    packet = bytearray(protocol.dots_packet("P", Image.new("L", (96, 16), 255), {255: "3"}))
    packet[40] ^= 0x01  # "3" becomes "2" in the first row: the checksum no longer adds up
    with serial.serial_for_url(pty_sign.path, timeout=2) as wire:
        wire.write(bytes(packet))
        assert wire.read(1) == protocol.NAK
        wire.write(protocol.time_set_packet(datetime.now()))  # the sign takes the next frame
        assert wire.read(1) == protocol.ACK
    assert len(sign.errors) == 1
    assert "checksum" in sign.errors[0].message
    assert rgb(sign.image()) == before


def test_socket_url(sign: SignSimulator) -> None:
    frame = first_page("Fête à 21 h", PROFILE)
    with SocketSign(sign) as server:
        alpha = backend(server.url, ack=True)
        alpha.display(frame)
        alpha.close()
    assert rgb(sign.image()) == rgb(frame)


def test_loop_url_is_accepted() -> None:
    alpha = backend("loop://")
    alpha.display(first_page("Fête à 21 h", PROFILE))
    alpha.close()


def test_a_nak_is_a_sign_error() -> None:
    small = SignSimulator(96, 16, ack=True, memory_bytes=100)  # no room for a 96x16 picture
    with PtySign(small) as server:
        alpha = backend(server.path, ack=True)
        with pytest.raises(SignError, match="answered NAK"):
            alpha.display(first_page("Fête", PROFILE))
    assert "memory" in small.errors[0].message


def test_no_answer_is_a_sign_error() -> None:
    with PtySign(SignSimulator(96, 16, ack=False)) as server:
        alpha = backend(server.path, ack=True, timeout_s=0.2)
        with pytest.raises(SignError, match="no ACK or NAK"):
            alpha.display(first_page("Fête", PROFILE))


def test_a_missing_port_is_a_sign_error_at_first_display(tmp_path: Path) -> None:
    alpha = backend(str(tmp_path / "ttyUSB9"))  # created without touching the port
    with pytest.raises(SignError, match="cannot open"):
        alpha.display(first_page("Fête", PROFILE))


def test_wrong_size_is_refused(pty_sign: PtySign) -> None:
    with pytest.raises(ValueError, match="this sign is 96x16"):
        backend(pty_sign.path).display(Image.new("RGB", (96, 8)))


def test_brightness_only_on_signs_with_a_dimmer(sign: SignSimulator, pty_sign: PtySign) -> None:
    plain = backend(pty_sign.path, ack=True, **PtySign.LINE_8N1)
    plain.set_brightness(50)
    assert sign.accepted == 0
    dimmed = backend(pty_sign.path, ack=True, dimming=True, **PtySign.LINE_8N1)
    dimmed.set_brightness(60)
    dimmed.close()
    assert sign.brightness == 58


def test_text_in_the_signs_font_with_accents(sign: SignSimulator, pty_sign: PtySign) -> None:
    def shown(text: str, extended_chars: bool = True) -> bytes:
        alpha = backend(pty_sign.path, ack=True, extended_chars=extended_chars, **PtySign.LINE_8N1)
        try:
            alpha.show_text(text)
        finally:
            alpha.close()
        return rgb(sign.image())

    with_accent = shown("Fête")
    assert with_accent != shown("Fête", extended_chars=False)  # ê drawn, then a plain e
    assert shown("Fête", extended_chars=False) == shown("Fete")
    assert sign.errors == []


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"width": 96, "height": 16}, "port"),
        ({"port": "", "width": 96, "height": 16}, "port"),
        ({"port": "ftp://sign", "width": 96, "height": 16}, "port"),
        ({"port": "loop://", "height": 16}, "width"),
        ({"port": "loop://", "width": 300, "height": 16}, "width"),
        ({"port": "loop://", "width": 96, "height": True}, "height"),
        ({"port": "loop://", "width": 96, "height": 16, "baudrate": "9600"}, "baudrate"),
        ({"port": "loop://", "width": 96, "height": 16, "bytesize": 6}, "bytesize"),
        ({"port": "loop://", "width": 96, "height": 16, "parity": "even"}, "parity"),
        ({"port": "loop://", "width": 96, "height": 16, "stopbits": 3}, "stopbits"),
        ({"port": "loop://", "width": 96, "height": 16, "address": "0g"}, "address"),
        ({"port": "loop://", "width": 96, "height": 16, "type_code": ""}, "type_code"),
        ({"port": "loop://", "width": 96, "height": 16, "extended_chars": "yes"}, "extended_chars"),
        ({"port": "loop://", "width": 96, "height": 16, "colour": "blue"}, "colour"),
        ({"port": "loop://", "width": 96, "height": 16, "timeout_s": 0}, "timeout_s"),
        ({"port": "loop://", "width": 96, "height": 16, "ack": 1}, "ack"),
        ({"port": "loop://", "width": 96, "height": 16, "dimming": None}, "dimming"),
        ({"port": "loop://", "width": 96, "height": 16, "baud": 9600}, "baud"),
    ],
)
def test_settings_errors_name_the_key(settings: dict[str, Any], key: str) -> None:
    with pytest.raises(BackendSettingError) as caught:
        AlphaBackend.check_settings(settings, base_dir=Path.cwd())
    assert caught.value.key == key


def test_settings_defaults() -> None:
    checked = AlphaBackend.check_settings(
        {"port": "rfc2217://10.0.0.7:4001", "width": 96, "height": 16}, base_dir=Path.cwd()
    )
    defaults = {
        "baudrate": 9600,
        "bytesize": 7,
        "parity": "E",
        "stopbits": 1,
        "address": "00",
        "type_code": "Z",
    }
    assert {key: checked[key] for key in defaults} == defaults
    assert checked["extended_chars"] is True


def test_command_line_simulator_on_a_pty(tmp_path: Path) -> None:
    png = tmp_path / "sign.png"
    command = [
        sys.executable,
        "-m",
        "panel_agent.simulators.alpha_sign",
        "--pty",
        "--png",
        str(png),
        "--timeout",
        "30",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10)
        assert ready, "the simulator printed no device path"
        path = process.stdout.readline().strip()
        assert path.startswith("/dev/")
        frame = first_page("Fête à 21 h", PROFILE)
        alpha = backend(path)
        alpha.display(frame)
        alpha.close()
        wait_for(lambda: same_pixels(png, frame), "the simulator's PNG to show the frame", timeout=10)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
