"""Layouts: where a message's title, body, pictogram… go on a panel, read from ``layouts/*.toml``.

Layouts are declarative files so that a commune's designer can add one without touching code; the
schema is in ``layouts/README.md``. The loader refuses anything it does not understand (unknown keys,
overlapping zones, unknown colours) with a French message naming the file and the key path, because a
silently ignored typo would only show up as a wrong frame on a public panel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from controller.rendering.model import COLOUR_NAMES, Align, VAlign
from controller.rendering.profiles import (
    COLOUR_MODES,
    MAX_SIZE,
    MIN_SIZE,
    TECHNOLOGIES,
    PanelProfile,
)
from controller.rendering.toml_fields import Fields, ReadOnce, display_path, quote, read_toml

LAYOUTS_DIR = Path(__file__).resolve().parents[2] / "layouts"

CONTENTS = ("title", "body", "footer", "pictogram", "image", "qr", "date", "clock")
TEXT_CONTENTS = ("title", "body", "footer", "date", "clock")
# The message field a zone shows, by its content; date and clock show when it was issued, no field.
FIELD_OF_CONTENT = {
    "body": "text",
    "title": "title",
    "footer": "footer",
    "pictogram": "pictogram",
    "image": "image",
    "qr": "qr",
}
FONTS = ("pixel", "pixel-bold", "sans", "sans-bold")
LED_FONTS = ("pixel", "pixel-bold")
# `font` alone also serves LED panels, which draw only pixel fonts: a sans family maps to the pixel
# family of the same weight.
_LED_FONT_FOR = {"pixel": "pixel", "pixel-bold": "pixel-bold", "sans": "pixel", "sans-bold": "pixel-bold"}
ALIGNS: tuple[str, ...] = get_args(Align)
VALIGNS: tuple[str, ...] = get_args(VAlign)
ZONE_COLOURS = ("foreground", "accent")
FITS = ("shrink", "page")
ROLES = ("normal", "warning", "emergency")
MAX_MARGIN = 0.2
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_ZONE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_EPSILON = 1e-9


class LayoutError(ValueError):
    """A layout file or lookup is wrong; the message, in French, names the file and the key path."""


@dataclass(frozen=True)
class Zone:
    """A rectangle of the panel and what fills it.

    ``box`` is (x, y, width, height) in fractions of the area inside the margin. ``font_led`` and
    ``font_epaper`` are the families to draw with on each technology (None for pictogram, image and
    qr zones). ``max_size`` and ``min_size`` are font pixel sizes; ``min_size`` None means the
    profile's ``min_legible_px``.
    """

    name: str
    content: str
    box: tuple[float, float, float, float]
    font_led: str | None
    font_epaper: str | None
    max_size: int | None
    min_size: int | None
    align: str
    valign: str
    colour: str
    fit: str
    required: bool
    frame: bool


@dataclass(frozen=True)
class RoleColours:
    """Colour names (model.COLOUR_NAMES or "#rrggbb") for one role, resolved by the panel profile."""

    background: str
    foreground: str
    accent: str


@dataclass(frozen=True)
class Layout:
    """A checked layout file; `suits` and `zone_rect` are all the engine needs to place zones."""

    name: str
    label: str
    description: str
    margin_led: float
    margin_epaper: float
    zones: tuple[Zone, ...]
    roles: dict[str, RoleColours]
    suits_technologies: tuple[str, ...]
    min_width: int | None
    min_height: int | None
    max_width: int | None
    max_height: int | None
    colour_modes: tuple[str, ...] | None

    @property
    def fields(self) -> tuple[str, ...]:
        """The message fields this layout shows, in zone order: any other given field is dropped."""
        return tuple(
            FIELD_OF_CONTENT[zone.content] for zone in self.zones if zone.content in FIELD_OF_CONTENT
        )

    def suits(self, profile: PanelProfile) -> bool:
        """Whether the layout was designed for this panel: every condition of [suits] holds."""
        return (
            profile.technology in self.suits_technologies
            and (self.min_width is None or profile.width >= self.min_width)
            and (self.min_height is None or profile.height >= self.min_height)
            and (self.max_width is None or profile.width <= self.max_width)
            and (self.max_height is None or profile.height <= self.max_height)
            and (self.colour_modes is None or profile.colour_mode in self.colour_modes)
        )

    def margin_px(self, profile: PanelProfile) -> int:
        """The empty border on each side, in pixels: a fraction of the panel's smaller side."""
        margin = self.margin_led if profile.is_led else self.margin_epaper
        return _round(margin * min(profile.width, profile.height))

    def zone_rect(self, zone: Zone, profile: PanelProfile) -> tuple[int, int, int, int]:
        """The zone's pixels as (x0, y0, x1, y1), x1 and y1 excluded (as Image.crop takes them).

        Edges are rounded half up from the same fractions, so zones that touch in the file touch in
        pixels, never overlap and leave no gap. A zone too thin for one pixel still gets one.
        """
        margin = self.margin_px(profile)
        inner_w, inner_h = profile.width - 2 * margin, profile.height - 2 * margin
        x, y, w, h = zone.box
        x0, x1 = _span(margin, inner_w, x, w)
        y0, y1 = _span(margin, inner_h, y, h)
        return x0, y0, x1, y1


