"""Prevention and road-safety pictograms drawn for Relais, as 1-bit images of any size.

Each one is geometry on a 100-unit square, drawn with Pillow primitives at 8 times the target size
and reduced by averaging then a 50 % threshold: one drawing serves a 16-pixel LED board and a
512-pixel e-paper panel alike. Strokes are given in target pixels and rounded to whole ones (at least
one), so that a 16-pixel pictogram keeps solid 1- or 2-pixel lines instead of breaking up.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PIL import Image, ImageDraw

PICTOGRAMS: dict[str, str] = {
    "warning": "Attention danger",
    "speed": "Vitesse",
    "alcohol": "Alcool au volant",
    "phone": "Téléphone au volant",
    "seatbelt": "Ceinture de sécurité",
    "snow-ice": "Neige et verglas",
    "burglary": "Cambriolages",
    "fraud": "Arnaques",
    "vacation": "Tranquillité vacances",
    "info": "Information",
}
MIN_SIZE = 12
MAX_SIZE = 512

_INK = 255
_PAPER = 0


class UnknownPictogram(ValueError):
    """No pictogram has that name; the message lists the known ones."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"pictogramme inconnu : {name!r} (pictogrammes connus : {', '.join(sorted(PICTOGRAMS))})"
        )
        self.name = name


