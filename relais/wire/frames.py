"""Rendered frames on the wire: lossless PNG or WebP, whichever is smaller, their content hash, and the
scaled-down copy the controller's pages show."""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zlib
from dataclasses import dataclass
from typing import Any

from PIL import Image, features

from relais.wire.fields import WireError, required

MAX_FRAME_PIXELS = 4096 * 4096
SCREENSHOT_MAX_SIZE = (400, 300)
# Frames that large are e-paper, of a few inks: a scaled-down copy in 8 colours keeps their text's edges
# smooth in 5 KB, where full colour took 14 KB.
SCREENSHOT_COLOURS = 8
# Below this size PNG always wins (LED frames): WebP is not even tried.
WEBP_FROM_PIXELS = 320 * 240
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
    highest = image.getextrema()[1]  # a single band's (lowest, highest) index
    if not isinstance(highest, int) or highest >= 1 << bits:  # beyond the palette: leave it to Pillow
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
        width = required(data, "width", int)
        height = required(data, "height", int)
        if not (width > 0 and height > 0):
            raise WireError("malformed", "frame width and height must be positive")
        codecs = [codec for codec in FRAME_CODECS if isinstance(data, dict) and codec in data]
        if len(codecs) != 1:
            raise WireError("malformed", f"a frame has exactly one of {', '.join(FRAME_CODECS)}")
        return cls(width, height, required(data, codecs[0], bytes), codecs[0])


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
