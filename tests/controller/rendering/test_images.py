"""Image import: only safe, common formats; fitted and dithered to exactly a panel's palette."""

from __future__ import annotations

import base64
import io

import pytest
from flask import Flask
from PIL import Image

from controller.rendering.images import MAX_IMAGE_PIXELS, ImageError, fit_image, load_image
from tests.support import client_as

BLACK, WHITE, RED = (0, 0, 0), (255, 255, 255), (255, 0, 0)
AMBER = (255, 176, 0)
ACEP = [BLACK, WHITE, (0, 255, 0), (0, 0, 255), RED, (255, 255, 0), (255, 128, 0)]
AMBER_LEVELS = [(AMBER[0] * i // 15, AMBER[1] * i // 15, 0) for i in range(16)]


def _photo(size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A photo-like picture: colour gradients both ways and a bright disc."""
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.radial_gradient("L").resize(size)
    image = Image.merge("RGB", (red, green, blue))
    image.paste((250, 240, 230), (width // 3, height // 3, width // 2, height // 2))
    return image


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("palette", "min_used"),
    [([BLACK, AMBER], 2), ([WHITE, BLACK, RED], 3), (ACEP, 5), (AMBER_LEVELS, 12)],
    ids=["amber", "black-white-red", "acep-7", "amber-16-levels"],
)
def test_a_photo_is_dithered_to_exactly_the_palette(
    palette: list[tuple[int, int, int]], min_used: int
) -> None:
    fitted = fit_image(_photo(), (96, 48), palette)
    assert fitted.mode == "P" and fitted.size == (96, 48)
    assert fitted.getpalette() == [channel for colour in palette for channel in colour]
    used = set(fitted.tobytes())
    assert used <= set(range(len(palette)))
    assert len(used) >= min_used


def test_two_colours_use_both_indices() -> None:
    fitted = fit_image(_photo(), (64, 32), [BLACK, AMBER])
    assert set(fitted.tobytes()) == {0, 1}


def test_without_dither_each_pixel_is_its_nearest_colour() -> None:
    grey = Image.new("RGB", (10, 10), (100, 100, 100))
    assert set(fit_image(grey, (10, 10), [BLACK, WHITE], dither=False).tobytes()) == {0}
    assert set(fit_image(grey, (10, 10), [BLACK, WHITE]).tobytes()) == {0, 1}


def test_cover_crops_and_contain_letterboxes() -> None:
    wide = Image.new("RGB", (200, 100), RED)
    covered = fit_image(wide, (50, 50), None)
    assert covered.mode == "RGB" and covered.size == (50, 50)
    assert covered.getpixel((0, 25)) == RED and covered.getpixel((49, 25)) == RED
    contained = fit_image(wide, (50, 50), None, crop=False, background=(0, 0, 255))
    assert contained.size == (50, 50)
    assert contained.getpixel((25, 0)) == (0, 0, 255) and contained.getpixel((25, 49)) == (0, 0, 255)
    assert contained.getpixel((25, 25)) == RED


def test_transparency_is_composited_on_the_background() -> None:
    clear = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    loaded = load_image(_encode(clear, "PNG"))
    assert fit_image(loaded, (10, 10), None, background=(0, 255, 0)).getpixel((5, 5)) == (0, 255, 0)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_the_common_formats_load_as_rgb(fmt: str) -> None:
    loaded = load_image(_encode(_photo((40, 30)), fmt))
    assert loaded.mode == "RGB" and loaded.size == (40, 30)


def test_the_first_frame_of_an_animation() -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in (RED, (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_image(data).getpixel((4, 4)) == RED


def test_a_decompression_bomb_is_refused() -> None:
    data = _encode(Image.new("1", (20000, 20000)), "PNG")
    assert len(data) < 100_000
    with pytest.raises(
        ImageError, match=rf"image trop grande \(400000000 pixels, limite {MAX_IMAGE_PIXELS}\)"
    ):
        load_image(data)


def test_just_over_the_limit_is_refused_too() -> None:
    with pytest.raises(ImageError, match="image trop grande"):
        load_image(_encode(Image.new("1", (8000, 5001)), "PNG"))


def test_the_pixel_limit_is_restored_after_decoding() -> None:
    before = Image.MAX_IMAGE_PIXELS
    load_image(_encode(_photo((8, 8)), "PNG"))
    assert before == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "format non pris en charge"),
        (b"not an image at all", "format non pris en charge"),
        (_encode(_photo((8, 8)), "TIFF"), "format non pris en charge"),
        (_encode(_photo(), "PNG")[:300], "image illisible"),
        (_encode(_photo(), "JPEG")[:200], "image illisible"),
    ],
    ids=["empty", "garbage", "tiff", "truncated-png", "truncated-jpeg"],
)
def test_broken_or_foreign_bytes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_an_exif_rotated_jpeg_comes_out_upright() -> None:
    # Stored sideways: 40 wide, 20 high, red on the left; orientation 6 says "turn 90° clockwise".
    stored = Image.new("RGB", (40, 20), WHITE)
    stored.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    upright = load_image(_encode(stored, "JPEG", exif=exif, quality=95))
    assert upright.size == (20, 40)
    top, bottom = upright.getpixel((10, 5)), upright.getpixel((10, 35))
    assert top[0] > 200 and top[1] < 60  # the stored left (red) is now on top
    assert min(bottom) > 200


def test_fitting_is_deterministic() -> None:
    data = _encode(_photo(), "JPEG", quality=90)
    first = fit_image(load_image(data), (64, 48), ACEP)
    second = fit_image(load_image(data), (64, 48), ACEP)
    assert first.tobytes() == second.tobytes() and first.getpalette() == second.getpalette()


def test_a_40_megapixel_picture_is_refused_before_any_viewer_decodes_it(app: Flask) -> None:
    """Any viewer may ask for previews: a picture's pixels are counted from its header, before decoding."""
    viewer = client_as(app, "lecteur", "viewer")
    huge = base64.b64encode(_encode(Image.new("1", (8000, 5000)), "PNG")).decode()
    body = {"text": "Marché", "layout": "image-text", "profile": "led-amber-192x64", "image": huge}
    refused = viewer.post("/api/v1/preview.png", json=body)
    assert refused.status_code == 422
    assert refused.json["error"] == {
        "code": "invalid",
        "field": "image",
        "message": f"image trop grande (40000000 pixels, limite {MAX_IMAGE_PIXELS}) (profil led-amber-192x64)",
    }


def test_a_phone_photo_is_within_the_limit_and_decoded_no_larger_than_needed(app: Flask) -> None:
    photo = _encode(_photo((4032, 3024)), "JPEG", quality=85)
    assert MAX_IMAGE_PIXELS >= 4032 * 3024
    # For an LED panel's zone, libjpeg decodes at 1/8 scale: 64 times fewer pixels in memory. Both
    # sides stay at least the zone's longest, whichever way EXIF turns the photo.
    assert load_image(photo, at_least=(192, 64)).size == (504, 378)
    assert load_image(photo, at_least=(800, 480)).size == (2016, 1512)
    assert load_image(photo).size == (4032, 3024)
    viewer = client_as(app, "lecteur", "viewer")
    body = {"text": "Marché", "layout": "image-text", "profile": "led-amber-192x64"}
    answer = viewer.post("/api/v1/preview.png", json={**body, "image": base64.b64encode(photo).decode()})
    assert (answer.status_code, answer.mimetype) == (200, "image/png")


def test_a_large_png_is_shrunk_as_soon_as_it_is_decoded() -> None:
    """No JPEG scaling for a PNG: a whole-factor box reduction right after decoding, keeping four times
    the zone's size (the fit's filter then sees what it would see of the original)."""
    picture = _encode(_photo((4096, 3072)).convert("RGBA"), "PNG")
    assert load_image(picture, at_least=(192, 64)).size == (1024, 768)
    assert load_image(picture, at_least=(800, 480)).size == (4096, 3072)  # 4 x 800 is more than 3072
    assert load_image(picture).mode == "RGBA"
    assert load_image(_encode(_photo((400, 300)).convert("P"), "PNG"), at_least=(16, 8)).size == (100, 75)
