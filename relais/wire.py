"""The wire format, the one definition both the controller and the panel agents import.

Everything the controller sends is a *sealed* message: one text line ``relais/2 Ed25519 <signature>``,
then the body whose exact bytes the controller's Ed25519 key signed, so a panel verifies the bytes it
received instead of a re-serialisation. The body is one line of JSON, then the binary attachments
(frames as PNG) it refers to: no base64, no JSON escaped inside JSON. Panels answer with plain JSON
(state and events): they report, they never command.

    relais/v1/panels/<panel_id>/desired   controller -> panel, retained, sealed: what to show
    relais/v1/panels/<panel_id>/cmd       controller -> panel, not retained, sealed: one-off commands
    relais/v1/panels/<panel_id>/state     panel -> controller, retained, also the last will
    relais/v1/panels/<panel_id>/events    panel -> controller: displays, refusals, acknowledgements
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import json
import os
import re
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image, features

PROTOCOL_VERSION = 2
DEFAULT_TOPIC_BASE = "relais/v1"
SIGNATURE_ALGORITHM = "Ed25519"
SEAL_MAGIC = "relais/"
# The header line is ``relais/2 Ed25519 <88 characters of base64>``: anything longer is not one.
MAX_HEADER_BYTES = 128
# A panel refuses anything larger before parsing it: the biggest real frame (1872x1404, 1 bit) is
# far below this once compressed.
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
# A batch of panel events larger than this goes deflated (``join_events``): a minute of plays, not the
# few events of a new schedule, which would gain little. zlib's streams start with this byte at the
# default window, where JSON cannot.
DEFLATE_EVENTS_ABOVE = 1024
# One message of panel events, at most: an agent sends a backlog 100 events a message, and a real event
# is about 250 bytes (600 with a long fault or refusal), so 100 of them come to 25 to 60 KB. Twice that
# at most, or the message is refused whole: the controller never reads 2 MiB of events from a panel.
MAX_EVENTS_PER_BATCH = 100
MAX_EVENTS_BATCH_BYTES = 128 * 1024
ZLIB_FIRST_BYTE = b"\x78"
MAX_FRAME_PIXELS = 4096 * 4096
SCREENSHOT_MAX_SIZE = (400, 300)
# Frames that large are e-paper, of a few inks: a scaled-down copy in 8 colours keeps their text's edges
# smooth in 5 KB, where full colour took 14 KB.
SCREENSHOT_COLOURS = 8
# Below this size PNG always wins (LED frames): WebP is not even tried.
WEBP_FROM_PIXELS = 320 * 240
MAX_PAGES = 32
MIN_DWELL_MS = 500
MAX_DWELL_MS = 24 * 3600 * 1000
MIN_FLASH_MS = 100
# A schedule covers 48 hours: a few dozen items, and segments for every change of playlist in them.
MAX_ITEMS = 64
MAX_SEGMENTS = 2000
# Brightness changes a few times a day (sunrise, sunset, or a few fixed windows): far fewer steps.
MAX_BRIGHTNESS_STEPS = 200
FULL_BRIGHTNESS = 100

PANEL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

KIND_DESIRED = "desired"
KIND_COMMAND = "cmd"
EVENT_DISPLAYED = "displayed"
EVENT_REFUSED = "refused"
EVENT_ACK = "ack"
EVENT_FAULT = "fault"  # a hardware problem starts (details: code, detail) or ends (cleared: true)
# Proof of play: an item went on air for the first time under its schedule; a showing of it ended.
EVENT_ON_AIR = "on_air"
EVENT_PLAY = "play"
# Events a panel could not keep while offline (its queue is bounded): the gap in its proof of play.
EVENT_EVENTS_DROPPED = "events_dropped"


class WireError(ValueError):
    """A payload that does not follow this format; ``reason`` is a short stable code for logs."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def check_panel_id(panel_id: str) -> str:
    """Panel ids go into topic names, so no MQTT wildcard, slash or upper case may slip in."""
    if not isinstance(panel_id, str) or not PANEL_ID_PATTERN.match(panel_id):
        raise ValueError(
            f"panel id {panel_id!r} must be 1 to 64 characters among a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
    return panel_id


@dataclass(frozen=True)
class Topics:
    """Topic names under one configurable base, so one broker can host several deployments."""

    base: str = DEFAULT_TOPIC_BASE

    def __post_init__(self) -> None:
        if not self.base or self.base.endswith("/") or any(char in self.base for char in "+#\0"):
            raise ValueError(
                f"topic base {self.base!r} must be non-empty, without '+', '#' or NUL, and not end with '/'"
            )

    def desired(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/desired"

    def cmd(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/cmd"

    def state(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/state"

    def events(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/events"

    def all_states(self) -> str:
        return f"{self.base}/panels/+/state"

    def all_events(self) -> str:
        return f"{self.base}/panels/+/events"

    def parse(self, topic: str) -> tuple[str, str] | None:
        """``(panel_id, leaf)`` for one of our panel topics, else None."""
        prefix = f"{self.base}/panels/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix) :].split("/")
        if len(parts) != 2 or not PANEL_ID_PATTERN.match(parts[0]):
            return None
        return parts[0], parts[1]


# --- frames -------------------------------------------------------------------------------------


CONTENT_HASH_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Palette images are packed at the fewest bits per pixel their palette needs.
_PALETTE_BITS = ((2, 1), (4, 2), (16, 4), (256, 8))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _palette_png(image: Image.Image) -> bytes | None:
    """A palette image as PNG without row filters, the best choice for a few colours of sharp-edged
    text, deflated with whichever zlib strategy comes out smallest; None for other modes."""
    palette = image.getpalette() or []
    colours = len(palette) // 3
    if image.mode != "P" or not colours or "transparency" in image.info:
        return None
    bits = next(bits for limit, bits in _PALETTE_BITS if colours <= limit)
    if image.getextrema()[1] >= 1 << bits:  # an index beyond the palette: leave it to Pillow
        return None
    rows = image.tobytes("raw", "P" if bits == 8 else f"P;{bits}")
    stride = (image.width * bits + 7) // 8
    raw = b"".join(b"\0" + rows[y * stride : (y + 1) * stride] for y in range(image.height))
    deflated = []
    for strategy in (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_RLE):
        compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 9, strategy)
        deflated.append(compressor.compress(raw) + compressor.flush())
    header = image.width.to_bytes(4, "big") + image.height.to_bytes(4, "big") + bytes((bits, 3, 0, 0, 0))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"PLTE", bytes(palette[: colours * 3]))
        + _png_chunk(b"IDAT", min(deflated, key=len))
        + _png_chunk(b"IEND", b"")
    )


def encode_png(image: Image.Image) -> bytes:
    """The smallest exact PNG we know how to make: ours for palette images, else Pillow's best."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    candidates = [buffer.getvalue(), _palette_png(image)]
    return min((png for png in candidates if png is not None), key=len)


def _lossless_webp(image: Image.Image) -> bytes | None:
    """Lossless WebP, exact like PNG and about a fifth smaller on a large two-colour e-paper frame."""
    if not features.check("webp"):
        return None
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="WEBP", lossless=True, quality=100, method=4)
    return buffer.getvalue()


def encode_frame(image: Image.Image) -> tuple[str, bytes]:
    """(codec, bytes): PNG, or lossless WebP where that is smaller (large e-paper frames; small LED
    frames are always PNG), so that a text update on an 800x480 e-paper panel stays within 4 KB."""
    png = encode_png(image)
    webp = _lossless_webp(image) if image.width * image.height >= WEBP_FROM_PIXELS else None
    return ("webp", webp) if webp is not None and len(webp) < len(png) else ("png", png)


FRAME_CODECS = ("png", "webp")


@dataclass(frozen=True)
class Frame:
    """A rendered image, losslessly: a PNG (a 1-bit palette PNG is tiny for LED), or a lossless WebP
    where that is smaller. ``data`` is that file's bytes, ``codec`` says which."""

    width: int
    height: int
    data: bytes
    codec: str = "png"

    @classmethod
    def from_image(cls, image: Image.Image) -> Frame:
        codec, data = encode_frame(image)
        return cls(image.width, image.height, data, codec)

    @functools.cached_property
    def content_hash(self) -> str:
        return content_hash(self.data)

    def png_bytes(self) -> bytes:
        """The frame as a PNG file, for what people open (screenshots, ``relais render``)."""
        return self.data if self.codec == "png" else encode_png(self.image())

    def image(self) -> Image.Image:
        """Decode, refusing a frame whose size is not the declared one or that is absurdly large.

        A PNG comes back as it was made (a palette image for most panels); a WebP as RGB, the same
        colours, which backends map to their own palette.
        """
        if self.width * self.height > MAX_FRAME_PIXELS:
            raise WireError("malformed", f"frame {self.width}x{self.height} is too large")
        try:
            with Image.open(io.BytesIO(self.data), formats=[self.codec.upper()]) as image:
                if image.size != (self.width, self.height):
                    raise WireError(
                        "malformed",
                        f"frame is {image.width}x{image.height}, declared {self.width}x{self.height}",
                    )
                image.load()
                return image.copy() if self.codec == "png" else image.convert("RGB")
        except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
            raise WireError("malformed", f"frame is not a readable {self.codec.upper()} ({exc})") from exc

    def to_json(self) -> dict[str, Any]:
        """The bytes stay bytes: ``seal`` carries them as a binary attachment, not as base64."""
        return {"width": self.width, "height": self.height, self.codec: self.data}

    @classmethod
    def from_json(cls, data: Any) -> Frame:
        width = _field(data, "width", int)
        height = _field(data, "height", int)
        if not (width > 0 and height > 0):
            raise WireError("malformed", "frame width and height must be positive")
        codecs = [codec for codec in FRAME_CODECS if isinstance(data, dict) and codec in data]
        if len(codecs) != 1:
            raise WireError("malformed", f"a frame has exactly one of {', '.join(FRAME_CODECS)}")
        return cls(width, height, _field(data, codecs[0], bytes), codecs[0])


@functools.lru_cache(maxsize=1024)
def screenshot_png(frame: Frame) -> bytes:
    """The frame itself when small; otherwise a copy scaled down to fit 400x300, for the controller's UI.

    Made here so that the panel (its own pictures: blank, a test pattern, a screenshot asked for) and
    the controller (the schedule's frame a state names) make the same picture. Cached: scaling an
    e-paper frame down costs tens of milliseconds on a small board; the cache is large for the panels
    simulated together, which share it (a department's communes each have their own fallback frames).
    """
    max_width, max_height = SCREENSHOT_MAX_SIZE
    if frame.width <= max_width and frame.height <= max_height:
        return frame.png_bytes()
    small = frame.image().convert("RGB")
    small.thumbnail(SCREENSHOT_MAX_SIZE)
    buffer = io.BytesIO()
    small.quantize(SCREENSHOT_COLOURS, method=Image.Quantize.FASTOCTREE).save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


@dataclass(frozen=True)
class Page:
    """One page of an item: a frame shown for ``dwell_ms``; with ``flash_frame`` the two alternate every
    ``flash_ms`` while the page is up (flashing text on LED; e-paper never gets one)."""

    frame: Frame
    dwell_ms: int
    flash_frame: Frame | None = None
    flash_ms: int = 500

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"frame": self.frame.to_json(), "dwell_ms": self.dwell_ms}
        if self.flash_frame is not None:
            data["flash"] = {"frame": self.flash_frame.to_json(), "period_ms": self.flash_ms}
        return data

    @classmethod
    def from_json(cls, data: Any) -> Page:
        frame = Frame.from_json(_field(data, "frame", dict))
        dwell_ms = _field(data, "dwell_ms", int)
        if not MIN_DWELL_MS <= dwell_ms <= MAX_DWELL_MS:
            raise WireError("malformed", f"dwell_ms must be {MIN_DWELL_MS} to {MAX_DWELL_MS}")
        flash = _optional(data, "flash", dict)
        if flash is None:
            return cls(frame, dwell_ms)
        flash_frame = Frame.from_json(_field(flash, "frame", dict))
        if (flash_frame.width, flash_frame.height) != (frame.width, frame.height):
            raise WireError("malformed", "a page's flash frame must have the size of its frame")
        flash_ms = _field(flash, "period_ms", int)
        if not MIN_FLASH_MS <= flash_ms <= MAX_DWELL_MS:
            raise WireError("malformed", f"flash period_ms must be {MIN_FLASH_MS} to {MAX_DWELL_MS}")
        return cls(frame, dwell_ms, flash_frame, flash_ms)


@dataclass(frozen=True)
class DisplayItem:
    """One thing a panel can show: its pages, in order.

    ``text``, what the pages say, is for people on the controller's side and stays there: a panel only
    shows frames, and a message's text would be a tenth of an LED update.
    """

    item_id: str
    text: str = field(compare=False)
    pages: tuple[Page, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.pages) <= MAX_PAGES:
            raise ValueError(f"an item has 1 to {MAX_PAGES} pages, not {len(self.pages)}")

    @property
    def frame(self) -> Frame:
        """The first page's frame: what a still screenshot of the item shows."""
        return self.pages[0].frame

    @functools.cached_property
    def content_hash(self) -> str:
        """Changes when any page, timing or flash changes: the panel need not redraw otherwise."""
        digest = hashlib.sha256()
        for page in self.pages:
            digest.update(page.frame.content_hash.encode())
            digest.update(f"|{page.dwell_ms}|".encode())
            if page.flash_frame is not None:
                digest.update(f"{page.flash_frame.content_hash}|{page.flash_ms}|".encode())
        return "sha256:" + digest.hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "pages": [page.to_json() for page in self.pages]}

    @classmethod
    def from_json(cls, data: Any) -> DisplayItem:
        pages = _field(data, "pages", list)
        if not 1 <= len(pages) <= MAX_PAGES:
            raise WireError("malformed", f"an item has 1 to {MAX_PAGES} pages, not {len(pages)}")
        first = Page.from_json(pages[0])
        rest = [Page.from_json(page) for page in pages[1:]]
        if any(
            (page.frame.width, page.frame.height) != (first.frame.width, first.frame.height) for page in rest
        ):
            raise WireError("malformed", "all pages of an item must have the same size")
        return cls(_field(data, "item_id", str), "", (first, *rest))


