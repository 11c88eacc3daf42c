"""A simulated Pimoroni Inky (wHAT, pHAT): the calls of the ``inky`` library the epaper backend makes.

Like the real boards, ``set_image`` takes a palette image of the board's size whose indices are the
inks (0 white, 1 black, 2 red or yellow), and ``show`` wakes the panel, refreshes it in full (Inky
has no partial refresh), waits while the busy line is high, ``refresh_s`` seconds, then puts it in
deep sleep. It counts refreshes and keeps the image shown, so tests compare pixels with the frame.
"""

from __future__ import annotations

import time

from PIL import Image

WHITE, BLACK, RED, YELLOW = 0, 1, 2, 2
INKS = {"black": (0, 0, 0), "red": (255, 0, 0), "yellow": (255, 255, 0)}
_POLL_S = 0.001


class Inky:
    """One board: ``resolution`` is (width, height) as the library gives it, ``colour`` its third ink."""

    def __init__(self, resolution: tuple[int, int], colour: str, *, refresh_s: float) -> None:
        if colour not in INKS:
            raise ValueError(f"Colour {colour} is not supported!")
        self.width, self.height = resolution
        self.colour = colour
        self.refresh_s = refresh_s
        self.full_refreshes = 0
        self.asleep = True
        self.image: Image.Image | None = None  # what the panel shows, palette indices as set
        self._buf: Image.Image | None = None
        self._busy_until = 0.0

    @property
    def refreshes(self) -> int:
        return self.full_refreshes

    @property
    def busy(self) -> bool:
        return time.monotonic() < self._busy_until

    def set_image(self, image: Image.Image) -> None:
        """Copy ``image`` (mode "P", the board's size) to the buffer; the panel is unchanged until show()."""
        if image.mode != "P" or image.size != (self.width, self.height):
            raise ValueError(
                f"expected a {self.width}x{self.height} palette image, got {image.mode} {image.size}"
            )
        self._buf = image.copy()

    def show(self, busy_wait: bool = True) -> None:
        """Reset the panel, send the buffer, refresh, wait for the busy line, enter deep sleep."""
        if self._buf is None:
            raise RuntimeError("show() before set_image(): nothing to show")
        while self.busy:  # the reset waits for the panel to be ready
            time.sleep(_POLL_S)
        self.asleep = False
        self.image = self._buf.copy()
        self.image.putpalette([255, 255, 255, *INKS["black"], *INKS[self.colour]])
        self.full_refreshes += 1
        self._busy_until = time.monotonic() + self.refresh_s
        if busy_wait:
            while self.busy:
                time.sleep(_POLL_S)
            self.asleep = True


def InkyWHAT(colour: str, *, refresh_s: float) -> Inky:
    """The 4.2" wHAT, 400x300."""
    return Inky((400, 300), colour, refresh_s=refresh_s)


def InkyPHAT(colour: str, *, refresh_s: float) -> Inky:
    """The 2.13" pHAT, 212x104 as the library presents it."""
    return Inky((212, 104), colour, refresh_s=refresh_s)


def auto(*, refresh_s: float) -> Inky:
    """What the real ``auto()`` would read from a black-and-white wHAT's EEPROM."""
    return InkyWHAT("black", refresh_s=refresh_s)
