"""The Alpha Sign Communications Protocol: bytes for Alpha American and BetaBrite serial LED signs.

Pure functions, no I/O, so both the backend and the sign simulator build and parse with the same code
and the tests can check packets byte for byte.

Written from the public protocol document (Adaptive Micro Systems / Alpha American, "Alpha Sign
Communications Protocol", the "M-Protocol" PDF). One transmission is::

    NUL x5  SOH  type code  address(2)  STX  command  data  ETX  checksum(4)  EOT

- the NULs let a sign lock on to the baud rate (autobaud); a sign at a fixed rate ignores them;
- type code: one character, "Z" for every kind of sign; address: two hex digits, "00" broadcast;
- the checksum is the 16-bit sum of every byte from STX through ETX, as 4 upper-case ASCII hex digits;
  the protocol makes ETX and the checksum optional, so a packet without them is accepted by parsing;
- several STX ... blocks may be nested in one transmission; we send one command per transmission,
  which avoids the 100 ms pause the document asks for after each nested STX.

Details written from memory of that document and not checked against a real sign are marked
"Unsure" below; ``hil_tests/`` is where they meet hardware.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from PIL import Image

NUL, SOH, STX, ETX, EOT = b"\x00", b"\x01", b"\x02", b"\x03", b"\x04"
ACK, NAK = b"\x06", b"\x15"  # answers of a sign with ACK/NAK responses turned on (Alpha 2.0 and later)
SYNC = NUL * 5
FRAMING = frozenset(b"\x01\x02\x03\x04")  # never inside a command's data

# Control codes inside a TEXT file.
ESC = b"\x1b"  # ESC + display position + mode code
EXTENDED = b"\x08"  # + code: a character of the extended set
CALL_PICTURE = b"\x14"  # + label: show a SMALL DOTS picture here
SELECT_FONT = b"\x1a"  # + font code
SELECT_COLOUR = b"\x1c"  # + colour code
CR = b"\r"  # ends each row of a DOTS picture

# Command codes, and the special functions (first data byte of command "E").
WRITE_TEXT, WRITE_SPECIAL, WRITE_SMALL_DOTS = "A", "E", "I"
SET_TIME_OF_DAY, SET_MEMORY, SET_DIMMING = " ", "$", "/"

ALL_SIGNS, BROADCAST = "Z", "00"
# The document asks for a 100 ms pause after the height and width of a SMALL DOTS picture, while the
# sign makes room for it: the backend sends a DOTS packet in two writes (see ``split_dots_packet``).
DOTS_PAUSE_S = 0.1
MAX_DOTS_SIDE = 0xFF  # two hex digits each; real signs are smaller (e.g. BetaBrite 80x7, 4200 series 16 rows)

POSITIONS = {"middle": " ", "top": '"', "bottom": "&", "fill": "0", "left": "1", "right": "2"}
MODES = {
    "rotate": "a",
    "hold": "b",
    "flash": "c",
    "roll_up": "e",
    "roll_down": "f",
    "roll_left": "g",
    "roll_right": "h",
    "wipe_up": "i",
    "wipe_down": "j",
    "wipe_left": "k",
    "wipe_right": "l",
    "scroll": "m",
    "automode": "o",
    "roll_in": "p",
    "roll_out": "q",
    "wipe_in": "r",
    "wipe_out": "s",
    "compressed_rotate": "t",
}
TEXT_COLOURS = {
    "red": "1",
    "green": "2",
    "amber": "3",
    "dim_red": "4",
    "dim_green": "5",
    "brown": "6",
    "orange": "7",
    "yellow": "8",
    "rainbow_1": "9",
    "rainbow_2": "A",
    "colour_mix": "B",
    "autocolour": "C",
}
FONTS = {
    "five_high": "1",
    "five_stroke": "2",
    "seven_high": "3",
    "seven_stroke": "4",
    "seven_high_fancy": "5",
    "ten_high": "6",
    "seven_shadow": "7",
    "full_height_fancy": "8",
    "full_height": "9",
}
# One character per pixel in a DOTS picture. A one-colour sign lights any non-"0" pixel in its colour.
DOTS_COLOURS = {
    "off": "0",
    "red": "1",
    "green": "2",
    "amber": "3",
    "dim_red": "4",
    "dim_green": "5",
    "brown": "6",
    "orange": "7",
    "yellow": "8",
}
# Memory configuration: the colour depth of a SMALL DOTS file. Unsure: "8000" for eight colours (one
# open-source library writes "4000"); we only use "1000" and "2000".
DOTS_DEPTHS = {"mono": "1000", "tricolour": "2000", "octocolour": "8000"}
TEXT_ALWAYS = "FF00"  # TEXT file start/stop times: start "FF" means "always", the stop time is then ignored

# The steps of the Set Dimming Register function ("E/"), brightest first, in percent. Unsure: the
# level's encoding (index "00"-"04") and the two-digit dimming mode before it ("00" sent here). Only
# signs with a dimmer take it (Alpha 2.0/3.0 signs such as the 4000 and 7000 series and AlphaEclipse,
# as far as we know); a BetaBrite or an Alpha 1.0 sign ignores it, or answers NAK with ACK/NAK on.
BRIGHTNESS_STEPS = (100, 86, 72, 58, 44)

# The extended character set: 0x08 then a code. Its first codes follow IBM code page 437 from 0x80
# (Ç ü é â ä à å ç ê ë è ï î ì Ä Å É æ Æ ô ö ò û ù ÿ ...), shifted down to 0x20. These are the French
# letters it has; capitals other than Ç and É, and œ Œ « » €, are not in it. Unsure: from memory of the
# document's table, to check on each sign model (hil_tests/), hence the ``extended_chars`` setting.
EXTENDED_CHARS: dict[str, int] = {
    "Ç": 0x20,
    "ü": 0x21,
    "é": 0x22,
    "â": 0x23,
    "ä": 0x24,
    "à": 0x25,
    "ç": 0x27,
    "ê": 0x28,
    "ë": 0x29,
    "è": 0x2A,
    "ï": 0x2B,
    "î": 0x2C,
    "É": 0x30,
    "æ": 0x31,
    "Æ": 0x32,
    "ô": 0x33,
    "ö": 0x34,
    "û": 0x36,
    "ù": 0x37,
    "ÿ": 0x38,
}
EXTENDED_BY_CODE = {code: char for char, code in EXTENDED_CHARS.items()}
# What stays readable when a character has no code: typographic signs French text uses, then the
# letters unicodedata cannot strip to ASCII.
FALLBACK = {
    "œ": "oe",
    "Œ": "OE",
    "æ": "ae",
    "Æ": "AE",
    "€": "EUR",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "„": '"',
    "’": "'",
    "\u2018": "'",  # left single quotation mark
    "–": "-",
    "—": "-",
    "…": "...",
    "°": "o",
}


class AlphaError(ValueError):
    """Bytes that are not a well-formed Alpha transmission; ``position`` is the offending byte's index."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"byte {position}: {message}")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Command:
    """One STX block: its command code and data; ``offset`` is where the data starts in the transmission."""

    code: str
    data: bytes
    offset: int


