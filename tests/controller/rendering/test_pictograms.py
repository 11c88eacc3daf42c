"""Pictograms: the right size and mode at every size, inked but not solid, and the same pixels as the
golden PNGs in tests/golden/pictograms/ (refresh with RELAIS_UPDATE_GOLDEN=1, then look at them)."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from controller.rendering.pictograms import PICTOGRAMS, UnknownPictogram, pictogram
from tests.support import REPO

GOLDEN_DIR = REPO / "tests" / "golden" / "pictograms"
UPDATE_GOLDEN = os.environ.get("RELAIS_UPDATE_GOLDEN") == "1"
SIZES = (12, 16, 24, 32, 64, 128, 512)


def test_the_set_is_complete_with_french_labels() -> None:
    assert set(PICTOGRAMS) == {
        "warning", "speed", "alcohol", "phone", "seatbelt", "snow-ice", "burglary", "fraud", "vacation", "info"
    }  # fmt: skip
    assert PICTOGRAMS["alcohol"] == "Alcool au volant"
    assert all(label.strip() for label in PICTOGRAMS.values())


@pytest.mark.parametrize("name", sorted(PICTOGRAMS))
@pytest.mark.parametrize("size", SIZES)
def test_a_pictogram_is_a_one_bit_square_with_some_ink(name: str, size: int) -> None:
    image = pictogram(name, size)
    assert image.mode == "1" and image.size == (size, size)
    ink = image.histogram()
    inked = size * size - ink[0]
    assert 0.08 * size * size < inked < 0.85 * size * size


@pytest.mark.parametrize("name", sorted(PICTOGRAMS))
def test_a_pictogram_matches_its_golden_image(name: str) -> None:
    image = pictogram(name, 32)
    path = GOLDEN_DIR / f"{name}-32.png"
    if UPDATE_GOLDEN:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        image.save(path, optimize=True)
    with Image.open(path) as golden:
        golden.load()
        assert golden.mode == "1" and golden.size == image.size
        assert golden.tobytes() == image.tobytes(), f"{path.name} differs"


def test_pictograms_are_deterministic() -> None:
    for name in PICTOGRAMS:
        assert pictogram(name, 48).tobytes() == pictogram(name, 48).tobytes()


def test_an_unknown_pictogram_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownPictogram, match=r"'ufo'.*alcohol, burglary"):
        pictogram("ufo", 32)


@pytest.mark.parametrize("size", [0, 11, 513, 16.0, True])
def test_a_size_out_of_range_is_refused(size: object) -> None:
    with pytest.raises(ValueError, match="taille de pictogramme"):
        pictogram("info", size)  # type: ignore[arg-type]
