"""An Alpha sign in software: the backend's tests, and a desk without a sign, talk to it over real bytes.

``SignSimulator`` takes the byte stream as a sign does: it waits for SOH, reads to EOT, checks framing
and checksum, and ignores (counts in ``errors``) anything malformed; with ``ack`` it answers ACK or NAK
like a sign set to answer. It keeps its memory (the files the last "E$" allocated and their contents)
and ``image()`` is what its LEDs show now: the first TEXT file, with the DOTS pictures it calls and its
text in the repository's 7-pixel font. Not simulated: animations (the first frame of any mode is
shown), run sequences and schedules, fonts other than one, the clock's display.

``PtySign`` serves it on a pseudo-terminal (give ``path`` to the backend as its port), ``SocketSign``
on ``socket://127.0.0.1:<port>``. From a shell::

    python -m panel_agent.simulators.alpha_sign --pty --png sign.png

prints the device path, writes what the sign shows to ``sign.png`` at each change, and stops on
SIGTERM, SIGINT or after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import io
import os
import select
import signal
import socket
import sys
import threading
import tomllib
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, TypeVar

from PIL import Image, ImageDraw, ImageFont

from panel_agent.protocols import alpha as protocol
from panel_agent.protocols.alpha import AlphaError, DotsFileSpec, FileSpec, TextFileSpec
from relais.files import atomic_write

# What each DOTS or text colour code lights, in the controller's LED profile colours (amber 255,176,0
# and red 255,40,0), so that a screenshot of the simulator compares equal to the rendered frame.
LED_RGB = {
    "0": (0, 0, 0),
    "1": (255, 40, 0),
    "2": (0, 255, 0),
    "3": (255, 176, 0),
    "4": (128, 20, 0),
    "5": (0, 128, 0),
    "6": (128, 88, 0),
    "7": (255, 128, 0),
    "8": (255, 255, 0),
}
DEFAULT_TEXT_COLOUR = "3"
FONTS_TOML = Path(__file__).resolve().parents[2] / "fonts" / "fonts.toml"
FONT_PX = 7
MAX_FRAME = 1 << 20  # bytes without EOT after which a sign would have given up on the frame
POLL_S = 0.05
Spec = TypeVar("Spec", TextFileSpec, DotsFileSpec)


@dataclass
class SignFile:
    """One allocated file and what was last written to it (None: nothing yet)."""

    spec: FileSpec
    content: bytes | list[str] | None = None


class SignSimulator:
    """The state of one sign, fed bytes by a transport; thread-safe."""

    def __init__(
        self,
        width: int,
        height: int,
        *,
        ack: bool = False,
        address: str = "00",
        memory_bytes: int = 32 * 1024,
        on_change: Callable[[Image.Image], None] | None = None,
        on_error: Callable[[AlphaError], None] | None = None,
    ) -> None:
        self.width, self.height = width, height
        self.ack = ack
        self.address = address
        self.memory_bytes = memory_bytes
        self.files: dict[str, SignFile] = {}
        self.errors: list[AlphaError] = []
        self.accepted = 0  # transmissions taken
        self.version = 0  # bumped each time what the sign shows may have changed
        self.clock: str | None = None  # HHMM of the last Set Time of Day
        self.brightness = 100
        self._on_change, self._on_error = on_change, on_error
        self._buffer = bytearray()
        self._changed = threading.Condition()

    def feed(self, data: bytes) -> bytes:
        """Take bytes off the line; return the answers (ACK/NAK) to send back, if ``ack``."""
        answers = bytearray()
        for byte in data:
            if byte == protocol.SOH[0]:
                if any(self._buffer):
                    answers += self._reject(AlphaError("frame cut short by a new SOH", len(self._buffer)))
                self._buffer = bytearray(protocol.SOH)
            elif byte == protocol.EOT[0]:
                self._buffer.append(byte)
                answers += self._frame(bytes(self._buffer))
                self._buffer.clear()
            elif self._buffer or byte:  # NULs between frames are the sync, not data
                self._buffer.append(byte)
                if len(self._buffer) > MAX_FRAME:
                    answers += self._reject(AlphaError("no EOT", len(self._buffer)))
                    self._buffer.clear()
        return bytes(answers)

    def wait_for_change(self, after: int, timeout: float) -> bool:
        """Block until ``version`` is past ``after``; False after ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.version > after, timeout)

    def image(self) -> Image.Image:
        """What the LEDs show now: the first TEXT file in memory that has content, else nothing lit."""
        with self._changed:
            canvas = Image.new("RGB", (self.width, self.height), LED_RGB["0"])
            # The first TEXT file written to (a TEXT file's content is always bytes).
            shown = next(
                (
                    f.content
                    for f in self.files.values()
                    if isinstance(f.spec, TextFileSpec) and isinstance(f.content, bytes)
                ),
                None,
            )
            if shown is not None:
                self._draw(canvas, shown)
            return canvas

    def _frame(self, frame: bytes) -> bytes:
        try:
            packet = protocol.parse_packet(frame)
            if not _addressed(packet.address, self.address):
                return b""  # for another sign on the line: silence
            with self._changed:
                for command in packet.commands:
                    self._apply(command)
                self.accepted += 1
                self.version += 1
                self._changed.notify_all()
        except AlphaError as exc:
            return self._reject(exc)
        if self._on_change is not None:
            self._on_change(self.image())
        return protocol.ACK if self.ack else b""

    def _reject(self, error: AlphaError) -> bytes:
        with self._changed:
            self.errors.append(error)
            self._changed.notify_all()
        if self._on_error is not None:
            self._on_error(error)
        return protocol.NAK if self.ack else b""

    def _apply(self, command: protocol.Command) -> None:
        """Carry out one command; AlphaError for what a sign refuses (nothing is changed then)."""
        data, at = command.data, command.offset
        if command.code == protocol.WRITE_SPECIAL and data[:1] == protocol.SET_MEMORY.encode():
            specs = protocol.parse_memory_config(command)
            needed = sum(s.size if isinstance(s, TextFileSpec) else s.width * s.height for s in specs)
            if needed > self.memory_bytes:
                raise AlphaError(f"{needed} bytes asked, {self.memory_bytes} in memory", at)
            self.files = {spec.label: SignFile(spec) for spec in specs}
        elif command.code == protocol.WRITE_SPECIAL and data[:1] == protocol.SET_TIME_OF_DAY.encode():
            hhmm = data[1:].decode("ascii")
            if len(hhmm) != 4 or not hhmm.isdigit() or int(hhmm[:2]) > 23 or int(hhmm[2:]) > 59:
                raise AlphaError(f"time of day {hhmm!r} is not HHMM", at + 1)
            self.clock = hhmm
        elif command.code == protocol.WRITE_SPECIAL and data[:1] == protocol.SET_DIMMING.encode():
            step = data[3:5].decode("ascii")
            if len(data) != 5 or not step.isdigit() or int(step) >= len(protocol.BRIGHTNESS_STEPS):
                raise AlphaError(f"dimming register {data[1:]!r} not understood", at + 1)
            self.brightness = protocol.BRIGHTNESS_STEPS[int(step)]
        elif command.code == protocol.WRITE_TEXT:
            target, text_spec = self._file(data[:1], TextFileSpec, at)
            if len(data) - 1 > text_spec.size:
                raise AlphaError(f"{len(data) - 1} bytes for a file of {text_spec.size}", at + 1)
            target.content = data[1:]
        elif command.code == protocol.WRITE_SMALL_DOTS:
            label, rows = protocol.parse_dots(command)
            target, dots_spec = self._file(label.encode(), DotsFileSpec, at)
            if not rows or len(rows) > dots_spec.height or len(rows[0]) > dots_spec.width:
                raise AlphaError(f"picture larger than file {label!r}", at + 1)
            target.content = rows
        else:
            raise AlphaError(f"command {command.code!r} {data[:1]!r} is not simulated", at - 1)

    def _file(self, label: bytes, kind: type[Spec], at: int) -> tuple[SignFile, Spec]:
        """The file ``label`` of the memory configuration, and its spec, which must be a ``kind``."""
        found = self.files.get(label.decode("ascii"))
        if found is None or not isinstance(found.spec, kind):
            raise AlphaError(f"no {kind.__name__[:-4]} file {label!r} in the memory configuration", at)
        return found, found.spec

    def _draw(self, canvas: Image.Image, content: bytes) -> None:
        """Lay out a TEXT file left to right: pictures it calls, then characters in the built-in font."""
        draw = ImageDraw.Draw(canvas)
        draw.fontmode = "1"
        font = _font()
        x, colour, i = 0, DEFAULT_TEXT_COLOUR, 0
        if content[:1] == protocol.ESC:
            i = 3  # display position and mode: one static frame whatever they are
        while i < len(content):
            byte, arg = content[i], content[i + 1 : i + 2]
            if byte == protocol.CALL_PICTURE[0]:
                picture = self.files.get(arg.decode("ascii"))
                if picture is not None and isinstance(picture.content, list):
                    for y, row in enumerate(picture.content):
                        for dx, code in enumerate(row):
                            if code != "0" and 0 <= x + dx < self.width and y < self.height:
                                canvas.putpixel((x + dx, y), LED_RGB[code])
                    x += len(picture.content[0])
                i += 2
            elif byte == protocol.SELECT_COLOUR[0]:
                colour = arg.decode("ascii") if arg.decode("ascii") in LED_RGB else DEFAULT_TEXT_COLOUR
                i += 2
            elif byte in (protocol.SELECT_FONT[0], protocol.EXTENDED[0]):
                if byte == protocol.EXTENDED[0]:
                    x = _glyph(draw, font, x, self.height, protocol.EXTENDED_BY_CODE.get(arg[0], "?"), colour)
                i += 2
            else:
                if byte >= 0x20:
                    x = _glyph(draw, font, x, self.height, chr(byte), colour)
                i += 1


