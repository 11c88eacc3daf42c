"""Panel profiles: the kinds of panel Relais drives, read from ``profiles.toml``.

The profiles are data so that a new panel model is a few lines of TOML, reviewed like code. The
loader is strict (every key type-checked, unknown keys refused, errors naming file, profile and key)
because a typo in a pitch or a colour mode would silently render illegible or wrongly coloured frames.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from controller.rendering.model import COLOUR_NAMES
from controller.rendering.toml_fields import Fields, ReadOnce, display_path, quote, read_toml

PROFILES_FILE = Path(__file__).resolve().parent / "profiles.toml"

TECHNOLOGIES = ("led", "epaper")
# Each colour mode belongs to one technology: this is what makes a profile coherent.
COLOUR_MODES = {"mono": "led", "rgb": "led", "bw": "epaper", "bwr": "epaper", "7colour": "epaper"}
LED_COLOURS = {"amber": (255, 176, 0), "red": (255, 40, 0), "white": (255, 255, 255)}
MIN_SIZE, MAX_SIZE = 8, 4096

BLACK, WHITE = (0, 0, 0), (255, 255, 255)
# The RGB each colour name stands for, when matched against a panel's palette.
NAMED_RGB = {
    "black": BLACK,
    "white": WHITE,
    "red": (255, 0, 0),
    "amber": (255, 176, 0),
    "yellow": (255, 255, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "orange": (255, 128, 0),
}
# The 7-colour ACeP panels' own inks, in the order their controller numbers them after white/black.
_SEVEN_COLOURS = (WHITE, BLACK, (0, 255, 0), (0, 0, 255), (255, 0, 0), (255, 255, 0), (255, 128, 0))
RGB_INK = NAMED_RGB["amber"]
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_PROFILE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Legibility (see PanelProfile.min_legible_px).
LEGIBILITY_INDEX = 360  # reading distance / capital height: USSC's 30 ft per inch
PUBLIC_MIN_CAP_MM = 4.5  # French ERP accessibility rule: smallest character height for information
CAP_HEIGHT_RATIO = 0.7  # capital height / font pixel size (DejaVu Sans 0.73, Terminus 16 px 0.63)
MIN_FONT_PX = {"led": 7, "epaper": 12}


class ProfileError(ValueError):
    """A profile file or a profile lookup is wrong; the message names file, profile and key."""


@dataclass(frozen=True)
class PanelProfile:
    """One kind of panel: its size, how it shows colour, and how far away people read it."""

    id: str
    label: str
    technology: str
    width: int
    height: int
    colour_mode: str
    palette: tuple[tuple[int, int, int], ...]
    bits: int
    led_colour: str | None
    pixel_pitch_mm: float
    viewing_distance_m: float
    partial_refresh: bool
    min_refresh_s: int
    refresh_budget_per_day: int | None
    note: str

    @property
    def is_led(self) -> bool:
        return self.technology == "led"

    @property
    def image_mode(self) -> str:
        """Pillow mode of a frame: full colour, or palette indices (a small PNG, exact colours)."""
        return "RGB" if self.colour_mode == "rgb" else "P"

    @property
    def min_legible_px(self) -> int:
        """Smallest font pixel size (a font's line height, as fonts.toml lists them) people can read.

        Capital letters must be at least 1/360 of the reading distance: the United States Sign
        Council's legibility index of 30 ft per inch of letter height ("Sign Legibility Rules of
        Thumb", 2006), a general average for signs. E-paper hangs in public buildings, so its capitals
        are also never under 4.5 mm, the floor French accessibility rules for public buildings set for
        written information (arrêté du 20 avril 2017, after that of 1 August 2006). Capitals are about
        0.7 of a font's pixel size. Floors: 7 px on LED (the smallest pixel font, 5x7) and 12 px on
        e-paper (below that a 1-bit scalable font loses its shapes); never more than the panel height.
        """
        cap_mm = self.viewing_distance_m * 1000 / LEGIBILITY_INDEX
        if not self.is_led:
            cap_mm = max(cap_mm, PUBLIC_MIN_CAP_MM)
        # Rounded first, so that float noise never adds a pixel.
        font_px = math.ceil(round(cap_mm / self.pixel_pitch_mm / CAP_HEIGHT_RATIO, 6))
        return min(max(font_px, MIN_FONT_PX[self.technology]), self.height)

    @property
    def ink(self) -> int | tuple[int, int, int]:
        """What "on" means: the LED colour at full level, black on paper, amber on RGB boards."""
        if self.colour_mode == "rgb":
            return RGB_INK
        return len(self.palette) - 1 if self.colour_mode == "mono" else 1

    def colour(self, name: str) -> int | tuple[int, int, int]:
        """A colour name or "#rrggbb" as this panel draws it: a palette index, or RGB on RGB panels.

        "off" is the background (index 0), "on" the ink. Other colours go to the nearest palette
        colour by RGB distance, with two rules so that coloured text never vanishes: a name other
        than the background's own ("black" on LED, "white" on paper) never resolves to the
        background, and on a one-colour LED board every such name is the full-level ink (the board
        shows no hue, and a dim level is not what "red" asks for). "#rrggbb" is plain nearest.
        """
        if name == "off":
            return BLACK if self.colour_mode == "rgb" else 0
        if name == "on":
            return self.ink
        if _HEX.match(name):
            rgb = (int(name[1:3], 16), int(name[3:5], 16), int(name[5:7], 16))
            return rgb if self.colour_mode == "rgb" else _nearest(self.palette, rgb, range(len(self.palette)))
        if name not in NAMED_RGB:
            raise ProfileError(
                f"profil {self.id}: couleur {quote(name)} inconnue "
                f"(noms permis : {', '.join(COLOUR_NAMES)}, ou #rrggbb)"
            )
        rgb = NAMED_RGB[name]
        if self.colour_mode == "rgb":
            return rgb
        if rgb == self.palette[0]:
            return 0
        if self.colour_mode == "mono":
            return self.ink
        return _nearest(self.palette, rgb, range(1, len(self.palette)))


def _nearest(palette: tuple[tuple[int, int, int], ...], rgb: tuple[int, int, int], indices: range) -> int:
    """Index of the palette colour nearest ``rgb``; ties go to the lower index, for determinism."""
    return min(indices, key=lambda i: (sum((a - b) ** 2 for a, b in zip(palette[i], rgb, strict=True)), i))


def palette_for(colour_mode: str, led_colour: str | None, bits: int) -> tuple[tuple[int, int, int], ...]:
    """The colours a panel can show, background first; empty for full-colour panels."""
    if colour_mode == "mono":
        if led_colour is None:
            raise ProfileError("a mono profile needs its led_colour")
        red, green, blue = LED_COLOURS[led_colour]
        top = 2**bits - 1
        return tuple(
            (_level(red, level, top), _level(green, level, top), _level(blue, level, top))
            for level in range(top + 1)
        )
    return {"rgb": (), "bw": (WHITE, BLACK), "bwr": (WHITE, BLACK, (255, 0, 0)), "7colour": _SEVEN_COLOURS}[
        colour_mode
    ]


def _level(channel: int, level: int, top: int) -> int:
    """One channel at ``level`` of ``top``, rounded half up (never banker's rounding)."""
    return (2 * channel * level + top) // (2 * top)


# Bits per pixel of the frame a panel takes, for the modes where the file does not give it.
_DERIVED_BITS = {"rgb": 24, "bw": 1, "bwr": 2, "7colour": 3}


def _parse_profile(profile_id: str, data: object, where: str) -> PanelProfile:
    if not _PROFILE_ID.match(profile_id):
        raise ProfileError(f"{where}: {profile_id}: un id de profil ne contient que a-z, 0-9 et -")
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: {profile_id}: doit être une table [{profile_id}]")
    fields = Fields(data, ProfileError, where, profile_id)
    technology = fields.choice("technology", TECHNOLOGIES)
    colour_mode = fields.choice("colour_mode", tuple(COLOUR_MODES))
    if COLOUR_MODES[colour_mode] != technology:
        raise fields.fail(
            "colour_mode", f"{quote(colour_mode)} ne va pas avec technology = {quote(technology)}"
        )
    if colour_mode == "mono":
        led_colour = fields.choice("led_colour", tuple(LED_COLOURS))
        bits = fields.get("bits", int)
        if bits not in (1, 4):
            raise fields.fail("bits", f"doit être 1 ou 4, pas {quote(bits)}")
    else:
        led_colour = None
        bits = _DERIVED_BITS[colour_mode]
        fields.refuse("led_colour", "seulement pour colour_mode = « mono »")
        fields.refuse("bits", "seulement pour colour_mode = « mono » (déduit sinon)")
    min_refresh_s = fields.integer("min_refresh_s", 0, 86_400)
    if technology == "led":
        if min_refresh_s != 0:
            raise fields.fail("min_refresh_s", "doit être 0 pour une LED (elle se redessine à volonté)")
        fields.refuse("refresh_budget_per_day", "seulement pour les e-paper")
        budget = None
    else:
        budget = fields.integer("refresh_budget_per_day", 1, 86_400, required=False)
    profile = PanelProfile(
        id=profile_id,
        label=fields.text("label"),
        technology=technology,
        width=fields.integer("width", MIN_SIZE, MAX_SIZE),
        height=fields.integer("height", MIN_SIZE, MAX_SIZE),
        colour_mode=colour_mode,
        palette=palette_for(colour_mode, led_colour, bits),
        bits=bits,
        led_colour=led_colour,
        pixel_pitch_mm=fields.number("pixel_pitch_mm", 100.0, above_zero=True),
        viewing_distance_m=fields.number("viewing_distance_m", 1000.0, above_zero=True),
        partial_refresh=fields.flag("partial_refresh"),
        min_refresh_s=min_refresh_s,
        refresh_budget_per_day=budget,
        note=fields.text("note"),
    )
    fields.done()
    return profile


def _read_profiles(path: Path) -> dict[str, PanelProfile]:
    data = read_toml(path, ProfileError)
    where = display_path(path)
    if not data:
        raise ProfileError(f"{where}: aucun profil")
    return {profile_id: _parse_profile(profile_id, table, where) for profile_id, table in data.items()}


_PROFILES = ReadOnce(_read_profiles, PROFILES_FILE)


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, PanelProfile]:
    """Every profile of ``path``, checked; the default file is read once per process."""
    return _PROFILES.load(path)


def get_profile(profile_id: str) -> PanelProfile:
    """The shipped profile ``profile_id``; the error lists the known ones."""
    profiles = _PROFILES.shipped
    if profile_id not in profiles:
        raise ProfileError(
            f"profil {quote(profile_id)} inconnu (profils connus : {', '.join(sorted(profiles))})"
        )
    return profiles[profile_id]


# Legacy panel rows said "amber", "red", "rgb" or "bw": the mode and, for LED, the colour.
_LEGACY_MODES = {"amber": ("mono", "amber"), "red": ("mono", "red"), "rgb": ("rgb", None), "bw": ("bw", None)}


def match_profile(technology: str, width: int, height: int, colour_mode_legacy: str) -> PanelProfile | None:
    """The shipped profile a panel registered before profiles existed stands for, if any.

    For the database migration: mono legacy modes match only 1-bit profiles (legacy frames were
    1-bit), and the technology must agree with the mode.
    """
    if colour_mode_legacy not in _LEGACY_MODES:
        return None
    colour_mode, led_colour = _LEGACY_MODES[colour_mode_legacy]
    for profile_id in sorted(_PROFILES.shipped):
        profile = _PROFILES.shipped[profile_id]
        if (
            (profile.technology, profile.width, profile.height, profile.colour_mode)
            == (technology, width, height, colour_mode)
            and profile.led_colour == led_colour
            and (profile.colour_mode != "mono" or profile.bits == 1)
        ):
            return profile
    return None
