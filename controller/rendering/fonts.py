"""The bundled fonts, as the registry ``fonts/fonts.toml`` lists them.

Pixel families are bitmap fonts usable only at the heights they were drawn for, one pixel per LED;
scalable families (DejaVu, for e-paper) take any size. Everything is loaded with FreeType's basic
layout so that whether Raqm is installed never changes a pixel, and only from ``fonts/``: Pillow
would otherwise quietly pick a system font of the same file name.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont

FONTS_DIR = Path(__file__).resolve().parents[2] / "fonts"
REGISTRY = FONTS_DIR / "fonts.toml"

# A noncharacter no font maps: drawing it shows the font's .notdef glyph.
_NOTDEF_PROBE = "\U0010ffff"


class FontError(ValueError):
    """The registry is wrong (missing file, bad entry) or names no such family or size."""


class MissingGlyphs(ValueError):
    """The font cannot draw some characters; we refuse rather than show a .notdef box.

    The message is in French because commune staff read it in the API error.
    """

    def __init__(self, chars: tuple[str, ...], family: str, size: int) -> None:
        shown = ", ".join(f"« {char} » (U+{ord(char):04X})" for char in chars)
        super().__init__(f"caractères absents de la police {family} {size} px : {shown}")
        self.chars = chars
        self.family = family
        self.size = size


@dataclass(frozen=True)
class FontFamily:
    """One family of the registry; ``files`` maps each size to (file under fonts/, FreeType size)."""

    name: str
    kind: Literal["pixel", "scalable"]
    bold: bool
    files: tuple[tuple[int, str, int], ...] = field(default=(), repr=False)  # pixel: (height, file, load)
    file: str = field(default="", repr=False)  # scalable

    def sizes(self, min_px: int, max_px: int) -> list[int]:
        """The sizes to try between the bounds, largest first (the engine stops at the first that fits)."""
        if self.kind == "pixel":
            candidates = [height for height, _, _ in self.files]
        else:
            candidates = list(range(max(min_px, 1), max_px + 1))
        return sorted((size for size in candidates if min_px <= size <= max_px), reverse=True)

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        """The font at ``size`` (a registry height for a pixel family), loaded once."""
        return _load(*self._file_at(size))

    def line_height(self, size: int) -> int:
        """Pixels from one line's top to the next: the cell height, which already holds the leading."""
        return _line_height(*self._file_at(size), size)

    def text_width(self, text: str, size: int) -> int:
        """The pen advance of drawing ``text`` (one line) at ``size``, rounded up to whole pixels."""
        return math.ceil(self.font(size).getlength(text))

    def check_glyphs(self, text: str, size: int) -> None:
        """Raise :class:`MissingGlyphs` naming every character of ``text`` the font lacks.

        Any Unicode space counts as present when the font has a plain space: draw the text as
        :meth:`drawable` returns it so that a space the font lacks (Terminus has no U+202F) is not
        drawn as a box.
        """
        path, load_size = self._file_at(size)
        missing = sorted(
            {char for char in text if char != "\n" and not _has_char(path, load_size, char)}, key=ord
        )
        if missing:
            raise MissingGlyphs(tuple(missing), self.name, size)

    def drawable(self, text: str, size: int) -> str:
        """``text`` with every space the font lacks replaced by its plain space, same width in a
        monospaced font; other characters are left for :meth:`check_glyphs` to judge."""
        path, load_size = self._file_at(size)
        return "".join(
            " " if char.isspace() and char != "\n" and not _has_own_glyph(path, load_size, char) else char
            for char in text
        )

    def _file_at(self, size: int) -> tuple[Path, int]:
        if self.kind == "scalable":
            if size < 1:
                raise FontError(f"taille de police invalide : {size} px")
            return FONTS_DIR / self.file, size
        for height, file, load_size in self.files:
            if height == size:
                return FONTS_DIR / file, load_size
        known = ", ".join(str(height) for height, _, _ in self.files)
        raise FontError(f"la police {self.name} n’existe pas en {size} px (tailles : {known})")


def family(name: str) -> FontFamily:
    """The family called ``name`` in the registry."""
    registry = _registry()
    if name not in registry:
        raise FontError(f"police inconnue : {name!r} (polices connues : {', '.join(sorted(registry))})")
    return registry[name]


def families() -> list[FontFamily]:
    """Every family of the registry, by name."""
    registry = _registry()
    return [registry[name] for name in sorted(registry)]


