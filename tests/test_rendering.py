"""The text renderer: exact pixels against golden images, sizing, refusals and French coverage.

The golden PNGs in tests/golden/ are the reference renders. After an intended change to the renderer
(or to the bundled fonts), rewrite them and look at every one before committing:

    RELAIS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_rendering.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from controller import rendering
from controller.rendering import (
    COLOUR_MODES,
    FALLBACKS,
    PanelProfile,
    TextDoesNotFit,
    has_glyph,
    layout_text,
    render_text,
)
from relais.wire import Frame

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("RELAIS_UPDATE_GOLDEN") == "1"

FRENCH = "éèêëàâîïôöùûüçœæÉÀÇŒ«»€\u2019\u2013\u2026"
TYPICAL = "Fête de la Saint-Jean samedi 24 juin à 21 h \u2014 feu d\u2019artifice « au stade »"
LONG = (
    "Avis à la population\n"
    "Coupure d\u2019eau lundi 3 mars de 8 h à 12 h, rue de l\u2019Église et place du Général-de-Gaulle. "
    "Les œuvres prêtées par la médiathèque sont « prolongées » d\u2019une semaine \u2013 merci de votre "
    "compréhension\u2026"
)

GOLDEN_CASES = {
    "amber_192x64_noel": ("Fête de Noël « marché » 5 €", PanelProfile(192, 64, "amber")),
    "rgb_128x64_short": ("Mairie fermée", PanelProfile(128, 64, "rgb")),
    "bw_800x480_long": (LONG, PanelProfile(800, 480, "bw")),
    "amber_96x16_word": ("Préfecture", PanelProfile(96, 16, "amber")),
    # Spleen has no en dash: the stand-in hyphen must be what is drawn.
    "red_96x32_fallback": ("Tarif 5 € \u2013 l\u2019œuvre", PanelProfile(96, 32, "red")),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_render_matches_golden_image(name: str) -> None:
    text, profile = GOLDEN_CASES[name]
    image = render_text(text, profile)
    path = GOLDEN_DIR / f"{name}.png"
    if UPDATE_GOLDEN:
        GOLDEN_DIR.mkdir(exist_ok=True)
        image.save(path, optimize=True)
    with Image.open(path) as golden:
        golden.load()
        assert (golden.mode, golden.size) == (image.mode, image.size)
        assert golden.getpalette() == image.getpalette()
        same_pixels = golden.tobytes() == image.tobytes()  # not compared inline: pytest would diff bytes
        assert same_pixels, f"{name} differs from {path}"


def test_longer_text_gets_a_smaller_font() -> None:
    profile = PanelProfile(192, 64, "amber")
    short = layout_text("Marché", profile)
    longer = layout_text(TYPICAL, profile)
    assert short.font_size == 64
    assert longer.font_size < short.font_size
    assert len(longer.lines) > 1


def test_epaper_shrinks_in_two_pixel_steps_from_half_the_height() -> None:
    profile = PanelProfile(800, 480, "bw")
    assert layout_text("Oui", profile).font_size == 120
    size = layout_text(LONG, profile).font_size
    assert 14 <= size < 120 and size % 2 == 0


def test_too_long_text_is_refused_naming_the_panel_size() -> None:
    with pytest.raises(TextDoesNotFit) as caught:
        render_text(TYPICAL, PanelProfile(96, 16, "amber"))
    assert isinstance(caught.value, ValueError)
    assert "96x16" in str(caught.value)
    assert "(12 px)" in str(caught.value)


def test_a_word_wider_than_the_panel_is_refused_not_cut() -> None:
    with pytest.raises(TextDoesNotFit, match="14 px"):
        render_text("Anticonstitutionnellement" * 4, PanelProfile(200, 200, "bw"))


def test_typed_line_breaks_are_kept() -> None:
    profile = PanelProfile(192, 64, "amber")
    assert layout_text("A B", profile).lines == ("A B",)
    assert layout_text("A\nB", profile).lines == ("A", "B")
    assert layout_text("A\r\n\r\nB", profile).lines == ("A", "", "B")


def test_guillemets_and_high_punctuation_stay_with_their_word() -> None:
    layout = layout_text("Rendez-vous « au stade » : venez !", PanelProfile(96, 64, "amber"))
    assert len(layout.lines) > 1
    for line in layout.lines:
        assert not line.endswith("«")
        assert not line.startswith(("»", ":", "!"))


@pytest.mark.parametrize("text", ["", "   ", " \n\t\r\n "])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="le texte est vide"):
        render_text(text, PanelProfile(192, 64, "amber"))


def test_same_input_gives_same_pixels_even_with_fresh_fonts() -> None:
    profile = PanelProfile(800, 480, "bw")
    first = render_text(LONG, profile).tobytes()
    rendering._font.cache_clear()
    rendering.has_glyph.cache_clear()
    assert render_text(LONG, profile).tobytes() == first


@pytest.mark.parametrize(
    ("colour_mode", "palette"),
    [
        ("amber", [0, 0, 0, 255, 176, 0]),
        ("red", [0, 0, 0, 255, 40, 0]),
        ("bw", [255, 255, 255, 0, 0, 0]),
    ],
)
def test_palette_modes_use_two_entries_and_only_two_indexes(colour_mode: str, palette: list[int]) -> None:
    image = render_text("Fête", PanelProfile(64, 32, colour_mode))
    assert image.mode == "P"
    assert image.getpalette() == palette
    assert {index for _, index in image.getcolors()} == {0, 1}  # no anti-aliasing
    assert image.getpixel((0, 0)) == 0  # background


def test_rgb_mode_is_warm_yellow_on_black_without_grey() -> None:
    image = render_text("Fête", PanelProfile(64, 32, "rgb"))
    assert image.mode == "RGB"
    assert {colour for _, colour in image.getcolors()} == {(0, 0, 0), (255, 210, 0)}


def test_led_frame_is_a_small_one_bit_png() -> None:
    png = Frame.from_image(render_text(TYPICAL, PanelProfile(192, 64, "amber"))).png
    bit_depth, colour_type = png[24], png[25]
    assert (bit_depth, colour_type) == (1, 3)  # 1-bit palette
    assert len(png) < 1000


def _bundled_fonts() -> list[object]:
    spleen = [
        pytest.param(rendering.FONTS_DIR / "spleen" / name, size, id=name)
        for size, name in rendering._SPLEEN_FILES.items()
    ]
    dejavu_dir = rendering.FONTS_DIR / "dejavu"
    dejavu = [pytest.param(path, 20, id=path.name) for path in sorted(dejavu_dir.glob("*.ttf"))]
    return spleen + dejavu


@pytest.mark.parametrize(("path", "size"), _bundled_fonts())
def test_every_french_character_is_drawn_by_every_bundled_font(path: Path, size: int) -> None:
    font = rendering._font(path, size)
    for char in FRENCH:
        drawn = char if has_glyph(font, char) else FALLBACKS.get(char, "")
        assert drawn and all(has_glyph(font, part) for part in drawn), f"{path.name} cannot draw {char!r}"
        if path.parent.name == "dejavu":
            assert drawn == char, f"{path.name} needs a stand-in for {char!r}"


@pytest.mark.parametrize("profile", [PanelProfile(384, 64, "amber"), PanelProfile(800, 480, "bw")])
def test_french_text_renders_on_led_and_epaper(profile: PanelProfile) -> None:
    render_text(" ".join(FRENCH), profile)


def test_missing_stand_in_is_drawn_instead_of_a_box() -> None:
    profile = PanelProfile(96, 32, "red")
    assert render_text("a\u2013b", profile).tobytes() == render_text("a-b", profile).tobytes()


@pytest.mark.parametrize("profile", [PanelProfile(192, 64, "amber"), PanelProfile(800, 480, "bw")])
def test_character_missing_from_the_font_is_refused_by_name(profile: PanelProfile) -> None:
    with pytest.raises(ValueError, match="caractères absents de la police") as caught:
        render_text("Bonjour 漢", profile)
    assert "漢" in str(caught.value)


def test_decomposed_accents_are_composed_before_drawing() -> None:
    profile = PanelProfile(192, 64, "amber")
    assert render_text("Fe\u0302te", profile).tobytes() == render_text("Fête", profile).tobytes()


@pytest.mark.parametrize(
    ("width", "height", "colour_mode"),
    [(192, 64, "green"), (192, 64, "RGB"), (0, 64, "amber"), (192, -1, "bw"), (192.0, 64, "red")],
)
def test_invalid_profile_is_refused(width: int, height: int, colour_mode: str) -> None:
    with pytest.raises(ValueError):
        PanelProfile(width, height, colour_mode)


def test_only_epaper_is_not_led() -> None:
    assert [PanelProfile(8, 8, mode).is_led for mode in COLOUR_MODES] == [True, True, True, False]
