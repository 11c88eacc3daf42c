"""Pictures sent by a commune, made safe to decode and reduced to what a panel can show.

Uploads are untrusted: only common formats, a size cap in bytes and in pixels counted from the
header before any pixel is decoded (``_opened``, which panels' own screenshots go through too, in
``check_png``), and errors in French for the API.
Reduction to a panel's few colours uses Floyd–Steinberg dithering against exactly the panel's palette,
so that the frame's palette indices are the panel's own colours.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import warnings
from collections.abc import Iterator, Sequence

from PIL import Image, ImageOps

MAX_IMAGE_BYTES = 20 * 1024 * 1024
# A phone's 12-megapixel photo (4032x3024) fits; decoded it is 48 MB at most (RGBA). A panel is at
# most 1872x1404: more pixels only cost memory, and every preview of the message decodes them again.
MAX_IMAGE_PIXELS = 4096 * 3072
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
FORMAT_NAMES = {"WEBP": "WebP"}
# Shrinking before fitting keeps this many times the target's size: the fit's own filter then sees
# four source pixels or more per pixel, as it would the original.
REDUCTION_MARGIN = 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Colour = tuple[int, int, int]

# Pillow's warnings filter is process-wide: changed only while a header is read, one at a time.
_OPEN_LOCK = threading.Lock()


class ImageError(ValueError):
    """The picture is refused; the message is in French for the commune's staff."""


def load_image(data: bytes, at_least: tuple[int, int] | None = None) -> Image.Image:
    """Decode an uploaded picture into RGB, upright (EXIF orientation) and the first frame only.

    ``at_least``: the size it is going to be fitted to. A JPEG is then decoded at the smallest of 1/1,
    1/2, 1/4 or 1/8 scale that still covers it (a photo for an LED panel: 1/8, 64 times fewer pixels);
    another picture is shrunk by a whole factor as soon as it is decoded, to no less than
    ``REDUCTION_MARGIN`` times that size, so that the copies made to fit it are small.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"image trop lourde ({len(data)} octets, limite {MAX_IMAGE_BYTES})")
    with _opened(data, FORMATS, MAX_IMAGE_PIXELS) as image:
        try:
            if at_least is not None and image.format == "JPEG":
                side = max(at_least)  # either way round: EXIF may turn it a quarter
                image.draft("RGB", (side, side))
            image.seek(0)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy: one less of a large picture
            return _to_rgb(_shrunk(image, at_least))
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError("image illisible") from error


def check_png(data: bytes, max_size: tuple[int, int], max_bytes: int) -> None:
    """Refuse (``ImageError``) what is not one whole PNG within ``max_size`` and ``max_bytes``: its
    signature, its size read before any pixel is, each chunk's checksum, then the pixels themselves."""
    if len(data) > max_bytes:
        raise ImageError(f"image trop lourde ({len(data)} octets, limite {max_bytes})")
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("ce n’est pas un PNG (signature absente)")
    width, height = max_size
    with _opened(data, ("PNG",), width * height) as image:
        if image.width > width or image.height > height:
            raise ImageError(f"image de {image.width}x{image.height}, limite {width}x{height}")
        try:
            image.verify()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError(f"PNG abîmé ({error})") from error
    with _opened(data, ("PNG",), width * height) as image:  # verify() leaves it unusable
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError(f"PNG illisible ({error})") from error


def _shrunk(image: Image.Image, at_least: tuple[int, int] | None) -> Image.Image:
    """A box-filtered copy by a whole factor, still ``REDUCTION_MARGIN`` times ``at_least`` or more
    both ways, where that saves memory; else the picture itself."""
    if at_least is None:
        return image
    factor = min(image.size) // (REDUCTION_MARGIN * max(at_least))
    if factor < 2:
        return image
    reducible = image if image.mode in ("L", "LA", "RGB", "RGBA") else _to_rgb(image)
    return reducible.reduce(factor)


@contextlib.contextmanager
def _opened(data: bytes, formats: tuple[str, ...], max_pixels: int) -> Iterator[Image.Image]:
    """The picture opened, only its header read, refused if it has more than ``max_pixels``: no pixel
    is decoded before that check. Every decode of untrusted pictures goes through here."""
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refuses at open, before we see the size: its message has the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_big(int(found.group(1)) if found else None, max_pixels) from error
    except Image.UnidentifiedImageError as error:
        names = [FORMAT_NAMES.get(name, name) for name in formats]
        listed = f"{', '.join(names[:-1])} ou {names[-1]}" if len(names) > 1 else names[0]
        raise ImageError(f"format non pris en charge ({listed})") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError("image illisible") from error
    with opened:
        if opened.width * opened.height > max_pixels:
            raise _too_big(opened.width * opened.height, max_pixels)
        yield opened


def _too_big(pixels: int | None, limit: int) -> ImageError:
    counted = f"{pixels} pixels, " if pixels is not None else ""
    return ImageError(f"image trop grande ({counted}limite {limit})")


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
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        flat.alpha_composite(rgba)
        return flat.convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


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
