"""A panel that exists only as a PNG file: for the demo, the tests, and a desk without hardware.

Like luma.core's ``dummy`` device, it keeps the last image it was given (``last_image``), and the
level it was dimmed to (``brightness``), which the PNG does not show.
"""

from __future__ import annotations

import hashlib
import io
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from panel_agent.backends import Backend, BackendSettingError, Capabilities
from relais.files import atomic_write

MAX_SIDE = 4096
# PNGs of the screens shown lately, by their pixels: a fleet simulator's hundreds of panels in one
# process show the same alert, and a rotation shows the same items again and again. Encoding an
# 800x480 frame costs ~3 ms, hashing its pixels a fifth of that; the agents of a process share their
# decoded frames, so the very same image object comes again and again: it is recognised first.
ENCODED_SCREENS = 1024
_encoded: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
_encoded_images: OrderedDict[int, tuple[weakref.ref[Image.Image], bytes]] = OrderedDict()  # by id()
_encoded_lock = threading.Lock()  # agents in threads of one process share it


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > ENCODED_SCREENS:
        cache.popitem(last=False)


def _png(image: Image.Image) -> bytes:
    """The image as PNG, encoded once per distinct picture (mode, size, palette and pixels)."""
    with _encoded_lock:
        seen = _encoded_images.get(id(image))
        if seen is not None and seen[0]() is image:
            return seen[1]
    palette = image.getpalette() if image.mode == "P" else None
    key = (
        image.mode,
        image.size,
        None if palette is None else bytes(palette),
        image.info.get("transparency"),
        hashlib.sha1(image.tobytes(), usedforsecurity=False).digest(),
    )
    with _encoded_lock:
        png = _encoded.get(key)
    if png is None:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        png = buffer.getvalue()
    with _encoded_lock:
        _remember(_encoded, key, png)
        _remember(_encoded_images, id(image), (weakref.ref(image), png))
    return png


class SimulatedBackend(Backend):
    """Writes each image to ``<output_dir>/<panel_id>.png`` atomically, so a reader never sees half a PNG.

    ``last_image`` is the very image given: the agent never changes a frame once decoded."""

    capabilities = Capabilities(colours="rgb", partial_refresh=True, dimming=True)

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], *, base_dir: Path) -> dict[str, Any]:
        unknown = sorted(set(settings) - {"output_dir", "width", "height"})
        if unknown:
            raise BackendSettingError(unknown[0], "unknown key for the simulated backend")
        checked: dict[str, Any] = {}
        for key in ("width", "height"):
            if key not in settings:
                raise BackendSettingError(key, "missing; the simulated backend needs the size in pixels")
            value = settings[key]
            if not isinstance(value, int) or isinstance(value, bool):
                raise BackendSettingError(key, f"must be an integer, not {type(value).__name__}")
            if not 0 < value <= MAX_SIDE:
                raise BackendSettingError(key, f"must be between 1 and {MAX_SIDE}, not {value}")
            checked[key] = value
        output_dir = settings.get("output_dir", "screens")
        if not isinstance(output_dir, str | Path) or not str(output_dir):
            raise BackendSettingError("output_dir", "must be a non-empty path")
        checked["output_dir"] = base_dir / Path(output_dir)
        return checked

    def __init__(self, settings: Mapping[str, Any], *, panel_id: str) -> None:
        self.width = settings["width"]
        self.height = settings["height"]
        self.path = Path(settings["output_dir"]) / f"{panel_id}.png"
        self.last_image: Image.Image | None = None
        self.brightness = 100

    def set_brightness(self, level: int) -> None:
        self.brightness = level

    def display(self, image: Image.Image) -> None:
        if image.size != (self.width, self.height):
            size = f"{image.width}x{image.height}"
            raise ValueError(f"image is {size}, this panel is {self.width}x{self.height}")
        # A screen, not a store: a power cut may take it back, and the agent's frames are never changed.
        atomic_write(self.path, _png(image), durable=False)
        self.last_image = image