@dataclass(frozen=True)
class Packet:
    """A parsed transmission: who it is for, and its commands (one unless nested)."""

    type_code: str
    address: str
    commands: tuple[Command, ...]


@dataclass(frozen=True)
class TextFileSpec:
    """A TEXT file to allocate: ``size`` bytes, shown at all times."""

    label: str
    size: int


@dataclass(frozen=True)
class DotsFileSpec:
    """A SMALL DOTS picture file to allocate: its size in pixels and colour depth (see DOTS_DEPTHS)."""

    label: str
    width: int
    height: int
    depth: str = "tricolour"


FileSpec = TextFileSpec | DotsFileSpec


def checksum(block: bytes) -> bytes:
    """The 4 ASCII hex digits of the 16-bit sum of ``block`` (STX through ETX)."""
    return f"{sum(block) & 0xFFFF:04X}".encode("ascii")


def build_packet(command: str, data: bytes, *, type_code: str = ALL_SIGNS, address: str = BROADCAST) -> bytes:
    """One whole transmission carrying one command, with ETX and checksum."""
    _check_header(type_code, address)
    if len(command) != 1 or not "A" <= command <= "Z":
        raise ValueError(f"command code must be one capital letter, not {command!r}")
    for index, byte in enumerate(data):
        if byte in FRAMING or byte > 0x7F:
            raise ValueError(
                f"data byte {index} is 0x{byte:02X}: framing bytes and 8-bit bytes cannot be sent"
            )
    body = STX + command.encode("ascii") + data + ETX
    return SYNC + SOH + type_code.encode("ascii") + address.encode("ascii") + body + checksum(body) + EOT