# --- schedules: what a panel shows over the next 48 hours, offline if need be ---------------------


@dataclass(frozen=True)
class PlaylistEntry:
    """One turn of a playlist: every page of ``Schedule.items[item]`` in order.

    With ``dwell_ms`` each page stays up that long instead of its own dwell: an e-paper panel that may
    only refresh every few minutes, a short slot in a busy rotation.
    """

    item: int
    dwell_ms: int | None = None

    def __post_init__(self) -> None:
        if self.item < 0:
            raise WireError("malformed", f"playlist item index {self.item} is negative")
        if self.dwell_ms is not None and not MIN_DWELL_MS <= self.dwell_ms <= MAX_DWELL_MS:
            raise WireError("malformed", f"playlist dwell_ms must be {MIN_DWELL_MS} to {MAX_DWELL_MS}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"item": self.item}
        if self.dwell_ms is not None:
            data["dwell_ms"] = self.dwell_ms
        return data

    @classmethod
    def from_json(cls, data: Any) -> PlaylistEntry:
        return cls(_field(data, "item", int), _optional(data, "dwell_ms", int))


@dataclass(frozen=True)
class Segment:
    """From ``start`` to ``end`` (epoch seconds UTC, end excluded) the playlist loops from its first entry.

    ``blank`` is quiet hours: the panel is dark. An empty playlist that is not blank shows the fallback.
    """

    start: int
    end: int
    playlist: tuple[PlaylistEntry, ...] = ()
    blank: bool = False

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise WireError("malformed", f"segment starts at {self.start}, not before its end {self.end}")
        if self.blank and self.playlist:
            raise WireError("malformed", "a blank segment has no playlist")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "playlist": [entry.to_json() for entry in self.playlist],
        }
        if self.blank:
            data["blank"] = True
        return data

    @classmethod
    def from_json(cls, data: Any) -> Segment:
        return cls(
            _field(data, "start", int),
            _field(data, "end", int),
            tuple(PlaylistEntry.from_json(entry) for entry in _optional(data, "playlist", list) or ()),
            _optional(data, "blank", bool) or False,
        )