def _round(value: float) -> int:
    """Round half up: deterministic, unlike round(), which rounds half to even."""
    return math.floor(value + 0.5 + _EPSILON)


def _span(start: int, length: int, offset: float, size: float) -> tuple[int, int]:
    low = start + _round(offset * length)
    high = start + _round((offset + size) * length)
    if high <= low:
        high = min(low + 1, start + length)
        low = high - 1
    return low, high


def _colour_name(reader: Fields, key: str) -> str:
    value: str = reader.get(key, str)
    if value not in COLOUR_NAMES and not _HEX.match(value):
        raise reader.fail(
            key, f"couleur {quote(value)} inconnue (noms permis : {', '.join(COLOUR_NAMES)}, ou #rrggbb)"
        )
    return value


def _roles(top: Fields) -> dict[str, RoleColours]:
    roles = top.table("roles")
    result = {}
    for role in ROLES:
        colours = roles.table(role)
        result[role] = RoleColours(
            background=_colour_name(colours, "background"),
            foreground=_colour_name(colours, "foreground"),
            accent=_colour_name(colours, "accent"),
        )
        colours.done()
    roles.done()
    return result


def _box(reader: Fields) -> tuple[float, float, float, float]:
    box = reader.get("box", list)
    if len(box) != 4 or any(isinstance(v, bool) or not isinstance(v, int | float) for v in box):
        raise reader.fail("box", f"doit être [x, y, largeur, hauteur], quatre nombres, pas {box!r}")
    x, y, w, h = (float(v) for v in box)
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise reader.fail("box", f"x et y doivent être ≥ 0, largeur et hauteur > 0 : {box!r}")
    if x + w > 1 + _EPSILON or y + h > 1 + _EPSILON:
        raise reader.fail("box", f"la zone déborde du panneau (x + largeur et y + hauteur ≤ 1) : {box!r}")
    return x, y, w, h


def _fonts(reader: Fields, content: str) -> tuple[str | None, str | None]:
    """The LED and e-paper families: `font` for both, or `font_led` / `font_epaper` to differ."""
    if content not in TEXT_CONTENTS:
        for key in ("font", "font_led", "font_epaper"):
            if key in reader.data:
                raise reader.fail(key, f"une zone « {content} » n'a pas de police")
        return None, None
    font = reader.get("font", str, required=False)
    font_led = reader.get("font_led", str, required=False)
    font_epaper = reader.get("font_epaper", str, required=False)
    for key, value in (("font", font), ("font_led", font_led), ("font_epaper", font_epaper)):
        if value is not None and value not in FONTS:
            raise reader.fail(key, f"{quote(value)} n'est pas une valeur permise ({', '.join(FONTS)})")
    if font is None and (font_led is None or font_epaper is None):
        raise reader.fail("font", "clé manquante (ou bien font_led et font_epaper, toutes deux)")
    if font is not None and font_led is not None and font_epaper is not None:
        raise reader.fail("font", "inutile quand font_led et font_epaper sont donnés tous deux")
    if font_led is not None and font_led not in LED_FONTS:
        raise reader.fail("font_led", f"une LED n'a que des polices pixel ({', '.join(LED_FONTS)})")
    return font_led or _LED_FONT_FOR[font], font_epaper or font