def text_file_packet(
    label: str = "A",
    text: str = "",
    *,
    picture: str | None = None,
    position: str = "fill",
    mode: str = "hold",
    colour: str | None = None,
    font: str | None = None,
    extended_chars: bool = True,
    type_code: str = ALL_SIGNS,
    address: str = BROADCAST,
) -> bytes:
    """Write TEXT file ``label``: display position and mode, then font, colour, a picture call, the text.

    ``picture`` is the label of a SMALL DOTS file shown before the text: a text file calling one picture
    is how a sign shows a whole frame drawn elsewhere.
    """
    data = _label(label) + ESC + _code(POSITIONS, position, "position") + _code(MODES, mode, "mode")
    if font is not None:
        data += SELECT_FONT + _code(FONTS, font, "font")
    if colour is not None:
        data += SELECT_COLOUR + _code(TEXT_COLOURS, colour, "colour")
    if picture is not None:
        data += CALL_PICTURE + _label(picture)
    data += encode_text(text, extended_chars=extended_chars)
    return build_packet(WRITE_TEXT, data, type_code=type_code, address=address)


def dots_packet(
    label: str,
    image: Image.Image,
    palette_map: Mapping[Any, str],
    *,
    type_code: str = ALL_SIGNS,
    address: str = BROADCAST,
) -> bytes:
    """Write SMALL DOTS picture ``label``: height and width in hex, then one row of colour codes per CR.

    ``palette_map`` maps each pixel value of ``image`` (a palette index, a grey level, an RGB tuple:
    whatever ``image`` holds) to a DOTS_COLOURS code; a value it lacks is a ValueError naming the pixel.
    """
    width, height = image.size
    if not (0 < width <= MAX_DOTS_SIDE and 0 < height <= MAX_DOTS_SIDE):
        raise ValueError(f"a SMALL DOTS picture is 1 to {MAX_DOTS_SIDE} pixels a side, not {width}x{height}")
    allowed = set(DOTS_COLOURS.values())
    bad = {value: code for value, code in palette_map.items() if code not in allowed}
    if bad:
        raise ValueError(f"palette_map gives codes that are not DOTS colours: {bad}")
    pixels = image.load()
    if pixels is None:  # only an image whose pixels were never allocated
        raise ValueError("the image has no pixels")
    rows = bytearray()
    for y in range(height):
        for x in range(width):
            value = pixels[x, y]
            code = palette_map.get(value)
            if code is None:
                raise ValueError(f"pixel ({x}, {y}) is {value!r}, which palette_map does not map")
            rows += code.encode("ascii")
        rows += CR
    data = _label(label) + f"{height:02X}{width:02X}".encode("ascii") + bytes(rows)
    return build_packet(WRITE_SMALL_DOTS, data, type_code=type_code, address=address)


def split_dots_packet(packet: bytes) -> tuple[bytes, bytes]:
    """A DOTS packet cut after its height and width, where the sender pauses DOTS_PAUSE_S."""
    cut = packet.index(STX) + 7  # STX, "I", label, 2 hex digits of height, 2 of width
    return packet[:cut], packet[cut:]


def time_set_packet(
    moment: datetime | time, *, type_code: str = ALL_SIGNS, address: str = BROADCAST
) -> bytes:
    """Set Time of Day ("E" + 0x20 + HHMM, 24-hour): what the sign's own clock shows, to the minute."""
    data = (SET_TIME_OF_DAY + f"{moment.hour:02d}{moment.minute:02d}").encode("ascii")
    return build_packet(WRITE_SPECIAL, data, type_code=type_code, address=address)