@dataclass(frozen=True)
class BrightnessStep:
    """From ``start`` to ``end`` (epoch seconds UTC, end excluded) the panel is at ``level`` percent.

    Dimming is for people living near a panel and for drivers at night; outside every step the
    panel is at full brightness, so a schedule without steps keeps a panel as bright as it can be.
    """

    start: int
    end: int
    level: int

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise WireError(
                "malformed", f"brightness step starts at {self.start}, not before its end {self.end}"
            )
        if not 1 <= self.level <= FULL_BRIGHTNESS:
            raise WireError("malformed", f"brightness level must be 1 to {FULL_BRIGHTNESS}, not {self.level}")

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "level": self.level}

    @classmethod
    def from_json(cls, data: Any) -> BrightnessStep:
        return cls(_field(data, "start", int), _field(data, "end", int), _field(data, "level", int))


@dataclass(frozen=True)
class Schedule:
    """What a panel shows until ``horizon_end``, signed in advance so that it goes on without a network.

    ``segments`` are sorted and do not overlap; in the gaps between them, and from the end of the last
    one on (never beyond ``horizon_end``, so expired content is never shown), the panel shows
    ``items[fallback]`` (the commune's name, say), or nothing when ``fallback`` is None. ``brightness``
    steps are sorted, do not overlap and lie between the first segment's start and ``horizon_end``;
    outside them the panel is at full brightness. Every check is made on construction, so the
    controller cannot even build a schedule that a panel would refuse.
    """

    items: tuple[DisplayItem, ...]
    segments: tuple[Segment, ...]
    horizon_end: int
    fallback: int | None = None
    brightness: tuple[BrightnessStep, ...] = ()

    def __post_init__(self) -> None:
        if len(self.items) > MAX_ITEMS:
            raise WireError("malformed", f"a schedule has at most {MAX_ITEMS} items, not {len(self.items)}")
        if len(self.segments) > MAX_SEGMENTS:
            raise WireError(
                "malformed", f"a schedule has at most {MAX_SEGMENTS} segments, not {len(self.segments)}"
            )
        sizes = {(page.frame.width, page.frame.height) for item in self.items for page in item.pages}
        if len(sizes) > 1:
            raise WireError("malformed", "all items of a schedule must have the same frame size")
        if self.fallback is not None and not 0 <= self.fallback < len(self.items):
            raise WireError(
                "malformed", f"fallback item {self.fallback} is not among {len(self.items)} items"
            )
        previous_end: int | None = None
        for segment in self.segments:
            if previous_end is not None and segment.start < previous_end:
                raise WireError(
                    "malformed", f"segment at {segment.start} overlaps or precedes the one before"
                )
            if segment.end > self.horizon_end:
                raise WireError(
                    "malformed", f"segment ends at {segment.end}, beyond the horizon {self.horizon_end}"
                )
            for entry in segment.playlist:
                if entry.item >= len(self.items):
                    raise WireError(
                        "malformed", f"playlist item {entry.item} is not among {len(self.items)} items"
                    )
            previous_end = segment.end
        self._check_brightness()

    def _check_brightness(self) -> None:
        if len(self.brightness) > MAX_BRIGHTNESS_STEPS:
            raise WireError(
                "malformed",
                f"a schedule has at most {MAX_BRIGHTNESS_STEPS} brightness steps, not {len(self.brightness)}",
            )
        first_start = self.segments[0].start if self.segments else None
        previous_end: int | None = None
        for step in self.brightness:
            if first_start is not None and step.start < first_start:
                raise WireError(
                    "malformed",
                    f"brightness step at {step.start} begins before the first segment at {first_start}",
                )
            if previous_end is not None and step.start < previous_end:
                raise WireError(
                    "malformed", f"brightness step at {step.start} overlaps or precedes the one before"
                )
            if step.end > self.horizon_end:
                raise WireError(
                    "malformed", f"brightness step ends at {step.end}, beyond the horizon {self.horizon_end}"
                )
            previous_end = step.end

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "items": [item.to_json() for item in self.items],
            "segments": [segment.to_json() for segment in self.segments],
            "horizon_end": self.horizon_end,
        }
        if self.fallback is not None:
            data["fallback"] = self.fallback
        if self.brightness:
            data["brightness"] = [step.to_json() for step in self.brightness]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Schedule:
        items = _field(data, "items", list)
        segments = _field(data, "segments", list)
        brightness = _optional(data, "brightness", list) or []
        # Counted before parsing, so an oversized list costs nothing to refuse.
        if len(items) > MAX_ITEMS:
            raise WireError("malformed", f"a schedule has at most {MAX_ITEMS} items, not {len(items)}")
        if len(segments) > MAX_SEGMENTS:
            raise WireError(
                "malformed", f"a schedule has at most {MAX_SEGMENTS} segments, not {len(segments)}"
            )
        if len(brightness) > MAX_BRIGHTNESS_STEPS:
            raise WireError(
                "malformed",
                f"a schedule has at most {MAX_BRIGHTNESS_STEPS} brightness steps, not {len(brightness)}",
            )
        return cls(
            tuple(DisplayItem.from_json(item) for item in items),
            tuple(Segment.from_json(segment) for segment in segments),
            _field(data, "horizon_end", int),
            _optional(data, "fallback", int),
            tuple(BrightnessStep.from_json(step) for step in brightness),
        )

    def frame(self, frame_hash: str) -> Frame | None:
        """The frame of one of the items with that content hash (what a panel's state names), if any."""
        for item in self.items:
            for page in item.pages:
                for frame in (page.frame, page.flash_frame):
                    if frame is not None and frame.content_hash == frame_hash:
                        return frame
        return None

    @classmethod
    def single(cls, item: DisplayItem | None, *, start: int, horizon_end: int) -> Schedule:
        """``item`` from ``start`` to ``horizon_end`` and nothing around it; None: a blank panel."""
        if item is None:
            return cls((), (), horizon_end)
        return cls((item,), (Segment(start, horizon_end, (PlaylistEntry(0),)),), horizon_end)


