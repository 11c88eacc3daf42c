"""The font registry: every family loads, every size draws French, missing glyphs are named."""

from __future__ import annotations

from itertools import pairwise

import pytest
from PIL import Image, ImageDraw

from controller.rendering import fonts
from controller.rendering.fonts import FontError, MissingGlyphs, families, family

FRENCH = "éèêëàâîïôöùûüçœæÉÈÊÀÂÎÔÙÛÇŒÆ«»€\u2019\u2018\u201c\u201d\u2013\u2014\u2026\u00a0"
ALL_SIZES = [(f.name, size) for f in families() for size in f.sizes(1, 200 if f.kind == "pixel" else 0)]
SCALABLE_SIZES = (10, 14, 20, 32, 64)


def _draw(name: str, size: int, text: str) -> bytes:
    font_family = family(name)
    image = Image.new("1", (font_family.text_width(text, size) + 4, font_family.line_height(size)))
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw.text((0, 0), text, font=font_family.font(size), fill=1)
    return image.tobytes()


def test_the_registry_has_the_four_families() -> None:
    by_name = {f.name: f for f in families()}
    assert set(by_name) == {"pixel", "pixel-bold", "sans", "sans-bold"}
    assert [(f.kind, f.bold) for f in (by_name[n] for n in ("pixel", "pixel-bold", "sans", "sans-bold"))] == [
        ("pixel", False),
        ("pixel", True),
        ("scalable", False),
        ("scalable", True),
    ]


def test_pixel_families_go_from_7_to_32_px_with_the_same_heights() -> None:
    regular, bold = family("pixel").sizes(1, 100), family("pixel-bold").sizes(1, 100)
    assert regular == bold
    assert regular[0] == 32 and regular[-1] == 7
    assert {7, 8, 10, 12, 16, 24, 32} <= set(regular)


@pytest.mark.parametrize(("name", "size"), ALL_SIZES)
def test_every_pixel_size_covers_french(name: str, size: int) -> None:
    family(name).check_glyphs(FRENCH, size)
    assert family(name).line_height(size) >= size
    assert family(name).font(size).getmetrics() is not None


@pytest.mark.parametrize("name", ["sans", "sans-bold"])
@pytest.mark.parametrize("size", SCALABLE_SIZES)
def test_scalable_families_cover_french(name: str, size: int) -> None:
    family(name).check_glyphs(FRENCH, size)
    assert family(name).line_height(size) >= size


def test_sizes_are_within_bounds_and_descending() -> None:
    assert family("pixel").sizes(12, 16) == [16, 15, 14, 13, 12]
    assert family("pixel").sizes(11, 11) == []
    assert family("sans").sizes(14, 18) == [18, 17, 16, 15, 14]
    assert family("sans").sizes(20, 10) == []


def test_a_pixel_family_refuses_a_height_it_was_not_drawn_for() -> None:
    with pytest.raises(FontError, match="11 px"):
        family("pixel").font(11)


def test_an_unknown_family_is_named_with_the_known_ones() -> None:
    with pytest.raises(FontError, match=r"'gothic'.*pixel, pixel-bold, sans, sans-bold"):
        family("gothic")


@pytest.mark.parametrize(("name", "size"), [("pixel", 7), ("pixel-bold", 32), ("sans", 20)])
def test_a_missing_glyph_is_named_with_its_code_point(name: str, size: int) -> None:
    with pytest.raises(MissingGlyphs) as caught:
        family(name).check_glyphs("Fête \u4e2d \u2603\n", size)
    error = caught.value
    assert error.family == name and error.size == size
    assert "\u4e2d" in error.chars and "U+4E2D" in str(error)
    assert str(error).startswith(f"caractères absents de la police {name} {size} px : ")
    if name != "sans":  # DejaVu draws the snowman; the pixel fonts do not
        assert error.chars == ("\u2603", "\u4e2d")
        assert "« \u2603 » (U+2603)" in str(error)


def test_spaces_count_as_present_and_are_drawn_as_the_font_has_them() -> None:
    pixel = family("pixel")
    pixel.check_glyphs("a\u00a0b\u202fc\td", 12)  # Terminus has no U+202F, but it has a space
    assert pixel.drawable("« a\u202fb »", 12) == "« a b »"
    assert pixel.drawable("a\u00a0b", 12) == "a\u00a0b"  # it has U+00A0 itself
    assert family("sans").drawable("a\u202fb", 20) == "a\u202fb"


def test_an_invisible_character_is_missing_not_present() -> None:
    with pytest.raises(MissingGlyphs, match=r"U\+200B"):
        family("pixel").check_glyphs("a\u200bb", 16)


def test_text_width() -> None:
    assert family("pixel").text_width("Fête", 8) == 4 * 5  # 5x8: a 5-pixel cell
    assert family("pixel").text_width("Fête", 16) == 4 * 8
    widths = [family("sans").text_width("Fête", size) for size in range(8, 80)]
    assert widths[0] > 0
    assert all(a <= b for a, b in pairwise(widths))
    assert widths[-1] > widths[0]
    assert family("sans-bold").text_width("Fête", 40) >= family("sans").text_width("Fête", 40)


def test_pixel_fonts_are_drawn_without_grey() -> None:
    """A bitmap strike drawn in "L" mode has only full on and off pixels: nothing to anti-alias."""
    for name, size in ALL_SIZES:
        font_family = family(name)
        image = Image.new("L", (font_family.text_width("Fête œ €", size), font_family.line_height(size)))
        ImageDraw.Draw(image).text((0, 0), "Fête œ €", font=font_family.font(size), fill=255)
        assert set(image.tobytes()) <= {0, 255}, (name, size)


def test_rendering_is_deterministic() -> None:
    for name, size in [("pixel", 7), ("pixel-bold", 13), ("pixel", 24), ("sans", 37), ("sans-bold", 18)]:
        text = "Fête de Noël « marché » 5 € — l’œuvre…"
        fonts._load.cache_clear()
        first = _draw(name, size, text)
        fonts._load.cache_clear()
        assert _draw(name, size, text) == first
        assert any(first)