class PtySign:
    """Serve a simulator on a pseudo-terminal whose slave ``path`` is the backend's port.

    A Linux pseudo-terminal keeps 8N1 whatever is asked: it takes 7E1 at the first opening, then
    refuses it (EINVAL) when the port is opened again. Backends that open the port more than once use
    ``LINE_8N1``; parity means nothing on a pseudo-terminal anyway.
    """

    LINE_8N1: ClassVar[dict[str, Any]] = {"bytesize": 8, "parity": "N"}

    def __init__(self, sign: SignSimulator) -> None:
        self.sign = sign
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing before the backend configures the port
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alpha-pty-sign", daemon=True)

    def start(self) -> PtySign:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self._master)
        os.close(self._slave)

    def __enter__(self) -> PtySign:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        # Our own slave descriptor stays open, so reads never see EIO when the backend closes the port.
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], POLL_S)
            if ready:
                answer = self.sign.feed(os.read(self._master, 4096))
                if answer:
                    os.write(self._master, answer)


class SocketSign:
    """Serve a simulator on a loopback TCP port, one client at a time: ``url`` is the backend's port."""

    def __init__(self, sign: SignSimulator, port: int = 0) -> None:
        self.sign = sign
        self._server = socket.create_server(("127.0.0.1", port))
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alpha-socket-sign", daemon=True)

    def start(self) -> SocketSign:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    def __enter__(self) -> SocketSign:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        client: socket.socket | None = None
        try:
            while not self._stop.is_set():
                waiting = [self._server] + ([client] if client else [])
                ready, _, _ = select.select(waiting, [], [], POLL_S)
                if self._server in ready:
                    if client is not None:
                        client.close()
                    client, _ = self._server.accept()
                elif client is not None and client in ready:
                    data = client.recv(4096)
                    if not data:
                        client.close()
                        client = None
                        continue
                    answer = self.sign.feed(data)
                    if answer:
                        client.sendall(answer)
        finally:
            if client is not None:
                client.close()