# --- sealed messages (controller -> panel) ------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """A verified controller message: signature checked, structure checked, freshness not yet."""

    kind: str
    panel_id: str
    seq: int
    issued_at: int
    expires_at: int
    content: dict[str, Any]
    raw: bytes = field(repr=False, compare=False)

    def desired_schedule(self) -> Schedule:
        """The schedule of a ``desired`` message: what the panel shows, when, until its horizon."""
        return Schedule.from_json(_field(self.content, "schedule", dict))


def seal(
    private_key: Ed25519PrivateKey,
    *,
    kind: str,
    panel_id: str,
    seq: int,
    issued_at: int,
    expires_at: int,
    content: dict[str, Any],
) -> bytes:
    """Sign ``content`` for one panel; the result is the MQTT payload, byte for byte."""
    [[payload]] = seal_groups(
        private_key,
        kind=kind,
        issued_at=issued_at,
        expires_at=expires_at,
        groups=[(content, [(panel_id, seq)])],
    )
    return payload


def seal_groups(
    private_key: Ed25519PrivateKey,
    *,
    kind: str,
    issued_at: int,
    expires_at: int,
    groups: Sequence[tuple[dict[str, Any], Sequence[tuple[str, int]]]],
) -> list[list[bytes]]:
    """``seal`` each group's content for each of its (panel, sequence number), in that order: a
    department's few hundred distinct schedules at once, each encoded once for all its panels
    (``_bodies``), and the signatures of all the panels shared out among the cores (``_envelopes``)."""
    if expires_at <= issued_at:
        raise ValueError("expires_at must come after issued_at")
    bodies = [_bodies(kind, issued_at, expires_at, content, panels) for content, panels in groups]
    payloads = iter(_envelopes(private_key, [body for group in bodies for body in group]))
    return [[next(payloads) for _ in group] for group in bodies]


