"""A picture of what people will see: LED dots in the panel's colour, or e-paper's paper tone.

Native frames are what the panel gets; a preview is for the person queuing the message, so it
looks like the real thing: each LED a round dot with dark unlit ones between, e-paper slightly off
white. Pages are stacked, each labelled with its number and dwell time.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw

from controller.rendering import fonts as font_registry
from controller.rendering.engine import Rendering
from controller.rendering.profiles import PanelProfile

UNLIT_LED = (38, 34, 30)
LED_GAP = (12, 12, 12)
PAPER_TONES = {(255, 255, 255): (236, 232, 220), (0, 0, 0): (34, 34, 38)}
MAX_PREVIEW_WIDTH = 960
LABEL_HEIGHT = 22
PAGE_GAP = 10
BACKDROP = (70, 72, 78)


def _dot_scale(profile: PanelProfile) -> int:
    return max(2, min(8, MAX_PREVIEW_WIDTH // profile.width))


@lru_cache(maxsize=8)
def _dot_mask(scale: int) -> Image.Image:
    mask = Image.new("L", (scale, scale), 0)
    inset = 0 if scale < 4 else scale // 8
    ImageDraw.Draw(mask).ellipse((inset, inset, scale - 1 - inset, scale - 1 - inset), fill=255)
    return mask


def led_look(frame: Image.Image, profile: PanelProfile) -> Image.Image:
    """Every pixel a round LED; an unlit one (the background colour) stays a dim dot."""
    scale = _dot_scale(profile)
    rgb = frame.convert("RGB")
    big = rgb.resize((rgb.width * scale, rgb.height * scale), Image.Resampling.NEAREST)
    unlit = Image.new("RGB", big.size, UNLIT_LED)
    # LEDs off are black in every LED palette: any other colour is a lit LED.
    lit_mask = rgb.convert("L").point(lambda v: 255 if v else 0).resize(big.size, Image.Resampling.NEAREST)
    leds = Image.composite(big, unlit, lit_mask)
    return Image.composite(leds, Image.new("RGB", big.size, LED_GAP), _dots(scale, rgb.width, rgb.height))


@lru_cache(maxsize=8)
def _dots(scale: int, columns: int, rows: int) -> Image.Image:
    """One round dot per LED over the whole panel, the same for every page: each of the dot's rows
    repeated across the panel, then that band down it (a paste per LED took most of a preview)."""
    dot = _dot_mask(scale).tobytes()
    band = b"".join(dot[y * scale : (y + 1) * scale] * columns for y in range(scale))
    return Image.frombytes("L", (columns * scale, rows * scale), band * rows)


def _exact(value: int) -> int:
    """A mask of the pixels whose difference to a colour is nil."""
    return 255 if value == 0 else 0


def paper_look(frame: Image.Image) -> Image.Image:
    """E-paper is never pure white nor pure black; large panels are shown smaller."""
    rgb = frame.convert("RGB")
    toned = rgb.copy()
    for colour, tone in PAPER_TONES.items():  # a handful of panel colours, each to its paper tone
        difference = ImageChops.difference(rgb, Image.new("RGB", rgb.size, colour))
        toned.paste(tone, mask=Image.eval(difference.convert("L", (1, 1, 1, 0)), _exact))
    if toned.width > MAX_PREVIEW_WIDTH:
        toned = toned.resize(
            (MAX_PREVIEW_WIDTH, round(toned.height * MAX_PREVIEW_WIDTH / toned.width)),
            Image.Resampling.LANCZOS,
        )
    return toned


def preview_image(rendering: Rendering) -> Image.Image:
    profile = rendering.profile
    looks = [
        led_look(page.frame.image(), profile) if profile.is_led else paper_look(page.frame.image())
        for page in rendering.pages
    ]
    width = max(look.width for look in looks) + 2 * PAGE_GAP
    height = sum(look.height + LABEL_HEIGHT + PAGE_GAP for look in looks) + PAGE_GAP
    sheet = Image.new("RGB", (width, height), BACKDROP)
    draw = ImageDraw.Draw(sheet)
    label_font = font_registry.family("sans").font(13)
    y = PAGE_GAP
    for number, (page, look) in enumerate(zip(rendering.pages, looks, strict=True), start=1):
        flash = " · clignote" if page.flash_frame else ""
        label = f"page {number}/{len(looks)} · {page.dwell_s:g} s{flash}"
        draw.text((PAGE_GAP, y + 3), label, font=label_font, fill=(235, 235, 235))
        y += LABEL_HEIGHT
        sheet.paste(look, (PAGE_GAP, y))
        y += look.height + PAGE_GAP
    return sheet


def preview_png(rendering: Rendering) -> bytes:
    buffer = io.BytesIO()
    preview_image(rendering).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
