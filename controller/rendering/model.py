"""What a message says, independent of any panel: the result of parsing its markup.

A ``Document`` is a list of ``Block``s (the pages the author asked for); each block is a list of
``Paragraph``s (the lines the author broke by hand), each a list of styled ``Span``s. The engine
wraps paragraphs into lines, and may split a block into several pages when it does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Align = Literal["left", "center", "right", "justify"]
VAlign = Literal["top", "middle", "bottom"]

# Colour names a message or a layout may use; the engine maps each to the nearest colour the panel
# has. "on" is the panel's own ink (amber on an amber LED board, black on e-paper), "off" its
# background (LEDs off, white paper).
COLOUR_NAMES = ("on", "off", "black", "white", "red", "amber", "yellow", "green", "blue", "orange")


@dataclass(frozen=True)
class Style:
    bold: bool = False
    colour: str | None = None  # a name from COLOUR_NAMES or "#rrggbb"; None: the zone's colour
    flashing: bool = False


PLAIN = Style()


@dataclass(frozen=True)
class Span:
    text: str
    style: Style = PLAIN


@dataclass(frozen=True)
class Paragraph:
    """Text between two hard line breaks; ``align`` None means the zone's alignment."""

    spans: tuple[Span, ...]
    align: Align | None = None

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True)
class Block:
    """A page as the author asked for it; ``dwell_s`` None means computed from reading speed."""

    paragraphs: tuple[Paragraph, ...]
    valign: VAlign | None = None
    dwell_s: float | None = None


@dataclass(frozen=True)
class Document:
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    @property
    def plain_text(self) -> str:
        """The words alone, for logs, text-only signs and reading-time estimates."""
        return "\n\n".join("\n".join(p.text for p in block.paragraphs) for block in self.blocks)