def _bodies(
    kind: str, issued_at: int, expires_at: int, content: dict[str, Any], panels: Sequence[tuple[str, int]]
) -> list[bytes]:
    """The body of each panel's message: ``encode_body`` of ``{"v", "kind", "panel", "seq",
    "issued_at", "expires_at", "content"}``, byte for byte, but the content (a department's schedule,
    frames and all) is encoded once for all the panels: only the panel and its number are made for each.
    """
    blobs: dict[bytes, int] = {}
    # Keys in sorted order, as encode_body writes them; only the content holds attachments.
    content_text = _dump(content, blobs)
    lengths = f'"blobs":{_dump([len(blob) for blob in blobs], {})},' if blobs else ""
    head = (
        f'{{{lengths}"content":{content_text},"expires_at":{int(expires_at)},"issued_at":{int(issued_at)},'
        f'"kind":{_dump(kind, {})},"panel":'
    )
    attachments = b"".join(blobs)
    # A checked panel id is its own JSON text between quotes: nothing in it to escape.
    return [
        f'{head}"{check_panel_id(panel_id)}","seq":{int(seq)},"v":{PROTOCOL_VERSION}}}'.encode()
        + b"\n"
        + attachments
        for panel_id, seq in panels
    ]


# Ed25519 signing lets go of the GIL: from this many payloads on, the cores share the signatures.
SIGN_TOGETHER_FROM = 64


def _envelopes(private_key: Ed25519PrivateKey, bodies: list[bytes]) -> list[bytes]:
    """``envelope`` of each body, in order; many on all the cores (up to 4) at once: while a department's
    schedules are being sealed, nothing else keeps the controller's other cores busy."""
    workers = min(4, os.cpu_count() or 1)
    if workers == 1 or len(bodies) < SIGN_TOGETHER_FROM:
        return [envelope(private_key, body) for body in bodies]
    from concurrent.futures import ThreadPoolExecutor  # here: panel agents never seal, and count their memory

    size = -(-len(bodies) // workers)
    parts = [bodies[start : start + size] for start in range(0, len(bodies), size)]
    with ThreadPoolExecutor(len(parts), thread_name_prefix="sign") as pool:
        sealed = pool.map(lambda part: [envelope(private_key, body) for body in part], parts)
        return [payload for part in sealed for payload in part]


def _dump(value: Any, blobs: dict[bytes, int]) -> str:
    """The body's JSON: compact, keys sorted, UTF-8 as it is, each ``bytes`` value a reference to its
    attachment (numbered in order of first use in ``blobs``)."""

    def reference(value: Any) -> dict[str, int]:
        if not isinstance(value, bytes):
            raise TypeError(f"{type(value).__name__} cannot go on the wire")
        return {"blob": blobs.setdefault(value, len(blobs))}

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=reference)


def encode_body(body: Any) -> bytes:
    """One line of JSON, then every ``bytes`` value found in ``body`` as a binary attachment.

    Each distinct attachment goes once, in order of first use, and the JSON refers to it as
    ``{"blob": <index>}``; ``"blobs"`` lists their lengths. Identical frames therefore travel once.
    """
    blobs: dict[bytes, int] = {}
    text = _dump(body, blobs)
    if blobs:
        # The lengths are known only once the JSON is written; a second pass puts them in it.
        text = _dump({**body, "blobs": [len(blob) for blob in blobs]}, blobs)
    return text.encode("utf-8") + b"\n" + b"".join(blobs)


def envelope(private_key: Ed25519PrivateKey, body: bytes) -> bytes:
    """The header line, with the signature of the exact ``body`` bytes, then the body: the MQTT payload."""
    signature = base64.b64encode(private_key.sign(body)).decode("ascii")
    return f"{SEAL_MAGIC}{PROTOCOL_VERSION} {SIGNATURE_ALGORITHM} {signature}\n".encode("ascii") + body