@lru_cache(maxsize=1)
def _registry() -> dict[str, FontFamily]:
    """Read and check ``fonts/fonts.toml`` once: every file exists, is listed with its licence, loads."""
    try:
        data = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise FontError(f"registre des polices illisible ({REGISTRY.name}) : {error}") from error
    files = data.get("files", {})
    for file, meta in files.items():
        if not (isinstance(meta, dict) and meta.get("licence") and meta.get("source")):
            raise FontError(f"{REGISTRY.name} : le fichier {file} doit avoir « licence » et « source »")
    registry: dict[str, FontFamily] = {}
    for name, entry in data.get("families", {}).items():
        registry[name] = _parse_family(name, entry, files)
    if not registry:
        raise FontError(f"{REGISTRY.name} ne déclare aucune famille")
    return registry


def _parse_family(name: str, entry: dict[str, Any], files: dict[str, Any]) -> FontFamily:
    where = f"{REGISTRY.name}, famille {name}"
    kind, bold = entry.get("kind"), entry.get("bold")
    if kind not in ("pixel", "scalable") or not isinstance(bold, bool):
        raise FontError(f"{where} : « kind » doit valoir pixel ou scalable et « bold » true ou false")
    if kind == "scalable":
        return FontFamily(name, kind, bold, file=_checked_file(entry.get("file"), files, where))
    strikes = []
    for height_key, strike in entry.get("sizes", {}).items():
        height = int(height_key) if height_key.isdigit() else 0
        if height < 1 or not isinstance(strike, dict):
            raise FontError(f"{where} : taille invalide {height_key!r}")
        file, load_size = _checked_file(strike.get("file"), files, where), strike.get("load_size", height)
        try:
            _load(FONTS_DIR / file, load_size)
        except OSError as error:
            raise FontError(f"{where} : {file} ne se charge pas en {load_size} px ({error})") from error
        strikes.append((height, file, load_size))
    if not strikes:
        raise FontError(f"{where} : aucune taille")
    return FontFamily(name, kind, bold, files=tuple(sorted(strikes)))


def _checked_file(file: object, files: dict[str, Any], where: str) -> str:
    """A family's font file, once it is known to be declared in [files] and shipped in fonts/."""
    if not isinstance(file, str) or file not in files:
        raise FontError(f"{where} : fichier {file!r} absent de la table [files]")
    if not (FONTS_DIR / file).is_file():
        raise FontError(f"{where} : fichier {file} introuvable dans fonts/")
    return file


@lru_cache(maxsize=256)
def _load(path: Path, size: int) -> ImageFont.FreeTypeFont:
    # Basic layout, not Raqm: whether Raqm is installed must not change a single pixel.
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=4096)
def _line_height(path: Path, load_size: int, size: int) -> int:
    """Remembered apart from the fonts: fitting a text tries every size of a scalable family, which
    would otherwise load (and evict from ``_load``) hundreds of fonts for their metrics alone."""
    ascent, descent = _load(path, load_size).getmetrics()
    return max(size, ascent + descent)


def _signature(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[float, ...], float, bytes]:
    """What drawing ``char`` alone gives: its box, its advance and its pixels (no anti-aliasing)."""
    box = font.getbbox(char)
    image = Image.new("1", (max(int(box[2]), 1), max(int(box[3]), 1)))  # whole pixels without Raqm
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw.text((0, 0), char, font=font, fill=1)
    return box, font.getlength(char), image.tobytes()


def _has_ink(signature: tuple[tuple[float, ...], float, bytes]) -> bool:
    return any(signature[2])


@lru_cache(maxsize=8192)
def _has_own_glyph(path: Path, size: int, char: str) -> bool:
    """The font maps ``char``: not its .notdef, and inked unless it is a space."""
    font = _load(path, size)
    signature = _signature(font, char)
    if signature == _signature(font, _NOTDEF_PROBE):
        return False
    return not _has_ink(signature) if char.isspace() else _has_ink(signature)


@lru_cache(maxsize=8192)
def _has_char(path: Path, size: int, char: str) -> bool:
    """What :meth:`FontFamily.check_glyphs` accepts: an own glyph, or any space when there is a space."""
    if char.isspace():
        return _has_own_glyph(path, size, " ") and _load(path, size).getlength(" ") > 0
    return _has_own_glyph(path, size, char)