def _zone(reader: Fields) -> Zone:
    name = reader.get("name", str)
    if not _ZONE_NAME.match(name):
        raise reader.fail("name", f"{quote(name)} : a-z, 0-9, - et _ seulement, une lettre d'abord")
    content = reader.choice("content", CONTENTS)
    box = _box(reader)
    font_led, font_epaper = _fonts(reader, content)
    is_text = content in TEXT_CONTENTS
    if not is_text:
        for key in ("max_size", "min_size", "fit"):
            if key in reader.data:
                raise reader.fail(key, f"seulement pour une zone de texte ({', '.join(TEXT_CONTENTS)})")
    max_size = reader.integer("max_size", 1, MAX_SIZE, required=False)
    min_size_value = reader.get("min_size", (str, int), required=False)
    min_size: int | None = None
    if isinstance(min_size_value, int):
        min_size = reader.integer("min_size", 1, MAX_SIZE)
    elif min_size_value not in (None, "legible"):
        raise reader.fail("min_size", f"doit être « legible » ou un entier, pas {quote(min_size_value)}")
    if min_size is not None and max_size is not None and min_size > max_size:
        raise reader.fail("min_size", f"{min_size} dépasse max_size ({max_size})")
    zone = Zone(
        name=name,
        content=content,
        box=box,
        font_led=font_led,
        font_epaper=font_epaper,
        max_size=max_size,
        min_size=min_size,
        align=reader.choice("align", ALIGNS, "center"),
        valign=reader.choice("valign", VALIGNS, "middle"),
        colour=reader.choice("colour", ZONE_COLOURS, "foreground"),
        fit=reader.choice("fit", FITS, "shrink"),
        required=reader.flag("required", True),
        frame=reader.flag("frame", False),
    )
    reader.done()
    return zone


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two boxes share area; touching edges are fine."""
    return (
        min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > _EPSILON
        and min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > _EPSILON
    )


def load_layout(path: Path) -> Layout:
    """Read and check one layout file."""
    file = display_path(path)
    top = Fields(read_toml(path, LayoutError), LayoutError, file)
    name = top.text("name")
    if name != path.stem:
        raise top.fail("name", f"{quote(name)} doit être le nom du fichier sans .toml ({quote(path.stem)})")
    label = top.text("label")
    description = top.text("description", allow_empty=True)
    margin = top.number("margin", MAX_MARGIN, 0.0)
    margin_led = top.number("margin_led", MAX_MARGIN, margin)
    margin_epaper = top.number("margin_epaper", MAX_MARGIN, margin)

    suits = top.table("suits")
    technologies = suits.choices("technologies", TECHNOLOGIES)
    min_width = suits.integer("min_width", MIN_SIZE, MAX_SIZE, required=False)
    min_height = suits.integer("min_height", MIN_SIZE, MAX_SIZE, required=False)
    max_width = suits.integer("max_width", min_width or MIN_SIZE, MAX_SIZE, required=False)
    max_height = suits.integer("max_height", min_height or MIN_SIZE, MAX_SIZE, required=False)
    colour_modes = suits.choices("colour_modes", tuple(COLOUR_MODES), required=False)
    for index, mode in enumerate(colour_modes or ()):
        if COLOUR_MODES[mode] not in technologies:
            raise suits.fail(
                f"colour_modes[{index}]",
                f"{quote(mode)} est un mode {COLOUR_MODES[mode]}, absent de technologies",
            )
    suits.done()

    roles = _roles(top)
    zone_list = top.get("zones", list)
    if not zone_list:
        raise top.fail("zones", "il faut au moins une zone ([[zones]])")
    zones: list[Zone] = []
    for index, data in enumerate(zone_list):
        where = f"zones[{index}]"
        if not isinstance(data, dict):
            raise top.fail(where, "doit être une table [[zones]]")
        zone = _zone(Fields(data, LayoutError, file, where))
        for other_index, other in enumerate(zones):
            if zone.name == other.name:
                raise top.fail(f"{where}.name", f"{quote(zone.name)} est déjà le nom de zones[{other_index}]")
            if _overlap(zone.box, other.box):
                raise top.fail(f"{where}.box", f"chevauche zones[{other_index}] ({quote(other.name)})")
            if zone.fit == other.fit == "page":
                raise top.fail(
                    f"{where}.fit", f"une seule zone peut paginer, et zones[{other_index}] le fait déjà"
                )
        zones.append(zone)
    top.done()
    return Layout(
        name=name,
        label=label,
        description=description,
        margin_led=margin_led,
        margin_epaper=margin_epaper,
        zones=tuple(zones),
        roles=roles,
        suits_technologies=technologies,
        min_width=min_width,
        min_height=min_height,
        max_width=max_width,
        max_height=max_height,
        colour_modes=colour_modes,
    )


def _read_layouts(directory: Path) -> dict[str, Layout]:
    layouts = {path.stem: load_layout(path) for path in sorted(directory.glob("*.toml"))}
    if not layouts:
        raise LayoutError(f"{display_path(directory)}: aucune mise en page (*.toml)")
    return layouts


_LAYOUTS = ReadOnce(_read_layouts, LAYOUTS_DIR)


def load_layouts(directory: Path = LAYOUTS_DIR) -> dict[str, Layout]:
    """Every ``*.toml`` of ``directory`` by name; the default directory is read once per process."""
    return _LAYOUTS.load(directory)


def get_layout(name: str) -> Layout:
    """The shipped layout ``name``; the error lists the known ones."""
    layouts = _LAYOUTS.shipped
    if name not in layouts:
        raise LayoutError(f"mise en page {quote(name)} inconnue (connues : {', '.join(sorted(layouts))})")
    return layouts[name]
