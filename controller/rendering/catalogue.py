"""Text tables of the shipped profiles and layouts, for ``relais profiles`` and ``relais layouts``.

In French, like everything commune staff read; plain aligned columns so they also read well in logs.
"""

from __future__ import annotations

from collections.abc import Sequence

from controller.rendering.layouts import Layout, load_layouts
from controller.rendering.profiles import PanelProfile, get_profile, load_profiles

_MODE_LABELS = {"rgb": "RVB", "bw": "noir/blanc", "bwr": "noir/blanc/rouge", "7colour": "7 couleurs"}
_TECHNOLOGY_LABELS = {"led": "LED", "epaper": "e-paper"}
_LED_COLOUR_LABELS = {"amber": "ambre", "red": "rouge", "white": "blanc"}


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [headers, tuple("-" * width for width in widths), *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _number(value: float) -> str:
    """French decimals: a comma, and no trailing ",0"."""
    return f"{value:g}".replace(".", ",")


def _colours(profile: PanelProfile) -> str:
    if profile.colour_mode == "mono":
        if profile.led_colour is None:
            raise ValueError(f"profile {profile.id}: mono without its led_colour")
        return (
            f"{_LED_COLOUR_LABELS[profile.led_colour]}, {profile.bits} bit{'s' if profile.bits > 1 else ''}"
        )
    return _MODE_LABELS[profile.colour_mode]


def _refresh(profile: PanelProfile) -> str:
    if profile.is_led:
        return "libre"
    parts = [f"≥ {profile.min_refresh_s} s"]
    if profile.refresh_budget_per_day is not None:
        parts.append(f"{profile.refresh_budget_per_day}/jour")
    parts.append("partiel" if profile.partial_refresh else "complet")
    return ", ".join(parts)


def profiles_table() -> str:
    """One line per shipped profile: what it is, how it shows colour, and how legible it must be."""
    headers = (
        "id",
        "libellé",
        "taille",
        "couleurs",
        "pas (mm)",
        "lecture (m)",
        "lisible (px)",
        "rafraîchissement",
    )
    rows = [
        (
            profile.id,
            profile.label,
            f"{profile.width}x{profile.height}",
            _colours(profile),
            _number(profile.pixel_pitch_mm),
            _number(profile.viewing_distance_m),
            str(profile.min_legible_px),
            _refresh(profile),
        )
        for profile in load_profiles().values()
    ]
    return _table(headers, rows)


def _suits(layout: Layout) -> str:
    parts = [" et ".join(_TECHNOLOGY_LABELS[technology] for technology in layout.suits_technologies)]
    if layout.colour_modes is not None:
        parts.append("/".join(layout.colour_modes))
    if layout.min_width is not None and layout.min_height is not None:
        parts.append(f"≥ {layout.min_width}x{layout.min_height}")
    else:
        bounds = (
            ("largeur ≥", layout.min_width),
            ("hauteur ≥", layout.min_height),
        )
        parts.extend(f"{what} {value}" for what, value in bounds if value is not None)
    bounds = (("largeur ≤", layout.max_width), ("hauteur ≤", layout.max_height))
    parts.extend(f"{what} {value}" for what, value in bounds if value is not None)
    return ", ".join(parts)


def _zones(layout: Layout, profile: PanelProfile | None) -> str:
    if profile is None:
        return ", ".join(zone.name for zone in layout.zones)
    sizes = []
    for zone in layout.zones:
        x0, y0, x1, y1 = layout.zone_rect(zone, profile)
        sizes.append(f"{zone.name} {x1 - x0}x{y1 - y0}")
    return ", ".join(sizes)


def layouts_table(profile_id: str | None = None) -> str:
    """One line per shipped layout; with a profile, only those that suit it, zones sized in pixels.

    Raises ProfileError for an unknown profile id (it lists the known ones).
    """
    profile = None if profile_id is None else get_profile(profile_id)
    headers = ("nom", "libellé", "convient à", "zones" if profile is None else f"zones (px sur {profile.id})")
    rows = [
        (layout.name, layout.label, _suits(layout), _zones(layout, profile))
        for layout in load_layouts().values()
        if profile is None or layout.suits(profile)
    ]
    return _table(headers, rows)
