"""Pictures sent by a commune, made safe to decode and reduced to what a panel can show.

Uploads are untrusted: only common formats, a size cap in bytes and in pixels (Pillow's
decompression-bomb guard, with its warning turned into a refusal), and errors in French for the API.
Reduction to a panel's few colours uses Floyd–Steinberg dithering against exactly the panel's palette,
so that the frame's palette indices are the panel's own colours.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from collections.abc import Sequence

from PIL import Image, ImageOps

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")

Colour = tuple[int, int, int]

# Pillow's pixel limit is a module global: it is lowered only while we decode, one upload at a time.
_LIMIT_LOCK = threading.Lock()


class ImageError(ValueError):
    """The picture is refused; the message is in French for the commune's staff."""


def load_image(data: bytes) -> Image.Image:
    """Decode an uploaded picture into RGB, upright (EXIF orientation) and the first frame only."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"image trop lourde ({len(data)} octets, limite {MAX_IMAGE_BYTES})")
    with _LIMIT_LOCK:
        previous_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
        try:
            return _decode(data)
        finally:
            Image.MAX_IMAGE_PIXELS = previous_limit


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                _check_pixels(image.size)
                image.seek(0)
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _to_rgb(upright)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refuses at open, before we see the size: its message has the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_big(int(found.group(1)) if found else None) from error
    except Image.UnidentifiedImageError as error:
        raise ImageError("format non pris en charge (PNG, JPEG, GIF, WebP ou BMP)") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError("image illisible") from error


def _check_pixels(size: tuple[int, int]) -> None:
    if size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise _too_big(size[0] * size[1])


def _too_big(pixels: int | None) -> ImageError:
    counted = f"{pixels} pixels, " if pixels is not None else ""
    return ImageError(f"image trop grande ({counted}limite {MAX_IMAGE_PIXELS})")


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB, keeping transparency as an alpha channel for :func:`fit_image` to composite."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def fit_image(
    image: Image.Image,
    size: tuple[int, int],
    palette: Sequence[Colour] | None,
    *,
    crop: bool = True,
    dither: bool = True,
    background: Colour = (0, 0, 0),
) -> Image.Image:
    """Scale ``image`` to ``size`` (cover and crop, or contain and letterbox on ``background``) and
    reduce it to exactly ``palette``: mode "P" whose index i is ``palette[i]``; RGB when it is None."""
    width, height = size
    if width < 1 or height < 1:
        raise ImageError(f"taille cible invalide : {width}x{height}")
    flat = _flatten(image, background)
    if crop:
        scaled = ImageOps.fit(flat, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    else:
        scaled = Image.new("RGB", size, background)
        contained = ImageOps.contain(flat, size, method=Image.Resampling.LANCZOS)
        scaled.paste(contained, ((width - contained.width) // 2, (height - contained.height) // 2))
    if palette is None:
        return scaled
    return _quantize(scaled, palette, dither)


def _flatten(image: Image.Image, background: Colour) -> Image.Image:
    """Composite any transparency on ``background``: a panel has no alpha."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        flat.alpha_composite(rgba)
        return flat.convert("RGB")
    return image.convert("RGB")


def _quantize(image: Image.Image, palette: Sequence[Colour], dither: bool) -> Image.Image:
    if not 1 <= len(palette) <= 256:
        raise ImageError(f"palette de {len(palette)} couleurs : de 1 à 256")
    flat_palette = [channel for colour in palette for channel in colour]
    # The palette image is padded with copies of the first colour: Pillow picks the lowest index among
    # equally near colours, so the padding is never used.
    palette_image = Image.new("P", (1, 1))
    palette_image.putpalette(flat_palette + flat_palette[:3] * (256 - len(palette)))
    reduced = image.quantize(
        palette=palette_image, dither=Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
    )
    reduced.putpalette(flat_palette)
    return reduced