def _addressed(address: str, own: str) -> bool:
    return address == "00" or all(a in ("?", b) for a, b in zip(address, own, strict=True))


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The repository's 7-pixel ``pixel`` font; Pillow's default where the fonts folder is not installed."""
    try:
        with FONTS_TOML.open("rb") as handle:
            file = tomllib.load(handle)["families"]["pixel"]["sizes"][str(FONT_PX)]["file"]
        return ImageFont.truetype(str(FONTS_TOML.parent / file), FONT_PX)
    except (OSError, KeyError):
        return ImageFont.load_default()


def _glyph(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    x: int,
    height: int,
    char: str,
    colour: str,
) -> int:
    draw.text((x, (height - FONT_PX) // 2), char, font=font, fill=LED_RGB[colour])
    return x + round(draw.textlength(char, font=font))


def main(argv: list[str] | None = None) -> int:
    """Run a simulated sign until SIGTERM, SIGINT or ``--timeout``; print its port on the first line."""
    parser = argparse.ArgumentParser(
        prog="python -m panel_agent.simulators.alpha_sign", description=__doc__.split("\n")[0]
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal; prints its path")
    where.add_argument(
        "--socket", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (0: any free port)"
    )
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--height", type=int, default=16)
    parser.add_argument("--ack", action="store_true", help="answer ACK or NAK after each transmission")
    parser.add_argument("--png", type=Path, help="write what the sign shows to this file at each change")
    parser.add_argument("--timeout", type=float, default=3600.0, help="stop after this many seconds (3600)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be above 0: the simulator always stops by itself")

    def write_png(image: Image.Image) -> None:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        atomic_write(args.png, buffer.getvalue())

    def report(error: AlphaError) -> None:
        print(f"rejected: {error}", file=sys.stderr, flush=True)

    sign = SignSimulator(
        args.width, args.height, ack=args.ack, on_change=write_png if args.png else None, on_error=report
    )
    server: PtySign | SocketSign = PtySign(sign) if args.pty else SocketSign(sign, args.socket)
    done = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with server:
        print(server.path if isinstance(server, PtySign) else server.url, flush=True)
        done.wait(args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