def unseal(payload: bytes, public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey]) -> Sealed:
    """Check the signature and the structure of a controller message; raise WireError otherwise.

    Several keys are trusted while the controller's key is being rotated: the signature may be by any.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError("too-large", f"{len(payload)} bytes, the limit is {MAX_PAYLOAD_BYTES}")
    header, newline, body = payload.partition(b"\n")
    if not newline or len(header) > MAX_HEADER_BYTES or not header.startswith(SEAL_MAGIC.encode()):
        _refuse_unsealed(payload)
    fields = header.decode("ascii", errors="replace").split(" ")
    if fields[0] != f"{SEAL_MAGIC}{PROTOCOL_VERSION}":
        raise WireError("unsupported-version", f"protocol {fields[0][len(SEAL_MAGIC) :]!r}")
    if len(fields) != 3 or fields[1] != SIGNATURE_ALGORITHM:
        raise WireError("unsigned", f"unsupported signature algorithm {' '.join(fields[1:2])!r}")
    signature = _b64decode(fields[2], "signature")
    keys = [public_key] if isinstance(public_key, Ed25519PublicKey) else list(public_key)
    if not any(_signed_by(key, signature, body) for key in keys):
        raise WireError("bad-signature", "the signature does not match the controller's key")
    return _sealed(body, payload)


def read_own_sealed(payload: bytes) -> Sealed:
    """A payload the controller sealed, read back from its own database: the structure is checked, the
    signature is not (it never left the controller). Never for anything that came over the network."""
    header, newline, body = payload.partition(b"\n")
    if not newline or not header.startswith(SEAL_MAGIC.encode()):
        raise WireError("malformed", "not a sealed payload")
    return _sealed(body, payload)


def _sealed(body: bytes, payload: bytes) -> Sealed:
    data = _decode_body(body)
    if _field(data, "v", int) != PROTOCOL_VERSION:
        raise WireError("unsupported-version", f"protocol version {data.get('v')!r}")
    return Sealed(
        kind=_field(data, "kind", str),
        panel_id=_field(data, "panel", str),
        seq=_field(data, "seq", int),
        issued_at=_field(data, "issued_at", int),
        expires_at=_field(data, "expires_at", int),
        content=_field(data, "content", dict),
        raw=payload,
    )


def _refuse_unsealed(payload: bytes) -> NoReturn:
    """No header line: a protocol 1 envelope (retained from before an upgrade), JSON that nobody
    signed, or bytes that are neither."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WireError(
            "malformed", f"no '{SEAL_MAGIC}{PROTOCOL_VERSION} <algorithm> <signature>' line"
        ) from None
    if isinstance(data, dict) and "sig" in data:
        raise WireError("unsupported-version", f"a JSON envelope of protocol 1, this is {PROTOCOL_VERSION}")
    raise WireError("unsigned", "JSON without a signature line")


def _decode_body(body: bytes) -> Any:
    """The JSON line with each ``{"blob": i}`` replaced by its attachment's bytes, as ``encode_body`` put them."""
    text, newline, attached = body.partition(b"\n")
    if not newline:
        raise WireError("malformed", "the body has no end of line after its JSON")
    data = _parse_json(text, "body")
    if not isinstance(data, dict):
        raise WireError("malformed", "the body is not a JSON object")
    lengths = _optional(data, "blobs", list) or []
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in lengths):
        raise WireError("malformed", "blobs must be a list of lengths")
    if sum(lengths) != len(attached):
        raise WireError("malformed", f"blobs add up to {sum(lengths)} bytes, {len(attached)} are attached")
    blobs, offset = [], 0
    for length in lengths:
        blobs.append(attached[offset : offset + length])
        offset += length

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(element) for element in value]
        if not isinstance(value, dict):
            return value
        if value.keys() == {"blob"}:
            index = value["blob"]
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(blobs):
                raise WireError("malformed", f"blob {index!r} is not among {len(blobs)} attachments")
            return blobs[index]
        return {key: resolve(element) for key, element in value.items()}

    try:
        return resolve(data)
    except RecursionError:
        raise WireError("malformed", "the body is nested too deeply") from None


