"""QR codes: structure checks (no decoder offline): square, fits, whole modules, finder patterns."""

from __future__ import annotations

import pytest
from PIL import Image

from controller.rendering.qr import QUIET_ZONE, QrError, qr_image

URL = "https://www.bourg-en-bresse.fr/agenda/fete-de-noel"


def _module_count(image: Image.Image, module_px: int) -> int:
    assert image.width % module_px == 0
    return image.width // module_px


def _module(image: Image.Image, module_px: int, column: int, row: int) -> bool:
    """Whether a module is dark, checking that all its pixels agree."""
    box = (column * module_px, row * module_px, (column + 1) * module_px, (row + 1) * module_px)
    values = set(image.crop(box).convert("L").tobytes())
    assert len(values) == 1, f"module {column},{row} is not uniform"
    return values != {0}


def _module_px(image: Image.Image) -> int:
    """The module size: the quiet zone then the finder's dark top-left corner, on the diagonal."""
    first_dark = next(x for x in range(image.width) if image.getpixel((x, x)))
    assert first_dark % QUIET_ZONE == 0
    return first_dark // QUIET_ZONE


@pytest.mark.parametrize(("max_side", "min_module_px"), [(64, 1), (100, 2), (200, 2), (480, 3)])
def test_the_code_is_square_fits_and_has_whole_modules(max_side: int, min_module_px: int) -> None:
    image = qr_image(URL, max_side, min_module_px=min_module_px)
    assert image.mode == "1" and image.width == image.height <= max_side
    module_px = _module_px(image)
    assert module_px >= min_module_px
    modules = _module_count(image, module_px)
    assert (modules - 2 * QUIET_ZONE - 17) % 4 == 0  # a QR version: 21, 25, 29… modules
    assert modules * (module_px + 1) > max_side  # the largest module size that fits


def test_the_three_finder_patterns_are_where_they_belong() -> None:
    image = qr_image(URL, 150, min_module_px=2)
    module_px = _module_px(image)
    modules = _module_count(image, module_px)
    size = modules - 2 * QUIET_ZONE
    for left, top in ((0, 0), (size - 7, 0), (0, size - 7)):
        for dy in range(7):
            for dx in range(7):
                ring = dx in (0, 6) or dy in (0, 6)
                core = 2 <= dx <= 4 and 2 <= dy <= 4
                dark = _module(image, module_px, QUIET_ZONE + left + dx, QUIET_ZONE + top + dy)
                assert dark == (ring or core), (left, top, dx, dy)
    # A light quiet zone all around.
    quiet = [
        (x, y)
        for x in range(modules)
        for y in range(modules)
        if min(x, y, modules - 1 - x, modules - 1 - y) < QUIET_ZONE
    ]
    assert not any(_module(image, module_px, x, y) for x, y in quiet)


def test_too_long_for_the_room_names_the_size_needed() -> None:
    with pytest.raises(QrError, match=r"il faut \d+x\d+ pixels") as caught:
        qr_image(URL * 4, 40, min_module_px=2)
    assert "40 px" in str(caught.value)


def test_too_long_for_any_qr_code() -> None:
    with pytest.raises(QrError, match="trop long"):
        qr_image("x" * 5000, 2000, min_module_px=1)


def test_empty_text_is_refused() -> None:
    with pytest.raises(QrError):
        qr_image("", 100)


def test_qr_codes_are_deterministic() -> None:
    assert qr_image(URL, 128).tobytes() == qr_image(URL, 128).tobytes()
    assert (
        qr_image("Fête à 21 h — « place »", 128).tobytes()
        == qr_image("Fête à 21 h — « place »", 128).tobytes()
    )
