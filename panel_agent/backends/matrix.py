"""HUB75 RGB LED matrices through hzeller's ``rpi-rgb-led-matrix`` Python bindings (``rgbmatrix``).

The library refreshes the LEDs from its own thread; a frame is drawn on an off-screen canvas and
swapped in at the next vertical sync, so the panel never shows half a frame. Its brightness applies
to pixels as they are drawn, so dimming draws the last frame again. ``brightness`` in the settings
is the site's full level (1 to 100, e.g. lower in a narrow street); the schedule's levels are
percentages of it. ``driver = "simulated-rgbmatrix"`` uses the simulator of ``panel_agent.simulators``.
The library needs root to reach the GPIO and refuses to start without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from panel_agent.backends import Backend, BackendSettingError, Capabilities, checks, vendor

RGBMATRIX_HINT = (
    "build and install hzeller's Python bindings, see "
    "https://github.com/hzeller/rpi-rgb-led-matrix/tree/master/bindings/python"
)
DRIVERS = ("rgbmatrix", "simulated-rgbmatrix")
_KEYS = {"driver", "rows", "cols", "chain", "parallel", "hardware_mapping", "gpio_slowdown", "brightness"}


class MatrixBackend(Backend):
    """A matrix of ``cols`` x ``chain`` by ``rows`` x ``parallel`` pixels (as the library reports it)."""

    capabilities = Capabilities(colours="rgb", partial_refresh=True, dimming=True)

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], *, base_dir: Path) -> dict[str, Any]:
        checks.check_unknown(settings, _KEYS, "matrix")
        driver = checks.text(settings, "driver", "rgbmatrix")
        if driver not in DRIVERS:
            raise BackendSettingError(
                "driver", f'must be "rgbmatrix" or "simulated-rgbmatrix", not {driver!r}'
            )
        if driver == "rgbmatrix" and not vendor.installed("rgbmatrix"):
            raise BackendSettingError("driver", f"the rgbmatrix library is not installed; {RGBMATRIX_HINT}")
        return {
            "driver": driver,
            "rows": checks.integer(settings, "rows", 32, 8, 64),
            "cols": checks.integer(settings, "cols", 64, 8, 256),
            "chain": checks.integer(settings, "chain", 1, 1, 32),
            "parallel": checks.integer(settings, "parallel", 1, 1, 6),
            "hardware_mapping": checks.text(settings, "hardware_mapping", "regular"),
            "gpio_slowdown": checks.integer(settings, "gpio_slowdown", 1, 0, 5),
            "brightness": checks.integer(settings, "brightness", 100, 1, 100),
        }

    def __init__(self, settings: Mapping[str, Any], *, panel_id: str) -> None:
        if settings["driver"] == "rgbmatrix":
            library = vendor.load("rgbmatrix", RGBMATRIX_HINT)
        else:
            from panel_agent.simulators import rgbmatrix as library
        options = library.RGBMatrixOptions()
        options.rows = settings["rows"]
        options.cols = settings["cols"]
        options.chain_length = settings["chain"]
        options.parallel = settings["parallel"]
        options.hardware_mapping = settings["hardware_mapping"]
        options.gpio_slowdown = settings["gpio_slowdown"]
        options.brightness = settings["brightness"]
        self.full_brightness: int = settings["brightness"]
        self.matrix = library.RGBMatrix(options=options)
        self.width, self.height = self.matrix.width, self.matrix.height
        self._canvas = self.matrix.CreateFrameCanvas()
        self._last: Image.Image | None = None

    def display(self, image: Image.Image) -> None:
        if image.size != (self.width, self.height):
            size = f"{image.width}x{image.height}"
            raise ValueError(f"image is {size}, this panel is {self.width}x{self.height}")
        self._last = image.convert("RGB")
        self._draw(self._last)

    def set_brightness(self, level: int) -> None:
        """Dim to ``level`` percent of the configured full brightness, and redraw at that level."""
        self.matrix.brightness = max(1, round(self.full_brightness * level / 100))
        if self._last is not None:
            self._draw(self._last)

    def close(self) -> None:
        """Blank the LEDs: a matrix left lit would keep showing a message nobody stands behind."""
        self._canvas.Clear()
        self._canvas = self.matrix.SwapOnVSync(self._canvas)

    def _draw(self, image: Image.Image) -> None:
        self._canvas.brightness = self.matrix.brightness
        self._canvas.SetImage(image)
        self._canvas = self.matrix.SwapOnVSync(self._canvas)
