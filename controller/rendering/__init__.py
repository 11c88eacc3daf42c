"""Render a text message into the exact pixels a panel shows.

Pure Pillow, no I/O but reading the bundled fonts, and no anti-aliasing: an LED is on or off and the
e-paper frames are 1-bit, so grey edges would only turn into noise. The same text and profile always
give the same pixels, which is what the golden-image tests hold us to.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOUR_MODES = ("amber", "red", "rgb", "bw")

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"
# Spleen is drawn on a pixel grid: only its native heights give one crisp pixel per LED.
_SPLEEN_FILES = {
    64: "spleen-32x64.otf",
    32: "spleen-16x32.otf",
    24: "spleen-12x24.otf",
    16: "spleen-8x16.otf",
    12: "spleen-6x12.otf",
}
LED_SIZES = tuple(_SPLEEN_FILES)  # largest first
# Bold: thin regular strokes break up without anti-aliasing, and public panels are read from afar.
EPAPER_FONT = FONTS_DIR / "dejavu" / "DejaVuSans-Bold.ttf"
EPAPER_MIN_SIZE = 14
EPAPER_MAX_SIZE = 120

# Two palette entries make Pillow write a 1-bit PNG: a whole frame is a few hundred bytes.
_PALETTES = {
    "amber": ((0, 0, 0), (255, 176, 0)),
    "red": ((0, 0, 0), (255, 40, 0)),
    "bw": ((255, 255, 255), (0, 0, 0)),
}
_RGB_BACKGROUND = (0, 0, 0)
_RGB_TEXT = (255, 210, 0)

# Spleen has no en or em dash at any size, and its 6x12 lacks œ Œ €, the typographic apostrophe and
# the ellipsis: these stand-ins say the same thing in glyphs it has, and replace a character only
# when the chosen font lacks it. Escapes, because the originals look like their stand-ins.
FALLBACKS = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark, the French apostrophe
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u2026": "...",  # ellipsis
    "œ": "oe",
    "Œ": "OE",
    "€": "EUR",
}
_BINDS_PREVIOUS = frozenset({"»", ":", ";", "!", "?"})
# A noncharacter no font maps, so drawing it shows the font's .notdef box.
_NOTDEF_PROBE = "\U0010ffff"


@dataclass(frozen=True)
class PanelProfile:
    """What the renderer needs to know about a panel: its pixel size and how it shows colour."""

    width: int
    height: int
    colour_mode: str

    def __post_init__(self) -> None:
        if self.colour_mode not in COLOUR_MODES:
            raise ValueError(f"colour mode {self.colour_mode!r} is not one of {', '.join(COLOUR_MODES)}")
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"panel {name} must be a positive number of pixels, got {value!r}")

    @property
    def is_led(self) -> bool:
        """LED panels get the bitmap font at native sizes; e-paper gets a scalable one."""
        return self.colour_mode != "bw"


class TextDoesNotFit(ValueError):
    """The text does not fit the panel even at the smallest legible size.

    (English: the message names the panel size and the smallest size tried.) The message is in French
    because commune staff read it in the API error, and we refuse rather than cut text silently.
    """

    def __init__(self, profile: PanelProfile, smallest_size: int) -> None:
        super().__init__(
            f"le texte ne tient pas sur un panneau {profile.width}x{profile.height} "
            f"même à la plus petite taille lisible ({smallest_size} px)"
        )
        self.profile = profile
        self.smallest_size = smallest_size


@dataclass(frozen=True)
class Layout:
    """The size chosen and the lines as drawn (after wrapping and glyph stand-ins), for previews."""

    font_size: int
    lines: tuple[str, ...]


def layout_text(text: str, profile: PanelProfile) -> Layout:
    """Wrap ``text`` at the largest size that fits, keeping the user's own line breaks.

    Raises ``ValueError`` for an empty text or characters the font cannot draw, and
    ``TextDoesNotFit`` when even the smallest legible size is too big: a panel never shows a cut text.
    """
    paragraphs = _paragraphs(text)
    margin = 0 if profile.is_led else min(profile.width, profile.height) // 20
    max_width = profile.width - 2 * margin
    max_height = profile.height - 2 * margin
    sizes = _candidate_sizes(profile)
    for size in sizes:
        font = _font(_font_path(profile, size), size)
        drawable = [_apply_fallbacks(paragraph, font) for paragraph in paragraphs]
        _refuse_missing_glyphs(drawable, font)
        lines = _wrap(drawable, font, max_width)
        fits_height = len(lines) * _line_pitch(font) <= max_height
        if fits_height and all(_ink_width(font, line) <= max_width for line in lines):
            return Layout(size, tuple(lines))
    raise TextDoesNotFit(profile, sizes[-1])


def render_text(text: str, profile: PanelProfile) -> Image.Image:
    """Draw ``text`` as :func:`layout_text` lays it out: lines centred, the block centred vertically."""
    layout = layout_text(text, profile)
    font = _font(_font_path(profile, layout.font_size), layout.font_size)
    size = (profile.width, profile.height)
    if profile.colour_mode == "rgb":
        image = Image.new("RGB", size, _RGB_BACKGROUND)
        ink: int | tuple[int, int, int] = _RGB_TEXT
    else:
        image = Image.new("P", size, 0)
        background, foreground = _PALETTES[profile.colour_mode]
        image.putpalette(bytes((*background, *foreground)))
        ink = 1
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    pitch = _line_pitch(font)
    top = (profile.height - len(layout.lines) * pitch) // 2
    for index, line in enumerate(layout.lines):
        if line:
            left, _, right, _ = font.getbbox(line)
            draw.text(
                ((profile.width - (right - left)) // 2 - left, top + index * pitch), line, font=font, fill=ink
            )
    return image


def _paragraphs(text: str) -> list[str]:
    """Split into the user's lines; NFC so a decomposed "é" pasted from elsewhere finds its glyph."""
    normalised = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    normalised = normalised.replace("\t", " ").strip()
    if not normalised:
        raise ValueError("le texte est vide")
    return [line.strip(" ") for line in normalised.split("\n")]