def memory_config_packet(
    files: Sequence[FileSpec], *, type_code: str = ALL_SIGNS, address: str = BROADCAST
) -> bytes:
    """Set Memory Configuration ("E$"): erase every file and allocate ``files``, unlocked.

    Per file: label, type ("A" TEXT, "D" DOTS), "U" (unlocked for the IR keyboard), size (4 hex digits:
    bytes for TEXT, height then width for DOTS), then TEXT start/stop times or the DOTS colour depth.
    """
    labels = [spec.label for spec in files]
    if len(set(labels)) != len(labels):
        raise ValueError(f"file labels must differ, not {labels}")
    data = SET_MEMORY.encode("ascii")
    for spec in files:
        if isinstance(spec, TextFileSpec):
            if not 0 < spec.size <= 0xFFFF:
                raise ValueError(f"TEXT file {spec.label!r}: size must be 1 to 65535 bytes, not {spec.size}")
            data += _label(spec.label) + f"AU{spec.size:04X}{TEXT_ALWAYS}".encode("ascii")
        else:
            if not (0 < spec.width <= MAX_DOTS_SIDE and 0 < spec.height <= MAX_DOTS_SIDE):
                raise ValueError(f"DOTS file {spec.label!r}: {spec.width}x{spec.height} is out of range")
            depth = _code(DOTS_DEPTHS, spec.depth, "depth")
            data += _label(spec.label) + f"DU{spec.height:02X}{spec.width:02X}".encode("ascii") + depth
    return build_packet(WRITE_SPECIAL, data, type_code=type_code, address=address)


def brightness_packet(level: int, *, type_code: str = ALL_SIGNS, address: str = BROADCAST) -> bytes:
    """Set Dimming Register ("E/"): the nearest of BRIGHTNESS_STEPS to ``level`` percent (1 to 100).

    Only for signs with a dimmer; see BRIGHTNESS_STEPS for which, and for what is unsure.
    """
    if not 1 <= level <= 100:
        raise ValueError(f"brightness must be 1 to 100 percent, not {level}")
    step = min(range(len(BRIGHTNESS_STEPS)), key=lambda i: (abs(BRIGHTNESS_STEPS[i] - level), i))
    data = f"{SET_DIMMING}00{step:02d}".encode("ascii")
    return build_packet(WRITE_SPECIAL, data, type_code=type_code, address=address)


def encode_text(text: str, *, extended_chars: bool = True) -> bytes:
    """``text`` as a sign's 7-bit bytes: French letters as extended characters, or stripped to ASCII.

    Without extended characters (``extended_chars=False``, for signs without them), and for characters
    the extended set lacks: FALLBACK first (œ → oe, € → EUR, « » → "), then accents stripped with
    unicodedata (é → e, À → A), any other character as "?". Line breaks and tabs become spaces; other
    control characters are dropped, since the sign would obey them as codes.
    """
    out = bytearray()
    for char in text:
        if extended_chars and char in EXTENDED_CHARS:
            out += EXTENDED + bytes([EXTENDED_CHARS[char]])
        elif " " <= char <= "~":
            out += char.encode("ascii")
        elif char.isspace():
            out += b" "
        elif unicodedata.category(char) != "Cc":
            out += _ascii_fallback(char)
    return bytes(out)


def _ascii_fallback(char: str) -> bytes:
    if char in FALLBACK:
        return FALLBACK[char].encode("ascii")
    stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return stripped.encode("ascii") if stripped and stripped.isascii() and stripped.isprintable() else b"?"