class _Pen:
    """Draws in 100-unit coordinates on the supersampled canvas; widths are in target pixels."""

    def __init__(self, size: int, scale: int) -> None:
        self.size = size
        self.scale = scale
        self.image = Image.new("L", (size * scale, size * scale), _PAPER)
        self.draw = ImageDraw.Draw(self.image)

    def px(self, units: float) -> float:
        return units * self.size * self.scale / 100

    def width(self, units: float) -> int:
        """A stroke of ``units`` rounded to whole target pixels, never thinner than one."""
        return max(1, round(units * self.size / 100)) * self.scale

    def points(self, *xy: tuple[float, float]) -> list[tuple[float, float]]:
        return [(self.px(x), self.px(y)) for x, y in xy]

    def line(self, *xy: tuple[float, float], width: float, fill: int = _INK) -> None:
        stroke = self.width(width)
        points = self.points(*xy)
        self.draw.line(points, fill=fill, width=stroke, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps, so that strokes meet cleanly
            self.draw.ellipse((x - stroke / 2, y - stroke / 2, x + stroke / 2, y + stroke / 2), fill=fill)

    def polygon(self, *xy: tuple[float, float], fill: int = _INK) -> None:
        self.draw.polygon(self.points(*xy), fill=fill)

    def disc(self, cx: float, cy: float, r: float, fill: int = _INK) -> None:
        self.draw.ellipse((self.px(cx - r), self.px(cy - r), self.px(cx + r), self.px(cy + r)), fill=fill)

    def ring(self, cx: float, cy: float, r: float, width: float) -> None:
        """A circle whose stroke lies inside radius ``r``."""
        box = (self.px(cx - r), self.px(cy - r), self.px(cx + r), self.px(cy + r))
        self.draw.ellipse(box, outline=_INK, width=self.width(width))

    def arc(self, cx: float, cy: float, r: float, start: float, end: float, width: float) -> None:
        box = (self.px(cx - r), self.px(cy - r), self.px(cx + r), self.px(cy + r))
        self.draw.arc(box, start, end, fill=_INK, width=self.width(width))

    def box(self, x0: float, y0: float, x1: float, y1: float, fill: int = _INK, radius: float = 0) -> None:
        xy = (self.px(x0), self.px(y0), self.px(x1), self.px(y1))
        self.draw.rounded_rectangle(xy, radius=self.px(radius), fill=fill)

    def slash(self, *, cut: bool = True) -> None:
        """The 'forbidden' bar from top left to bottom right, cut out from a solid shape under it."""
        if cut:
            self.line((10, 10), (90, 90), width=22, fill=_PAPER)
        self.line((10, 10), (90, 90), width=10)


def _warning(pen: _Pen) -> None:
    pen.polygon((50, 3), (99, 93), (1, 93))
    pen.box(43, 34, 57, 63, fill=_PAPER)
    pen.box(43, 70, 57, 83, fill=_PAPER)


def _speed(pen: _Pen) -> None:
    pen.ring(50, 50, 48, width=11)
    if pen.size >= 32:  # the dial's graduations: noise on a small LED board
        for angle in range(180, 361, 45):
            rad = math.radians(angle)
            pen.line(
                (50 + 33 * math.cos(rad), 58 + 33 * math.sin(rad)),
                (50 + 26 * math.cos(rad), 58 + 26 * math.sin(rad)),
                width=6,
            )
    pen.line((50, 58), (74, 30), width=10)
    pen.disc(50, 58, 11)


def _alcohol(pen: _Pen) -> None:
    pen.box(18, 4, 82, 20)  # a wine glass: round bowl, stem, foot
    pen.draw.chord(pen.points((18, -20), (82, 52)), 0, 180, fill=_INK)
    pen.box(44, 48, 56, 84)
    pen.box(24, 82, 76, 94, radius=4)
    pen.slash()


def _phone(pen: _Pen) -> None:
    if pen.size >= 32:  # the steering wheel behind it, where there is room for it
        pen.ring(50, 50, 48, width=8)
        pen.box(24, 8, 76, 94, fill=_PAPER, radius=8)
    pen.box(28, 6, 72, 94, radius=8)
    pen.box(36, 16, 64, 76, fill=_PAPER)
    if pen.size >= 32:
        pen.box(44, 82, 56, 87, fill=_PAPER)
    pen.slash(cut=False)  # an outline: a cut would break it into pieces


def _seatbelt(pen: _Pen) -> None:
    pen.disc(50, 15, 13)
    pen.box(18, 36, 82, 98, radius=16)
    pen.line((30, 36), (74, 98), width=16, fill=_PAPER)
    if pen.size >= 32:
        pen.line((31, 40), (71, 96), width=6)


def _snow_ice(pen: _Pen) -> None:
    for angle in (90, 30, 150):
        rad = math.radians(angle)
        dx, dy = 47 * math.cos(rad), 47 * math.sin(rad)
        pen.line((50 - dx, 50 - dy), (50 + dx, 50 + dy), width=9)
    if pen.size < 16:
        return
    for angle in range(0, 360, 60):
        rad = math.radians(angle + 90)
        tip_x, tip_y = 50 + 30 * math.cos(rad), 50 + 30 * math.sin(rad)
        for side in (-1, 1):
            branch = rad + side * math.radians(45)
            pen.line((tip_x, tip_y), (tip_x + 15 * math.cos(branch), tip_y + 15 * math.sin(branch)), width=7)


def _burglary(pen: _Pen) -> None:
    pen.polygon((50, 4), (98, 46), (86, 46), (86, 96), (14, 96), (14, 46), (2, 46))  # a house
    # A burglar's mask, cut out of the house, with two dark eyes.
    pen.box(18, 50, 82, 76, fill=_PAPER, radius=10)
    pen.disc(36, 63, 8)
    pen.disc(64, 63, 8)


def _fraud(pen: _Pen) -> None:
    pen.box(4, 52, 96, 96, radius=8)  # a bank card
    pen.box(4, 61, 96, 71, fill=_PAPER)
    pen.box(14, 78, 36, 88, fill=_PAPER, radius=2)
    # A fish hook hanging over it.
    pen.line((64, 2), (64, 28), width=9)
    pen.arc(50, 28, 14, 0, 180, width=9)
    pen.line((36, 28), (36, 20), width=9)
    if pen.size >= 32:
        pen.line((36, 20), (29, 29), width=6)


def _vacation(pen: _Pen) -> None:
    pen.polygon((40, 24), (80, 60), (70, 60), (70, 98), (10, 98), (10, 60), (0, 60))  # a house
    pen.box(32, 76, 48, 98, fill=_PAPER)  # its door
    if pen.size >= 24:  # the sun and its rays
        pen.disc(78, 20, 11)
        for angle in range(0, 360, 45):
            rad = math.radians(angle)
            pen.line(
                (78 + 17 * math.cos(rad), 20 + 17 * math.sin(rad)),
                (78 + 22 * math.cos(rad), 20 + 22 * math.sin(rad)),
                width=5,
            )
    else:
        pen.disc(80, 18, 11)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            pen.line((80 + 17 * dx, 18 + 17 * dy), (80 + 20 * dx, 18 + 20 * dy), width=6)


def _info(pen: _Pen) -> None:
    pen.disc(50, 50, 48)
    pen.disc(50, 26, 9, fill=_PAPER)
    pen.box(41, 41, 59, 80, fill=_PAPER)


_DRAWINGS: dict[str, Callable[[_Pen], None]] = {
    "warning": _warning,
    "speed": _speed,
    "alcohol": _alcohol,
    "phone": _phone,
    "seatbelt": _seatbelt,
    "snow-ice": _snow_ice,
    "burglary": _burglary,
    "fraud": _fraud,
    "vacation": _vacation,
    "info": _info,
}


def pictogram(name: str, size: int) -> Image.Image:
    """The pictogram ``name`` as a ``size`` x ``size`` mode "1" image, 1 = ink."""
    if name not in _DRAWINGS:
        raise UnknownPictogram(name)
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"taille de pictogramme invalide : {size!r} (de {MIN_SIZE} à {MAX_SIZE} px)")
    pen = _Pen(size, 8 if size <= 256 else 4)
    _DRAWINGS[name](pen)
    reduced = pen.image.resize((size, size), Image.Resampling.BOX)
    return reduced.point(lambda value: 1 if value >= 128 else 0, mode="1")