def _candidate_sizes(profile: PanelProfile) -> tuple[int, ...]:
    """Font sizes to try, largest first; the last one is the smallest legible size."""
    if profile.is_led:
        return LED_SIZES
    start = min(profile.height // 2, EPAPER_MAX_SIZE)
    start -= start % 2  # even steps so that the smallest legible size itself is tried
    return tuple(range(max(start, EPAPER_MIN_SIZE), EPAPER_MIN_SIZE - 1, -2))


def _font_path(profile: PanelProfile, size: int) -> Path:
    return FONTS_DIR / "spleen" / _SPLEEN_FILES[size] if profile.is_led else EPAPER_FONT


@lru_cache(maxsize=128)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    # Basic layout, not Raqm: whether Raqm is installed must not change a single pixel.
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def _glyph_signature(font: ImageFont.FreeTypeFont, char: str) -> tuple[object, ...]:
    box = font.getbbox(char)
    image = Image.new("1", (max(box[2], 1), max(box[3], 1)))
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw.text((0, 0), char, font=font, fill=1)
    return box, font.getlength(char), image.tobytes()


@lru_cache(maxsize=4096)
def has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether ``font`` draws ``char`` itself rather than its .notdef box."""
    return _glyph_signature(font, char) != _glyph_signature(font, _NOTDEF_PROBE)


def _apply_fallbacks(line: str, font: ImageFont.FreeTypeFont) -> str:
    return "".join(
        FALLBACKS[char] if char in FALLBACKS and not has_glyph(font, char) else char for char in line
    )


def _refuse_missing_glyphs(lines: list[str], font: ImageFont.FreeTypeFont) -> None:
    missing = sorted({char for line in lines for char in line if not has_glyph(font, char)})
    if missing:
        shown = " ".join(f"{char!r} (U+{ord(char):04X})" for char in missing)
        raise ValueError(f"caractères absents de la police : {shown}")


def _words(paragraph: str) -> list[str]:
    """Split at plain spaces, except those French puts inside « » and before : ; ! ? (and no-break
    spaces, which are not plain spaces): a line must not start with » nor end with «."""
    words: list[str] = []
    glue_next = False
    for token in paragraph.split(" "):
        if not token:
            continue
        if words and (glue_next or token in _BINDS_PREVIOUS):
            words[-1] += " " + token
        else:
            words.append(token)
        glue_next = token == "«"
    return words


def _wrap(paragraphs: list[str], font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy word wrap; a word wider than the panel stays alone on its line for the caller to see."""
    lines: list[str] = []
    for paragraph in paragraphs:
        words = _words(paragraph)
        if not words:
            lines.append("")
            continue
        line = words[0]
        for word in words[1:]:
            candidate = f"{line} {word}"
            if _ink_width(font, candidate) <= max_width:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def _line_pitch(font: ImageFont.FreeTypeFont) -> int:
    """Ascent plus descent: Spleen's cells already include the gap between lines."""
    return sum(font.getmetrics())


def _ink_width(font: ImageFont.FreeTypeFont, line: str) -> int:
    left, _, right, _ = font.getbbox(line)
    return right - left