def parse_packet(data: bytes) -> Packet:
    """Check and split one transmission, from its sync NULs (any number) to its EOT.

    Raises AlphaError at the first byte that breaks framing or a checksum that does not add up.
    """
    i = 0
    while i < len(data) and data[i] == 0:
        i += 1
    _expect(data, i, SOH, "SOH (0x01)")
    if i + 1 >= len(data) or not 0x20 <= data[i + 1] <= 0x7E:
        raise AlphaError("type code must be a printable character", i + 1)
    type_code = chr(data[i + 1])
    for j in (i + 2, i + 3):
        if j >= len(data) or chr(data[j]) not in "0123456789ABCDEF?":
            raise AlphaError("address must be two hex digits", j)
    address = data[i + 2 : i + 4].decode("ascii")
    i += 4
    _expect(data, i, STX, "STX (0x02)")
    commands: list[Command] = []
    while True:
        start = i
        i += 1
        if i >= len(data) or not 0x41 <= data[i] <= 0x5A:
            raise AlphaError("command code must be a capital letter", i)
        code = chr(data[i])
        i += 1
        data_start = i
        while i < len(data) and data[i] not in (ETX[0], STX[0], EOT[0]):
            if data[i] == SOH[0] or data[i] > 0x7F:
                raise AlphaError(f"0x{data[i]:02X} inside a command's data", i)
            i += 1
        if i >= len(data):
            raise AlphaError("transmission ends without EOT", i)
        payload = data[data_start:i]
        if data[i] == ETX[0]:
            field = data[i + 1 : i + 5]
            for k in range(4):
                if k >= len(field) or chr(field[k]) not in "0123456789ABCDEFabcdef":
                    raise AlphaError("checksum must be 4 hex digits after ETX", i + 1 + k)
            expected = checksum(data[start : i + 1])
            if field.upper() != expected:
                raise AlphaError(f"checksum {field.decode()} does not match {expected.decode()}", i + 1)
            i += 5
        commands.append(Command(code, payload, data_start))
        if i < len(data) and data[i] == EOT[0]:
            break
        _expect(data, i, STX, "STX (0x02) or EOT (0x04)")
    if i + 1 != len(data):
        raise AlphaError("bytes after EOT", i + 1)
    return Packet(type_code, address, tuple(commands))


def parse_memory_config(command: Command) -> list[FileSpec]:
    """The files of a Set Memory Configuration command ("E$"), 11 bytes each."""
    body = command.data[1:]
    specs: list[FileSpec] = []
    for start in range(0, len(body), 11):
        entry = body[start : start + 11].decode("ascii")
        position = command.offset + 1 + start
        if len(entry) != 11 or entry[1] not in "AD" or entry[2] not in "UL":
            raise AlphaError(f"bad memory configuration entry {entry!r}", position)
        try:
            size = int(entry[3:7], 16)
        except ValueError:
            raise AlphaError(f"size {entry[3:7]!r} is not hex", position + 3) from None
        if entry[1] == "A":
            specs.append(TextFileSpec(entry[0], size))
        else:
            depths = {depth: name for name, depth in DOTS_DEPTHS.items()}
            if entry[7:] not in depths:
                raise AlphaError(f"unknown DOTS colour depth {entry[7:]!r}", position + 7)
            specs.append(DotsFileSpec(entry[0], size & 0xFF, size >> 8, depths[entry[7:]]))
    return specs


def parse_dots(command: Command) -> tuple[str, list[str]]:
    """The label and pixel rows of a Write SMALL DOTS command, checked against its own height and width."""
    data = command.data
    try:
        height, width = int(data[1:3], 16), int(data[3:5], 16)
    except ValueError:
        raise AlphaError("height and width must be hex", command.offset + 1) from None
    rows = data[5:].split(CR)
    if rows[-1] == b"":
        rows.pop()
    if len(rows) != height:
        raise AlphaError(f"{len(rows)} rows for a height of {height}", command.offset + len(data))
    offset = command.offset + 5
    allowed = set(DOTS_COLOURS.values())
    for row in rows:
        if len(row) != width:
            raise AlphaError(f"row of {len(row)} pixels for a width of {width}", offset)
        for k, byte in enumerate(row):
            if chr(byte) not in allowed:
                raise AlphaError(f"{chr(byte)!r} is not a DOTS colour", offset + k)
        offset += width + 1
    return chr(data[0]), [row.decode("ascii") for row in rows]


def _check_header(type_code: str, address: str) -> None:
    if len(type_code) != 1 or not " " <= type_code <= "~":
        raise ValueError(f"type code must be one printable character, not {type_code!r}")
    if len(address) != 2 or any(c not in "0123456789ABCDEF?" for c in address):
        raise ValueError(f'address must be two upper-case hex digits ("00" for all signs), not {address!r}')


def _label(label: str) -> bytes:
    if len(label) != 1 or not " " <= label <= "~" or label == "?":
        raise ValueError(f"a file label is one printable character other than '?', not {label!r}")
    return label.encode("ascii")


def _code(table: Mapping[str, str], name: str, what: str) -> bytes:
    if name not in table:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(table)}")
    return table[name].encode("ascii")


def _expect(data: bytes, i: int, byte: bytes, name: str) -> None:
    if i >= len(data) or data[i] != byte[0]:
        raise AlphaError(f"expected {name}", i)
