"""The engine's behaviour: fitting, paging, dwell times, colours, flashing, errors, previews."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from controller.dates import french_date, french_time
from controller.rendering.engine import (
    MAX_DWELL_S,
    MIN_DWELL_S,
    MessageContent,
    RenderError,
    reading_time,
    render,
)
from controller.rendering.fonts import MissingGlyphs
from controller.rendering.markup import parse
from controller.rendering.preview import preview_png
from controller.rendering.profiles import get_profile

LED = get_profile("led-amber-192x64")
BANNER = get_profile("led-amber-96x16")
EPAPER = get_profile("epaper-bw-800x480")
THREE_COLOUR = get_profile("epaper-bwr-800x480")
RGB = get_profile("led-rgb-128x64")
LONG = (
    "La préfecture de l’Ain rappelle qu’à l’approche des fêtes, la vigilance s’impose sur les routes : "
    "ne prenez pas le volant après avoir bu et attachez votre ceinture."
)


def colours(image: Image.Image) -> set:
    return {colour for _, colour in image.convert("RGB").getcolors(1 << 16)}


def test_a_short_text_gets_a_larger_font_than_a_long_one() -> None:
    short = render(MessageContent(body="Marché"), LED)
    long = render(MessageContent(body="Marché de Noël place Bernard samedi et dimanche"), LED)
    assert short.font_size is not None and long.font_size is not None
    assert short.font_size > long.font_size
    assert len(short.pages) == len(long.pages) == 1


def test_text_too_long_for_one_page_is_split_never_cut() -> None:
    rendering = render(MessageContent(body=LONG), BANNER)
    assert len(rendering.pages) > 1
    assert rendering.font_size == BANNER.min_legible_px
    shown = " ".join(page.text for page in rendering.pages)
    assert shown.split() == parse(LONG, "relais").plain_text.split()
    assert any("pages" in note for note in rendering.notes)


def test_without_paging_the_error_says_how_many_pages_it_would_need() -> None:
    with pytest.raises(RenderError) as refused:
        render(MessageContent(body=LONG, paging=False), BANNER)
    assert refused.value.field == "text"
    assert refused.value.pages_needed == len(render(MessageContent(body=LONG), BANNER).pages)
    assert f"il faudrait {refused.value.pages_needed} pages" in refused.value.message


def test_each_page_gets_a_dwell_time_from_its_reading_time() -> None:
    rendering = render(MessageContent(body=LONG), BANNER)
    for page in rendering.pages:
        assert page.dwell_s == reading_time(page.text)
        assert MIN_DWELL_S <= page.dwell_s <= MAX_DWELL_S
    assert reading_time("un deux trois quatre cinq six sept huit neuf dix") > reading_time("un")


def test_e_paper_pages_stay_at_least_the_minimum_refresh_interval() -> None:
    rendering = render(MessageContent(body="Mairie fermée lundi"), EPAPER)
    assert rendering.pages[0].dwell_s >= EPAPER.min_refresh_s


def test_multi_page_time_and_pages_are_obeyed() -> None:
    rendering = render(MessageContent(body="ACCIDENT[np][pt45o0]RALENTIR", markup="multi"), LED)
    assert [page.text for page in rendering.pages] == ["ACCIDENT", "RALENTIR"]
    assert rendering.pages[1].dwell_s == 4.5


def test_long_words_are_hyphenated_only_when_nothing_else_fits() -> None:
    easy = render(MessageContent(body="Circulation alternée"), LED)
    assert not any("coupés" in note for note in easy.notes)
    hard = render(MessageContent(body="Anticonstitutionnellement"), BANNER)
    assert any("coupés" in note for note in hard.notes)
    assert hard.pages[0].text.splitlines()[0].endswith("-")


def test_a_word_that_cannot_fit_even_hyphenated_is_refused() -> None:
    with pytest.raises(RenderError, match="trop long"):
        render(MessageContent(body="X" * 60), BANNER)


def test_a_render_over_its_time_limit_is_cut_off_on_the_text_and_not_remembered() -> None:
    content = MessageContent(body=LONG)
    for profile in (BANNER, EPAPER):
        with pytest.raises(RenderError) as cut_off:
            render(content, profile, time_limit_s=0)
        assert cut_off.value.field == "text"
        assert cut_off.value.message.startswith("le message est trop long à dessiner sur un panneau")
        assert f"{profile.width}x{profile.height}" in cut_off.value.message
        # Nothing half-drawn was kept: within the usual limit the same content renders, and a
        # second render under the lowered limit is cut off again rather than served from the cache.
        assert render(content, profile).pages
        with pytest.raises(RenderError):
            render(content, profile, time_limit_s=0)


def test_frames_are_in_the_panel_palette_and_deterministic() -> None:
    first = render(MessageContent(body="Fête de Noël « marché » 5 €"), LED)
    image = first.pages[0].frame.image()
    assert image.mode == "P" and image.size == (192, 64)
    assert colours(image) <= set(LED.palette)
    render.cache_clear()
    again = render(MessageContent(body="Fête de Noël « marché » 5 €"), LED)
    assert again.pages[0].frame.data == first.pages[0].frame.data
    assert render(MessageContent(body="Bonjour"), RGB).pages[0].frame.image().mode == "RGB"


def test_a_profile_renders_once_per_content() -> None:
    render.cache_clear()
    content = MessageContent(body="Collecte des sapins le 8 janvier")
    for _ in range(1000):
        render(content, LED)
    assert render.cache_info().misses == 1


def test_colour_markup_uses_the_panel_colours() -> None:
    text = "Vigilance {couleur:rouge}orange{/couleur}"
    red = THREE_COLOUR.palette[THREE_COLOUR.colour("red")]
    assert red in colours(render(MessageContent(body=text), THREE_COLOUR).pages[0].frame.image())
    assert colours(render(MessageContent(body=text), EPAPER).pages[0].frame.image()) == set(EPAPER.palette)


def test_emergency_inverts_a_one_colour_led_board() -> None:
    normal = render(MessageContent(body="Crue", title="ALERTE", layout="alert"), LED).pages[0].frame.image()
    emergency = render(MessageContent(body="Crue", title="ALERTE", layout="alert", role="emergency"), LED)
    lit = emergency.pages[0].frame.image()
    assert lit.getpixel((1, 1)) != normal.getpixel((1, 1))


def test_flashing_text_gets_a_second_frame_on_led_only() -> None:
    led = render(MessageContent(body="Attention {clignote}verglas{/clignote}"), LED)
    assert led.pages[0].flash_frame is not None
    assert led.pages[0].flash_frame.data != led.pages[0].frame.data
    paper = render(MessageContent(body="Attention {clignote}verglas{/clignote}"), EPAPER)
    assert paper.pages[0].flash_frame is None
    assert any("e-paper" in note for note in paper.notes)
    item = led.display_item("msg-1", "Attention verglas")
    assert item.pages[0].flash_frame is not None and item.pages[0].dwell_ms == int(
        led.pages[0].dwell_s * 1000
    )


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (MessageContent(body="Zéro alcool", layout="pictogram-text"), "pictogram"),
        (MessageContent(body="Bonjour", layout="bulletin"), "layout"),
        (MessageContent(body="Bonjour", role="panique"), "role"),
        (
            MessageContent(
                body="Bonjour", title="Un titre bien trop long pour un si petit panneau", layout="title-body"
            ),
            "title",
        ),
    ],
)
def test_render_errors_name_the_field(content: MessageContent, field: str) -> None:
    profile = get_profile("led-rgb-64x32") if field == "title" else LED
    with pytest.raises(RenderError) as refused:
        render(content, profile)
    assert refused.value.field == field


def test_a_character_the_font_lacks_is_reported_not_drawn_as_a_box() -> None:
    with pytest.raises(MissingGlyphs, match="U\\+2603"):
        render(MessageContent(body="Bonhomme de neige ☃"), LED)


def test_a_multi_hexadecimal_character_is_drawn_as_the_character_it_numbers() -> None:
    """NTCIP 1203's [hcX]: « [hcE9] » is « é » in Relais's Unicode-numbered fonts, drawn or refused
    exactly as if typed."""
    typed = render(MessageContent(body="CAFÉ", markup="multi"), BANNER)
    numbered = render(MessageContent(body="CAF[hcC9]", markup="multi"), BANNER)
    assert numbered.pages[0].text == "CAFÉ"
    assert numbered.pages[0].frame.data == typed.pages[0].frame.data
    with pytest.raises(MissingGlyphs, match="U\\+2603"):
        render(MessageContent(body="A [hc2603]", markup="multi"), LED)


def test_date_and_clock_zones_speak_french() -> None:
    moment = datetime(2026, 12, 18, 9, 5, tzinfo=ZoneInfo("Europe/Paris"))
    assert french_date(moment) == "vendredi 18 décembre 2026"
    assert french_time(moment) == "9 h 05"


def test_previews_look_like_the_panel() -> None:
    led = Image.open(io.BytesIO(preview_png(render(MessageContent(body="Marché"), LED))))
    assert led.width > LED.width * 2  # dots, not pixels
    assert any(r > 200 and 120 < g < 200 and b < 60 for r, g, b in colours(led))  # lit amber LEDs
    paper = Image.open(io.BytesIO(preview_png(render(MessageContent(body="Marché"), EPAPER))))
    assert (236, 232, 220) in colours(paper)  # paper tone, not pure white
    pages = Image.open(io.BytesIO(preview_png(render(MessageContent(body=LONG), BANNER))))
    assert pages.height > 3 * BANNER.height * 2  # several pages, stacked
