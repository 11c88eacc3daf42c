"""A simulated Waveshare e-Paper HAT: the calls of ``waveshare_epd.<model>.EPD`` the epaper backend makes.

It behaves like the real controller where the backend can tell: commands sent while the panel is in
deep sleep fail (the real one ignores them), a refresh holds the busy line for ``refresh_s`` seconds
(a quarter of it for a partial one) and ``display`` waits in ``ReadBusy`` for as long, polling the
line, with no timeout of its own. It counts full and partial refreshes and keeps what the panel
shows, as black and red planes and as one palette image, so tests compare pixels with the frame.
"""

from __future__ import annotations

import logging
import time

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

BUSY_PIN = 24  # BCM pin of the HAT's BUSY line; on the 7.5" V2 the line is low while busy
PALETTE = ((255, 255, 255), (0, 0, 0), (255, 0, 0))  # paper, black ink, red ink
_INVERT = bytes(255 - value for value in range(256))
_POLL_S = 0.001


class EPD:
    """A black-and-white panel with full refreshes only (like ``epd2in9_V2`` as the backend uses it)."""

    def __init__(self, width: int, height: int, *, refresh_s: float) -> None:
        self.width = width
        self.height = height
        self.busy_pin = BUSY_PIN
        self.refresh_s = refresh_s
        self.full_refreshes = 0
        self.partial_refreshes = 0
        self.asleep = True  # not initialised yet: as after power-on
        self.black_plane = Image.new("1", (width, height), 1)  # 0 where the black ink is
        self.red_plane = Image.new("1", (width, height), 1)  # 0 where the red ink is
        self._mode: str | None = None
        self._busy_until = 0.0

    @property
    def refreshes(self) -> int:
        return self.full_refreshes + self.partial_refreshes

    @property
    def image(self) -> Image.Image:
        """What the panel shows: palette indices 0 paper, 1 black, 2 red (red ink covers black)."""
        shown = Image.new("P", (self.width, self.height), 0)
        shown.putpalette([channel for colour in PALETTE for channel in colour])
        shown.paste(1, mask=ImageOps.invert(self.black_plane.convert("L")))
        shown.paste(2, mask=ImageOps.invert(self.red_plane.convert("L")))
        return shown

    def digital_read(self, pin: int) -> int:
        """The level of ``pin``; only the busy line is wired: low while a refresh runs."""
        if pin != self.busy_pin:
            raise ValueError(f"pin {pin} is not an input of the e-Paper HAT")
        return 0 if time.monotonic() < self._busy_until else 1

    def ReadBusy(self) -> None:
        """Wait until the busy line goes high, as long as it takes (the real driver has no timeout)."""
        while self.digital_read(self.busy_pin) == 0:
            time.sleep(_POLL_S)

    def init(self) -> int:
        """Wake the panel (hardware reset) for a full refresh; 0 is success, as in Waveshare's driver."""
        self._wake("full")
        return 0

    def getbuffer(self, image: Image.Image) -> bytearray:
        """Pack a 1-bit image, 1 where the ink goes; like the real one, rotate a portrait image of the
        panel's size turned a quarter, and answer a blank buffer for any other size."""
        if image.size == (self.height, self.width) and image.size != (self.width, self.height):
            image = image.rotate(90, expand=True)
        elif image.size != (self.width, self.height):
            log.warning("Wrong image dimensions: must be %dx%d", self.width, self.height)
            return bytearray(self.width // 8 * self.height)
        return bytearray(image.convert("1").tobytes("raw").translate(_INVERT))

    def display(self, image: bytearray) -> None:
        self._refresh("full", self._plane(image))

    def sleep(self) -> None:
        """Power off and enter deep sleep; only a hardware reset (``init``) wakes the panel again."""
        self._awake("sleep")
        self.ReadBusy()
        self.asleep = True
        self._mode = None

    def _wake(self, mode: str) -> None:
        self.ReadBusy()
        self.asleep = False
        self._mode = mode

    def _awake(self, what: str) -> None:
        if self.asleep:
            raise RuntimeError(f"{what}: the panel is in deep sleep; call init() first")

    def _plane(self, buffer: bytearray) -> Image.Image:
        if len(buffer) != self.width // 8 * self.height:
            raise ValueError(f"buffer of {len(buffer)} bytes for a {self.width}x{self.height} panel")
        return Image.frombytes("1", (self.width, self.height), bytes(buffer).translate(_INVERT))

    def _refresh(self, kind: str, black: Image.Image, red: Image.Image | None = None) -> None:
        """Load the planes and refresh: the busy line stays low for the refresh's duration."""
        self._awake("display")
        if self._mode != kind:
            raise RuntimeError(f"a {kind} refresh needs init{'_part' if kind == 'partial' else ''}() first")
        self.ReadBusy()
        self.black_plane = black
        if red is not None:
            self.red_plane = red
        if kind == "full":
            self.full_refreshes += 1
            self._busy_until = time.monotonic() + self.refresh_s
        else:
            self.partial_refreshes += 1
            self._busy_until = time.monotonic() + self.refresh_s / 4
        self.ReadBusy()


class EPDPartial(EPD):
    """A black-and-white panel that can also refresh a window in place (like ``epd7in5_V2``)."""

    def init_part(self) -> int:
        self._wake("partial")
        return 0

    def display_Partial(self, Image: bytearray, Xstart: int, Ystart: int, Xend: int, Yend: int) -> None:
        """Redraw the window (Xstart, Ystart)-(Xend, Yend), ends excluded, from a whole-panel buffer."""
        window = (Xstart, Ystart, Xend, Yend)
        black = self.black_plane.copy()
        black.paste(self._plane(Image).crop(window), window[:2])
        self._refresh("partial", black)


class EPDRed(EPD):
    """A black, white and red panel (like ``epd7in5b_V2``): two planes, full refreshes only."""

    def display(self, imageblack: bytearray, imagered: bytearray) -> None:  # type: ignore[override]
        self._refresh("full", self._plane(imageblack), self._plane(imagered))


# The models the simulator stands for: native size (as Waveshare's driver gives it) and class.
MODELS: dict[str, tuple[int, int, type[EPD]]] = {
    "epd7in5_V2": (800, 480, EPDPartial),
    "epd7in5b_V2": (800, 480, EPDRed),
    "epd2in9_V2": (128, 296, EPD),
}


def create(model: str, *, refresh_s: float) -> EPD:
    """The simulated ``EPD()`` of ``model``; KeyError names the models simulated."""
    if model not in MODELS:
        raise KeyError(f"no simulated Waveshare model {model!r}; simulated: {', '.join(sorted(MODELS))}")
    width, height, cls = MODELS[model]
    return cls(width, height, refresh_s=refresh_s)
