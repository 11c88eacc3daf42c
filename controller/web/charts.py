"""Bar charts drawn by the server as SVG: the pages work without internet and without a chart library.
This module lays the bars out; ``templates/_chart.html`` draws them with their text alternative."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP = 76, 36, 12  # room for the scale's figures, the labels under the bars, the top one


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar (a week, a day)
    value: float
    text: str  # the value as people read it: « 2 h 30 », « 12 »
    x: float
    y: float
    width: float
    height: float
    shows_label: bool  # a label every few bars when they are many


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    top: float  # the scale's highest value
    top_text: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    base: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - BOTTOM + 16


def bar_chart(points: list[tuple[str, float, str]], top_text: str | None = None) -> Chart:
    """Bars for (label, value, value as text), the tallest reaching the top; ``top_text`` writes the top
    of the scale (the tallest value's text by default)."""
    top = max((value for _label, value, _text in points), default=0.0)
    room = (WIDTH - LEFT - 8) / max(len(points), 1)
    every = max(1, round(len(points) / 8))  # at most about eight labels under the bars
    drawable = HEIGHT - BOTTOM - TOP
    bars = []
    for index, (label, value, text) in enumerate(points):
        height = drawable * value / top if top else 0.0
        bars.append(
            Bar(
                label=label,
                value=value,
                text=text,
                x=round(LEFT + index * room + room * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(room * 0.7, 1),
                height=round(height, 1),
                shows_label=index % every == 0,
            )
        )
    highest = max(points, key=lambda point: point[1], default=("", 0.0, "0"))
    return Chart(bars=bars, top=top, top_text=top_text or highest[2])
