"""``relais agent test``: draw a text or a test pattern straight on a backend, without a controller.

A technician at the cabinet checks wiring and settings before the panel joins the fleet: the command
opens the backend exactly as the agent would, shows one image, and says whether the panel answered.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from panel_agent.backends import backend_class

FIELD_TEST_PANEL_ID = "field-test"
# The repository's LED font when the agent runs from a clone; Pillow's own font otherwise.
TERMINUS = Path(__file__).resolve().parents[1] / "fonts" / "terminus" / "terminus-normal.otb"
TERMINUS_SIZES = (32, 28, 24, 22, 20, 18, 16, 14, 12)


def _checkerboard(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), "black")
    lit = [(x, y) for y in range(height) for x in range(width) if (x + y) % 2 == 0]
    ImageDraw.Draw(image).point(lit, fill="white")
    return image


def _border(width: int, height: int) -> Image.Image:
    """The outermost pixels lit and a cross: shows a missing row, column or a shifted module."""
    image = Image.new("RGB", (width, height), "black")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline="white")
    draw.line((0, 0, width - 1, height - 1), fill="white")
    draw.line((0, height - 1, width - 1, 0), fill="white")
    return image


def _full(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width, height), "white")


def _stripes(width: int, height: int) -> Image.Image:
    """Vertical bars of the primary colours: wrong colour order on a matrix shows at once."""
    image = Image.new("RGB", (width, height), "black")
    draw = ImageDraw.Draw(image)
    colours = ("white", "red", "lime", "blue", "yellow", "black")
    band = max(1, width // len(colours))
    for index, colour in enumerate(colours):
        draw.rectangle((index * band, 0, (index + 1) * band - 1, height - 1), fill=colour)
    return image


PATTERNS: dict[str, Callable[[int, int], Image.Image]] = {
    "checkerboard": _checkerboard,
    "border": _border,
    "full": _full,
    "stripes": _stripes,
}


def text_image(text: str, width: int, height: int) -> Image.Image:
    """The text in the largest pixel-font size whose one line fits, without anti-aliasing."""
    image = Image.new("RGB", (width, height), "black")
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.load_default()
    if TERMINUS.exists():
        for size in TERMINUS_SIZES:
            candidate = ImageFont.truetype(str(TERMINUS), size)
            if candidate.getlength(text) <= width and size <= height:
                font = candidate
                break
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(
        ((width - (right - left)) // 2 - left, (height - (bottom - top)) // 2 - top),
        text,
        font=font,
        fill="white",
    )
    return image


def parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs as they would be written in the TOML ``[backend]`` table."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"--set {pair!r}: write key=value")
        settings[key.strip()] = _value(value.strip())
    return settings


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def run_field_test(backend_name: str, pairs: Sequence[str], *, text: str | None, pattern: str | None) -> int:
    """Show the text or pattern; 0 when the backend took it, 1 when the panel did not answer, 2 for bad input."""
    try:
        cls = backend_class(backend_name)
        settings = cls.check_settings(parse_settings(pairs), base_dir=Path.cwd())
        if pattern is not None and pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {pattern!r}; known patterns: {', '.join(PATTERNS)}")
    except ValueError as exc:
        print(f"relais agent test: {exc}", file=sys.stderr)
        return 2
    try:
        backend = cls(settings, panel_id=FIELD_TEST_PANEL_ID)
        try:
            image = (
                PATTERNS[pattern](backend.width, backend.height)
                if pattern
                else text_image(text or "", backend.width, backend.height)
            )
            backend.display(image)
        finally:
            backend.close()
    except Exception as exc:
        print(f"relais agent test: the panel did not answer ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    shown = f"pattern {pattern}" if pattern else f"text {text!r}"
    print(f"{backend_name} panel {backend.width}x{backend.height}: {shown} sent; check it on the panel")
    return 0