def _signed_by(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def check_addressed(sealed: Sealed, *, panel_id: str, kind: str) -> None:
    """Refuse a genuine message meant for another panel, or of another kind than expected."""
    if sealed.panel_id != panel_id:
        raise WireError("wrong-panel", f"addressed to {sealed.panel_id!r}, this is {panel_id!r}")
    if sealed.kind != kind:
        raise WireError("wrong-kind", f"a {sealed.kind!r} message where {kind!r} was expected")


def check_fresh(sealed: Sealed, *, panel_id: str, kind: str, now: float, last_seq: int) -> None:
    """Refuse a genuine message that is not for us, not of the expected kind, replayed or expired."""
    check_addressed(sealed, panel_id=panel_id, kind=kind)
    if sealed.seq <= last_seq:
        raise WireError("replayed", f"sequence {sealed.seq} is not newer than {last_seq}")
    if now >= sealed.expires_at:
        raise WireError("expired", f"expired at {sealed.expires_at}, now is {int(now)}")


# --- one-off commands (controller -> panel) ---------------------------------------------------------

COMMAND_REFRESH = "refresh"  # back to the schedule, redrawn, at the level it sets
COMMAND_SCREENSHOT = "screenshot"  # publish the state, with what is on the panel now
COMMAND_BRIGHTNESS = "brightness"  # {level}: until the schedule's level changes next
COMMAND_BLANK = "blank"  # {seconds}: black, then the schedule again
COMMAND_TEST_PATTERN = "test_pattern"  # {pattern, seconds}: a field-test pattern, then the schedule
COMMAND_IDENTIFY = "identify"  # {seconds}: white and black in turn at 1 Hz, then the schedule
# The arguments each command takes, all required: a misspelt one is refused rather than ignored.
COMMAND_ARGS: dict[str, tuple[str, ...]] = {
    COMMAND_REFRESH: (),
    COMMAND_SCREENSHOT: (),
    COMMAND_BRIGHTNESS: ("level",),
    COMMAND_BLANK: ("seconds",),
    COMMAND_TEST_PATTERN: ("pattern", "seconds"),
    COMMAND_IDENTIFY: ("seconds",),
}
# A timed override lasts an hour at most: a forgotten test pattern must not hide the news for a day.
MAX_OVERRIDE_S = 3600
_WHOLE_ARGS = {"level": (1, FULL_BRIGHTNESS), "seconds": (1, MAX_OVERRIDE_S)}


class CommandError(WireError):
    """A command the panel does not know, or arguments it cannot take; ``field`` is e.g. ``args.level``."""

    def __init__(self, reason: str, field: str, problem: str) -> None:
        super().__init__(reason, f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Command:
    """A technician's one-off command and its checked arguments, the same rules on both sides.

    ``patterns`` are the names of the field-test patterns (``panel_agent.field_test.PATTERNS``): the
    agent owns them, the controller checks against the same list before signing anything.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def to_content(self) -> dict[str, Any]:
        """``{"command", "args"}``, without ``args`` when there are none, as older agents expect."""
        content: dict[str, Any] = {"command": self.name}
        if self.args:
            content["args"] = dict(self.args)
        return content

    @classmethod
    def from_content(cls, content: Any, *, patterns: Collection[str]) -> Command:
        """Check the name and every argument; raise CommandError naming the field at fault."""
        name = content.get("command") if isinstance(content, dict) else None
        if not isinstance(name, str) or name not in COMMAND_ARGS:
            raise CommandError("unknown-command", "command", f"must be one of {', '.join(COMMAND_ARGS)}")
        args = content.get("args", {})
        if not isinstance(args, dict):
            raise CommandError("bad-args", "args", "must be an object")
        expected = COMMAND_ARGS[name]
        for key in args:
            if key not in expected:
                takes = ", ".join(expected) or "no arguments"
                raise CommandError("bad-args", f"args.{key}", f"{name} takes {takes}")
        for key in expected:
            if key not in args:
                raise CommandError("bad-args", f"args.{key}", "missing")
            value = args[key]
            if key == "pattern":
                if not isinstance(value, str) or value not in patterns:
                    raise CommandError("bad-args", "args.pattern", f"must be one of {', '.join(patterns)}")
                continue
            low, high = _WHOLE_ARGS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise CommandError("bad-args", f"args.{key}", f"must be a whole number from {low} to {high}")
        return cls(name, dict(args))


# --- panel reports (panel -> controller) --------------------------------------------------------


@dataclass(frozen=True)
class PanelState:
    """What a panel says about itself; retained, and its last will says ``online: false``."""

    panel_id: str
    online: bool
    reported_at: int
    item_id: str | None = None
    content_hash: str | None = None
    applied_seq: int = 0
    agent_version: str | None = None
    uptime_s: int = 0
    screenshot_png: bytes | None = field(default=None, repr=False)
    # Instead of the picture, when it is a frame of the signed schedule (the first page of the item on
    # air): that frame's content hash. The controller has the frame and makes the screenshot itself
    # (``screenshot_png``), rather than a department's panels all sending the same alert back.
    screenshot_frame: str | None = None
    brightness: int | None = None  # the level the panel is at, percent; None: never set
    faults: tuple[str, ...] = ()  # "<code>: <detail>" of each hardware problem going on now
    disk_free_mb: int | None = None  # free space where the agent keeps its schedule
    cpu_temp_c: float | None = None  # the board's temperature, where the board tells it
    backend: str | None = None  # which backend drives the panel and what it can do
    link_quality: int | None = None  # Wi-Fi link quality in percent, where the board has Wi-Fi

    def __post_init__(self) -> None:
        if self.brightness is not None and not 1 <= self.brightness <= FULL_BRIGHTNESS:
            raise WireError("malformed", f"brightness must be 1 to {FULL_BRIGHTNESS}, not {self.brightness}")

    def to_payload(self) -> bytes:
        data: dict[str, Any] = {
            "panel": self.panel_id,
            "online": self.online,
            "reported_at": self.reported_at,
            "item_id": self.item_id,
            "content_hash": self.content_hash,
            "applied_seq": self.applied_seq,
            "agent_version": self.agent_version,
            "uptime_s": self.uptime_s,
        }
        if self.brightness is not None:
            data["brightness"] = self.brightness
        if self.faults:
            data["faults"] = list(self.faults)
        for key in ("disk_free_mb", "cpu_temp_c", "backend", "link_quality"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.screenshot_png is not None:
            data["screenshot"] = base64.b64encode(self.screenshot_png).decode("ascii")
        elif self.screenshot_frame is not None:
            data["screenshot_frame"] = self.screenshot_frame
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_payload(cls, payload: bytes) -> PanelState:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise WireError("too-large", f"{len(payload)} bytes")
        data = _parse_json(payload, "state")
        screenshot = data.get("screenshot") if isinstance(data, dict) else None
        return cls(
            panel_id=_field(data, "panel", str),
            online=_field(data, "online", bool),
            reported_at=_field(data, "reported_at", int),
            item_id=_optional(data, "item_id", str),
            content_hash=_optional(data, "content_hash", str),
            applied_seq=_optional(data, "applied_seq", int) or 0,
            agent_version=_optional(data, "agent_version", str),
            uptime_s=_optional(data, "uptime_s", int) or 0,
            screenshot_png=None if screenshot is None else _b64decode(screenshot, "screenshot"),
            screenshot_frame=_content_hash_field(data, "screenshot_frame"),
            brightness=_optional(data, "brightness", int),
            faults=tuple(_faults(data)),
            disk_free_mb=_optional(data, "disk_free_mb", int),
            cpu_temp_c=_number(data, "cpu_temp_c"),
            backend=_optional(data, "backend", str),
            link_quality=_optional(data, "link_quality", int),
        )


def _content_hash_field(data: Any, name: str) -> str | None:
    value = _optional(data, name, str)
    if value is not None and not CONTENT_HASH_PATTERN.fullmatch(value):
        raise WireError("malformed", f"{name} must be 'sha256:' and 64 hexadecimal digits")
    return value


def _faults(data: Any) -> list[str]:
    faults = _optional(data, "faults", list) or []
    if not all(isinstance(fault, str) for fault in faults):
        raise WireError("malformed", "faults must be a list of strings")
    return faults


def _number(data: Any, name: str) -> float | None:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise WireError("malformed", f"field {name!r} must be a number")
    return float(value)


def offline_state(panel_id: str, reported_at: int) -> PanelState:
    """The last will: registered at connect time, published by the broker if the panel vanishes.

    Its ``reported_at`` is therefore the connection time, not the moment of the loss: the controller
    dates an offline state by when it receives it.
    """
    return PanelState(panel_id=panel_id, online=False, reported_at=reported_at)


@dataclass(frozen=True)
class PanelEvent:
    """Something that happened on a panel: a display, a refused payload, a command acknowledged."""

    panel_id: str
    event: str
    at: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> bytes:
        data = {"panel": self.panel_id, "event": self.event, "at": self.at, "details": self.details}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: Any) -> PanelEvent:
        return cls(
            panel_id=_field(data, "panel", str),
            event=_field(data, "event", str),
            at=_field(data, "at", int),
            details=_optional(data, "details", dict) or {},
        )


def join_events(payloads: Sequence[bytes]) -> bytes:
    """Events reported together, as one message: a JSON list of ``PanelEvent.to_payload()`` objects,
    deflated (zlib) when that is smaller.

    A new schedule's play, on_air and displayed go in one message rather than three, and proof of play
    waits to go with others (``panel_agent.agent``): a tenth of the messages for the broker and the
    controller. A minute of plays repeats the same items and hashes, and deflates about tenfold: what
    matters to a panel on a metered link.
    """
    text = b"[" + b",".join(payloads) + b"]"
    if len(text) > DEFLATE_EVENTS_ABOVE:
        deflated = zlib.compress(text)
        if len(deflated) < len(text):
            return deflated
    return text


@dataclass(frozen=True)
class EventBatch:
    """The events of one message, and the size of their JSON text (inflated): what storing them costs."""

    events: list[PanelEvent]
    size: int


def read_events(payload: bytes) -> EventBatch:
    """The events of a message on a panel's events topic: a list (``join_events``, deflated or not),
    or one event alone (agents before event batches); refused beyond MAX_EVENTS_PER_BATCH events or
    MAX_EVENTS_BATCH_BYTES, deflated or not, before any JSON is parsed."""
    if len(payload) > MAX_EVENTS_BATCH_BYTES:
        raise WireError("too-large", f"{len(payload)} bytes of events, the limit is {MAX_EVENTS_BATCH_BYTES}")
    if payload[:1] == ZLIB_FIRST_BYTE:  # JSON never starts with "x"
        payload = _inflate(payload, MAX_EVENTS_BATCH_BYTES)
    data = _parse_json(payload, "events")
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_EVENTS_PER_BATCH:
        raise WireError(
            "too-large", f"{len(items)} events in one message, the limit is {MAX_EVENTS_PER_BATCH}"
        )
    return EventBatch([PanelEvent.from_json(item) for item in items], len(payload))


def events_from_payload(payload: bytes) -> list[PanelEvent]:
    """``read_events`` without the size."""
    return read_events(payload).events


def _inflate(payload: bytes, limit: int) -> bytes:
    """A deflated batch, refused beyond ``limit`` bytes once inflated: no zlib bomb from a panel."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(payload, limit)
    except zlib.error as exc:
        raise WireError("malformed", f"events are not valid zlib ({exc})") from None
    if inflater.unconsumed_tail:
        raise WireError("too-large", f"events inflate past {limit} bytes")
    if not inflater.eof:
        raise WireError("malformed", "the deflated events are cut short")
    return text


# --- keys as text ---------------------------------------------------------------------------------


def public_key_to_text(key: Ed25519PublicKey) -> str:
    """``ed25519:<base64>``: one line that fits in an agent's config file."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    prefix = "ed25519:"
    if not isinstance(text, str) or not text.startswith(prefix):
        raise ValueError("a controller public key looks like 'ed25519:<base64 of 32 bytes>'")
    try:
        raw = base64.b64decode(text[len(prefix) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the controller public key is not valid base64 ({exc})") from None
    if len(raw) != 32:
        raise ValueError(f"the controller public key has {len(raw)} bytes, an Ed25519 key has 32")
    return Ed25519PublicKey.from_public_bytes(raw)


# --- helpers --------------------------------------------------------------------------------------


def _parse_json(payload: bytes, what: str) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError("malformed", f"{what} is not JSON ({exc})") from None


def _field(data: Any, name: str, kind: type) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise WireError("malformed", f"missing field {name!r}")
    value = data[name]
    # bool is a subclass of int: a JSON true must not pass as a sequence number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise WireError("malformed", f"field {name!r} must be {kind.__name__}")
    return value


def _optional(data: Any, name: str, kind: type) -> Any:
    if isinstance(data, dict) and data.get(name) is None:
        return None
    return _field(data, name, kind)


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise WireError("malformed", f"{what} is not base64 ({exc})") from None
