"""A simulated HUB75 matrix: the calls of hzeller's ``rgbmatrix`` bindings the matrix backend makes.

As in the real library, the matrix's size follows from the options (``cols`` x ``chain_length`` by
``rows`` x ``parallel``), ``SetImage`` takes RGB images only, the brightness applies to the pixels
drawn after it is set (so a dimmed frame must be drawn again), and ``SwapOnVSync`` shows the canvas
given and hands back the one that was shown, to draw the next frame on.
"""

from __future__ import annotations

from PIL import Image


class RGBMatrixOptions:
    """The options the backend sets, with the library's defaults."""

    def __init__(self) -> None:
        self.rows = 32
        self.cols = 32
        self.chain_length = 1
        self.parallel = 1
        self.hardware_mapping = "regular"
        self.gpio_slowdown = 1
        self.brightness = 100


class FrameCanvas:
    """An off-screen canvas: the pixels drawn, and the brightness they were drawn at."""

    def __init__(self, width: int, height: int, brightness: int) -> None:
        self.width = width
        self.height = height
        self.brightness = brightness
        self.image = Image.new("RGB", (width, height), "black")
        self.drawn_brightness = brightness

    def Clear(self) -> None:
        self.image = Image.new("RGB", (self.width, self.height), "black")

    def SetImage(self, image: Image.Image, offset_x: int = 0, offset_y: int = 0, unsafe: bool = True) -> None:
        if image.mode != "RGB":
            raise Exception(  # the library raises a bare Exception
                "Currently, only RGB mode is supported for SetImage(). Please create images with mode 'RGB' "
                "or convert first with image = image.convert('RGB')."
            )
        self.image.paste(image, (offset_x, offset_y))
        self.drawn_brightness = self.brightness


class RGBMatrix:
    """The matrix: shows one canvas at a time and counts the swaps."""

    def __init__(self, options: RGBMatrixOptions) -> None:
        self.options = options
        self.width = options.cols * options.chain_length
        self.height = options.rows * options.parallel
        self._brightness = options.brightness
        self.swaps = 0
        self.shown = FrameCanvas(self.width, self.height, self._brightness)

    @property
    def brightness(self) -> int:
        return self._brightness

    @brightness.setter
    def brightness(self, value: int) -> None:
        if not 0 <= value <= 100:
            raise ValueError(f"brightness must be 0 to 100, not {value}")
        self._brightness = value
        self.shown.brightness = value  # the real setter changes the active canvas, for what is drawn next

    def CreateFrameCanvas(self) -> FrameCanvas:
        return FrameCanvas(self.width, self.height, self._brightness)

    def SwapOnVSync(self, canvas: FrameCanvas) -> FrameCanvas:
        """Show ``canvas`` at the next vertical sync; return the canvas shown until now."""
        previous, self.shown = self.shown, canvas
        self.swaps += 1
        return previous
