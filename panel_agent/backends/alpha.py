"""Serial LED signs speaking the Alpha protocol (Alpha American, BetaBrite), over RS-232, USB or TCP.

A sign draws text in its own fonts, but Relais frames are rendered by the controller: so each frame
goes to the sign as a SMALL DOTS picture, shown by a TEXT file that only calls that picture, and the
sign shows exactly the rendered pixels. The sign's memory is configured once per opening of the port
(one TEXT file, one DOTS file of the panel's size).

``port`` is any pyserial URL: a device (``/dev/ttyUSB0``), ``socket://host:port`` (a serial server or
the simulator), ``rfc2217://host:port``, ``loop://``. It is opened at the first display, not at start,
so an agent whose sign is unplugged starts and reports the fault on its first frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import serial
from PIL import Image, ImageChops

from panel_agent.backends import Backend, BackendSettingError, Capabilities
from panel_agent.protocols import alpha as protocol

TEXT_LABEL, PICTURE_LABEL = "A", "P"
TEXT_SIZE = 256  # bytes allocated to the TEXT file: the picture call, or a short text from show_text()
ON_LEVEL = 128  # a pixel is lit when its brightest channel is at least half on (1-bit frames: exactly)
URL_SCHEMES = {"socket", "rfc2217", "loop", "spy", "hwgrep", "alt"}
PIXEL_CODES = {"amber": "3", "red": "1", "green": "2"}
DEFAULTS: dict[str, Any] = {
    "baudrate": 9600,
    "bytesize": 7,
    "parity": "E",
    "stopbits": 1,
    "address": protocol.BROADCAST,
    "type_code": protocol.ALL_SIGNS,
    "extended_chars": True,
    "colour": "amber",
    "timeout_s": 2.0,
    "ack": False,
    "dimming": False,
}
KEYS = {"port", "width", "height", *DEFAULTS}


class SignError(RuntimeError):
    """The sign could not be reached or refused a packet: port error, write or answer timeout, NAK."""


class AlphaBackend(Backend):
    """An Alpha sign on a serial line; settings documented in ``check_settings``."""

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], *, base_dir: Path) -> dict[str, Any]:
        """Check every key of the ``[backend]`` table for ``name = "alpha"``.

        ``port`` (required), ``width`` and ``height`` (required, 1 to 255: a SMALL DOTS picture),
        ``baudrate`` (9600), ``bytesize`` (7), ``parity`` ("E"), ``stopbits`` (1): the signs' 7E1;
        ``address`` ("00", all signs), ``type_code`` ("Z", all kinds), ``extended_chars`` (true: the
        sign has the extended character set), ``colour`` of its LEDs ("amber", "red", "green"),
        ``timeout_s`` (2.0) for writes and answers, ``ack`` (false: wait for the sign's ACK/NAK after
        each packet, for signs set to answer), ``dimming`` (false: the sign has a dimmer, see
        ``protocol.BRIGHTNESS_STEPS``).
        """
        unknown = sorted(set(settings) - KEYS)
        if unknown:
            raise BackendSettingError(
                unknown[0], f"unknown key for the alpha backend (known: {', '.join(sorted(KEYS))})"
            )
        checked = {**DEFAULTS, **settings}
        port = checked.get("port")
        if port is None:
            raise BackendSettingError("port", "missing; e.g. /dev/ttyUSB0 or socket://host:port")
        if not isinstance(port, str) or not port.strip():
            raise BackendSettingError("port", "must be a non-empty string (a device path or a pyserial URL)")
        if "://" in port and port.split("://", 1)[0] not in URL_SCHEMES:
            raise BackendSettingError(
                "port", f"unknown URL scheme in {port!r}; known: {', '.join(sorted(URL_SCHEMES))}"
            )
        for key in ("width", "height"):
            if key not in settings:
                raise BackendSettingError(key, "missing; the sign's size in pixels")
            _integer(key, checked[key], 1, protocol.MAX_DOTS_SIDE)
        _integer("baudrate", checked["baudrate"], 1, 4_000_000)
        _choice("bytesize", checked["bytesize"], (7, 8))
        _choice("parity", checked["parity"], ("E", "O", "N"))
        _choice("stopbits", checked["stopbits"], (1, 2))
        address = checked["address"]
        if (
            not isinstance(address, str)
            or len(address) != 2
            or any(c not in "0123456789ABCDEF" for c in address)
        ):
            raise BackendSettingError(
                "address", f'must be two upper-case hex digits ("00": all signs), not {address!r}'
            )
        type_code = checked["type_code"]
        if not isinstance(type_code, str) or len(type_code) != 1 or not " " < type_code <= "~":
            raise BackendSettingError(
                "type_code", f'must be one printable character ("Z": all signs), not {type_code!r}'
            )
        for key in ("extended_chars", "ack", "dimming"):
            if not isinstance(checked[key], bool):
                raise BackendSettingError(key, f"must be true or false, not {checked[key]!r}")
        _choice("colour", checked["colour"], tuple(PIXEL_CODES))
        timeout = checked["timeout_s"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
            raise BackendSettingError(
                "timeout_s", f"must be a number of seconds above 0 and at most 60, not {timeout!r}"
            )
        checked["timeout_s"] = float(timeout)
        return checked

    def __init__(self, settings: Mapping[str, Any], *, panel_id: str) -> None:
        self.width = settings["width"]
        self.height = settings["height"]
        self.settings = dict(settings)
        self.panel_id = panel_id
        self._header = {"type_code": settings["type_code"], "address": settings["address"]}
        on = PIXEL_CODES[settings["colour"]]
        self._codes = {
            level: (on if level >= ON_LEVEL else protocol.DOTS_COLOURS["off"]) for level in range(256)
        }
        self._serial: serial.Serial | None = None
        self._lock = threading.Lock()
        # A sign redraws its whole DOTS picture; it dims only when the model has a dimmer.
        self.capabilities = Capabilities(colours="mono", partial_refresh=False, dimming=settings["dimming"])

    def display(self, image: Image.Image) -> None:
        """Send ``image`` as the DOTS picture, then the TEXT file that calls it (which restarts the show)."""
        if image.size != (self.width, self.height):
            raise ValueError(
                f"image is {image.width}x{image.height}, this sign is {self.width}x{self.height}"
            )
        rgb = image.convert("RGB")
        brightest = ImageChops.lighter(ImageChops.lighter(*rgb.split()[:2]), rgb.split()[2])
        dots = protocol.dots_packet(PICTURE_LABEL, brightest, self._codes, **self._header)
        text = protocol.text_file_packet(TEXT_LABEL, picture=PICTURE_LABEL, **self._header)
        with self._lock:
            self._send(*protocol.split_dots_packet(dots))
            self._send(text)

    def show_text(self, text: str) -> None:
        """Show ``text`` in the sign's own font (accents per ``extended_chars``): for tools and HIL tests."""
        packet = protocol.text_file_packet(
            TEXT_LABEL, text, mode="rotate", extended_chars=self.settings["extended_chars"], **self._header
        )
        if len(protocol.parse_packet(packet).commands[0].data) - 1 > TEXT_SIZE:
            raise ValueError(f"text too long for the {TEXT_SIZE} bytes of the sign's TEXT file")
        with self._lock:
            self._send(packet)

    def set_brightness(self, level: int) -> None:
        """Dim a sign with a dimmer (``dimming = true``) to the nearest step; others have no such command."""
        if not self.settings["dimming"]:
            return
        with self._lock:
            self._send(protocol.brightness_packet(level, **self._header))

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _open(self) -> serial.Serial:
        """The open port; at first use (or after a failure) open it and configure the sign's memory."""
        if self._serial is not None:
            return self._serial
        settings = self.settings
        try:
            line = serial.serial_for_url(
                settings["port"],
                baudrate=settings["baudrate"],
                bytesize=settings["bytesize"],
                parity=settings["parity"],
                stopbits=settings["stopbits"],
                timeout=settings["timeout_s"],
                write_timeout=settings["timeout_s"],
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise SignError(f"{settings['port']}: cannot open the sign's port ({exc})") from exc
        self._serial = line
        files: list[protocol.TextFileSpec | protocol.DotsFileSpec] = [
            protocol.TextFileSpec(TEXT_LABEL, TEXT_SIZE),
            protocol.DotsFileSpec(PICTURE_LABEL, self.width, self.height),
        ]
        self._write(line, protocol.memory_config_packet(files, **self._header))
        return line

    def _send(self, *parts: bytes) -> None:
        """One packet, in ``parts`` with DOTS_PAUSE_S between them; a failure closes the port."""
        self._write(self._open(), *parts)

    def _write(self, line: serial.Serial, *parts: bytes) -> None:
        port, timeout = self.settings["port"], self.settings["timeout_s"]
        try:
            for index, part in enumerate(parts):
                if index:
                    time.sleep(protocol.DOTS_PAUSE_S)
                line.write(part)
                line.flush()
            if self.settings["ack"]:
                answer = line.read(1)
                line.reset_input_buffer()  # drop the status byte some signs send after it
        except serial.SerialTimeoutException as exc:
            self._drop()
            raise SignError(f"{port}: write timed out after {timeout} s") from exc
        except (serial.SerialException, OSError) as exc:
            self._drop()
            raise SignError(f"{port}: {exc}") from exc
        if not self.settings["ack"]:
            return
        if not answer:
            self._drop()
            raise SignError(f"{port}: no ACK or NAK from the sign within {timeout} s")
        if answer != protocol.ACK:
            self._drop()
            what = "NAK" if answer == protocol.NAK else f"0x{answer[0]:02X} instead of ACK"
            raise SignError(f"{port}: the sign answered {what}")

    def _drop(self) -> None:
        """Close the port; the next packet reopens it and configures the memory again."""
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None


def _integer(key: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BackendSettingError(key, f"must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise BackendSettingError(key, f"must be between {low} and {high}, not {value}")


def _choice(key: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise BackendSettingError(key, f"must be one of {', '.join(map(repr, allowed))}, not {value!r}")
