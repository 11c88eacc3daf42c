"""From what a commune typed to the frames a panel shows: layout zones, fitting, pages, colours.

``render(content, profile)`` is a pure function of its two arguments and the files in the repo
(fonts, layouts, pictograms), so the same message renders to the same bytes on every machine, and
is rendered once per (content, profile) however many panels share that profile.

Fitting, for the one zone of a layout that may page (the body): the largest font size at which
every page the author asked for fits the zone; failing that, the same with French hyphenation of
the words that are too long; failing that, pages: the fewest pages any legible size allows, at the
largest size that needs no more. Other zones must fit on one page and shrink to do so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from PIL import Image, ImageDraw

from controller.dates import french_date, french_time
from controller.rendering import deadline
from controller.rendering import fonts as font_registry
from controller.rendering.images import fit_image, load_image
from controller.rendering.layouts import Layout, Zone, get_layout
from controller.rendering.markup import parse
from controller.rendering.model import Block, Document, Style
from controller.rendering.pictograms import MAX_SIZE as PICTOGRAM_MAX_SIZE
from controller.rendering.pictograms import MIN_SIZE as PICTOGRAM_MIN_SIZE
from controller.rendering.pictograms import pictogram
from controller.rendering.profiles import PanelProfile
from controller.rendering.qr import qr_image
from controller.rendering.wrap import WrappedLine, wrap
from relais.wire import MAX_PAGES, DisplayItem, Frame, Page

ROLES = ("normal", "warning", "emergency")
TEXT_ZONES = ("title", "body", "footer", "date", "clock")

# Reading speed on a public panel: slower than at a desk, since a passer-by or a driver reads in
# glances. 2.5 words per second (150 per minute) plus time to notice the page change.
WORDS_PER_SECOND = 2.5
NOTICE_S = 1.5
MIN_DWELL_S = 3.0
MAX_DWELL_S = 30.0
FLASH_MS = 500
# CPU seconds one render may spend fitting its text (the part that grows with what a user types)
# before it is refused: a preview answers within about a second, and the publisher is never held up
# by one message. Drawing and encoding the pages come after, bounded by MAX_PAGES rather than by
# time: a long text on the largest e-paper spends most of its time encoding frames, which is no
# reason to refuse it. ``render(..., time_limit_s=...)``.
RENDER_TIME_LIMIT_S = 1.0


class RenderError(ValueError):
    """A message that cannot be drawn on a panel; ``field`` names the part of the message at fault."""

    def __init__(self, field: str, message: str, pages_needed: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.pages_needed = pages_needed


class RenderTimeUp(RenderError):
    """A render cut off by its time bound (``RENDER_TIME_LIMIT_S``): said like any refusal."""


@dataclass(frozen=True)
class MessageContent:
    """Everything that decides the pixels; hashable, so renders can be cached by it."""

    body: str
    title: str = ""
    footer: str = ""
    pictogram: str | None = None
    qr: str | None = None
    image: bytes | None = None
    layout: str = "text"
    markup: Literal["plain", "relais", "multi"] = "relais"
    role: str = "normal"
    issued_at: datetime | None = None  # shown by date and clock zones, in the panel's time zone
    paging: bool = True


@dataclass(frozen=True)
class RenderedPage:
    frame: Frame
    dwell_s: float
    flash_frame: Frame | None
    text: str


@dataclass(frozen=True)
class Rendering:
    profile: PanelProfile
    layout: str
    pages: tuple[RenderedPage, ...]
    font_size: int | None  # of the paging zone
    notes: tuple[str, ...]  # what a person should know: hyphenated, flashing ignored on e-paper…

    def display_item(self, item_id: str, text: str) -> DisplayItem:
        return DisplayItem(
            item_id,
            text,
            tuple(
                Page(
                    page.frame,
                    int(page.dwell_s * 1000),
                    page.flash_frame,
                    FLASH_MS if page.flash_frame else 500,
                )
                for page in self.pages
            ),
        )


def reading_time(text: str) -> float:
    words = len(text.split())
    return min(MAX_DWELL_S, max(MIN_DWELL_S, NOTICE_S + words / WORDS_PER_SECOND))


# --- fitting --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fonts:
    regular: font_registry.FontFamily
    bold: font_registry.FontFamily

    def of(self, style: Style) -> font_registry.FontFamily:
        return self.bold if style.bold else self.regular


def _fonts_for(zone: Zone, profile: PanelProfile) -> _Fonts:
    name = zone.font_led if profile.is_led else zone.font_epaper
    if name is None:
        raise ValueError(f"zone {zone.name} has no font: it holds no text")
    base = name.removesuffix("-bold")
    return _Fonts(font_registry.family(name), font_registry.family(f"{base}-bold"))


# A wrapped line with the alignment its paragraph asked for (None: the zone's).
_Line = tuple[WrappedLine, str | None]


@dataclass(frozen=True)
class _Fitted:
    size: int
    pages: tuple[tuple[tuple[_Line, ...], Block], ...]  # the lines of each page and the block it came from
    hyphenated: bool


@functools.lru_cache(maxsize=64)
def _measure(fonts: _Fonts, size: int) -> Callable[[str, Style], int]:
    """Text widths at one size, remembered: wrapping measures the same candidate lines again and again."""

    @functools.lru_cache(maxsize=4096)
    def measure(text: str, style: Style) -> int:
        return fonts.of(style).text_width(text, size)

    return measure


def _wrap_block(
    block: Block, width: int, size: int, fonts: _Fonts, hyphenate: bool
) -> tuple[list[_Line], bool]:
    lines: list[_Line] = []
    fits = True
    for paragraph in block.paragraphs:
        result = wrap(paragraph, width, _measure(fonts, size), hyphenate=hyphenate)
        fits = fits and result.fits
        lines.extend((line, paragraph.align) for line in result.lines)
    return lines, fits


def _largest(sizes: Sequence[int], attempt: Callable[[int], _Fitted | None]) -> _Fitted | None:
    """The attempt at the largest size that succeeds, by bisection over sizes sorted large to small.

    Text that fits at one size fits at any smaller one, so a dozen wraps replace a hundred on a
    large e-paper panel.
    """
    if not sizes:
        return None
    smallest = attempt(sizes[-1])
    if smallest is None:
        return None
    best, low, high = smallest, 0, len(sizes) - 2  # sizes[high + 1] is known to succeed
    while low <= high:
        middle = (low + high) // 2
        result = attempt(sizes[middle])
        if result is None:
            low = middle + 1
        else:
            best, high = result, middle - 1
    return best


def _fit(
    document: Document, rect_size: tuple[int, int], sizes: Sequence[int], fonts: _Fonts, *, paging: bool
) -> _Fitted | int:
    """The fitted pages; or, when it cannot be done, the pages it would take (0: a word is too long)."""
    width, height = rect_size

    def one_page_each(size: int, hyphenate: bool) -> _Fitted | None:
        line_height = fonts.regular.line_height(size)
        wrapped = [_wrap_block(block, width, size, fonts, hyphenate) for block in document.blocks]
        if not all(fits and len(lines) * line_height <= height for lines, fits in wrapped):
            return None
        pages = tuple(
            (tuple(lines), block) for (lines, _), block in zip(wrapped, document.blocks, strict=True)
        )
        return _Fitted(size, pages, _any_hyphenated(pages))

    def paged(size: int, most_pages: int | None) -> _Fitted | None:
        per_page = height // fonts.regular.line_height(size)
        wrapped = [_wrap_block(block, width, size, fonts, True) for block in document.blocks]
        if per_page < 1 or not all(fits for _, fits in wrapped):
            return None
        pages = tuple(
            (tuple(lines[start : start + per_page]), block)
            for (lines, _), block in zip(wrapped, document.blocks, strict=True)
            for start in range(0, max(len(lines), 1), per_page)
        )
        if most_pages is not None and len(pages) > most_pages:
            return None
        return _Fitted(size, pages, _any_hyphenated(pages))

    for hyphenate in (False, True):
        fitted = _largest(sizes, functools.partial(one_page_each, hyphenate=hyphenate))
        if fitted is not None:
            return fitted
    fewest = _largest(sizes[-1:], lambda size: paged(size, None))
    if fewest is None:
        return 0
    if not paging:
        return len(fewest.pages)
    # The smallest size needs the fewest pages; the largest size needing no more is the most legible.
    return _largest(sizes, lambda size: paged(size, len(fewest.pages))) or fewest


def _any_hyphenated(pages: Iterable[tuple[tuple[_Line, ...], Block]]) -> bool:
    return any(line.hyphenated for lines, _ in pages for line, _ in lines)


# --- drawing --------------------------------------------------------------------------------------


@dataclass
class _Canvas:
    profile: PanelProfile
    image: Image.Image
    flash: Image.Image  # the same page with flashing text switched off
    has_flash: bool = False

    @classmethod
    def blank(cls, profile: PanelProfile, background: int | tuple[int, int, int]) -> _Canvas:
        image = Image.new(profile.image_mode, (profile.width, profile.height), background)
        if profile.image_mode == "P":
            image.putpalette([channel for colour in profile.palette for channel in colour])
        return cls(profile, image, image.copy())

    def draws(self) -> Iterable[ImageDraw.ImageDraw]:
        for image in (self.image, self.flash):
            draw = ImageDraw.Draw(image)
            draw.fontmode = "1"  # one pixel per LED; e-paper here is 1 bit per colour too
            yield draw


def _x_for(align: str, left: int, right: int, width: int) -> int:
    if align == "center":
        return left + (right - left - width) // 2
    if align == "right":
        return right - width
    return left


def _y_for(valign: str, top: int, bottom: int, height: int) -> int:
    if valign == "middle":
        return top + (bottom - top - height) // 2
    if valign == "bottom":
        return bottom - height
    return top


def _draw_lines(
    canvas: _Canvas,
    lines: Sequence[_Line],
    rect: tuple[int, int, int, int],
    size: int,
    fonts: _Fonts,
    colour: int | tuple[int, int, int],
    background: int | tuple[int, int, int],
    zone: Zone,
    valign: str,
) -> None:
    left, top, right, bottom = rect
    line_height = fonts.regular.line_height(size)
    y = _y_for(valign, top, bottom, line_height * len(lines))
    for line, own_align in lines:
        align = own_align or zone.align
        gaps = sum(span.text.count(" ") for span in line.spans) if align == "justify" else 0
        extra = (right - left - line.width) if gaps and not line.hyphenated else 0
        x = _x_for(align, left, right, line.width)
        for span in line.spans:
            family = fonts.of(span.style)
            family.check_glyphs(span.text, size)
            ink = colour if span.style.colour is None else canvas.profile.colour(span.style.colour)
            for index, draw in enumerate(canvas.draws()):
                hidden = index == 1 and span.style.flashing and canvas.profile.is_led
                cursor = x
                words = span.text.split(" ") if extra else [span.text]
                for position, word in enumerate(words):
                    drawable = family.drawable(word, size)
                    draw.text(
                        (cursor, y), drawable, font=family.font(size), fill=background if hidden else ink
                    )
                    cursor += family.text_width(word, size)
                    if position < len(words) - 1:
                        share = extra // gaps + (1 if position < extra % gaps else 0)
                        cursor += family.text_width(" ", size) + share
            if span.style.flashing and canvas.profile.is_led:
                canvas.has_flash = True
            x += family.text_width(span.text, size)
        y += line_height


def _single_page_text(
    zone: Zone, text: str, markup: str, rect: tuple[int, int, int, int], profile: PanelProfile
) -> tuple[int, tuple[_Line, ...]]:
    """A zone that must fit on one page: the largest size that fits, or a RenderError naming it."""
    fonts = _fonts_for(zone, profile)
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    fitted = _fit(
        parse(text, markup), (width, height), _sizes(zone, profile, fonts, height), fonts, paging=False
    )
    if not isinstance(fitted, _Fitted) or len(fitted.pages) != 1:
        raise RenderError(
            zone.content,
            f"le texte « {text} » ne tient pas dans la zone {zone.name} d'un panneau "
            f"{profile.width}x{profile.height}, même à la plus petite taille lisible",
        )
    return fitted.size, fitted.pages[0][0]


def _sizes(zone: Zone, profile: PanelProfile, fonts: _Fonts, height: int) -> list[int]:
    smallest = zone.min_size or profile.min_legible_px
    largest = min(zone.max_size or height, height)
    sizes = [
        size for size in fonts.regular.sizes(smallest, largest) if fonts.regular.line_height(size) <= height
    ]
    if not sizes:
        field = "text" if zone.content == "body" else zone.content
        raise RenderError(
            field,
            f"la zone {zone.name} ({height} px de haut) est trop petite pour un texte lisible "
            f"({smallest} px au moins) sur un panneau {profile.width}x{profile.height}",
        )
    return sizes


def _zone_text(zone: Zone, content: MessageContent) -> str | None:
    if zone.content == "title":
        return content.title or None
    if zone.content == "footer":
        return content.footer or None
    if zone.content in ("date", "clock"):
        if content.issued_at is None:
            return None
        return french_date(content.issued_at) if zone.content == "date" else french_time(content.issued_at)
    return None


# A note's words for a field the layout drops: it, then its zone ("… n'a pas de zone de titre").
_DROPPED_FIELD_WORDS = {
    "title": ("le titre n'est pas affiché", "de titre"),
    "footer": ("le pied de page n'est pas affiché", "de pied de page"),
    "pictogram": ("le pictogramme n'est pas affiché", "de pictogramme"),
    "qr": ("le code QR n'est pas affiché", "de code QR"),
    "image": ("l'image n'est pas affichée", "d'image"),
}


def unshown_fields(content: MessageContent) -> tuple[str, ...]:
    """The fields given that the layout has no zone for: they are dropped, so a person must be told."""
    shown = get_layout(content.layout).fields
    given = {
        "title": bool(content.title.strip()),
        "footer": bool(content.footer.strip()),
        "pictogram": content.pictogram is not None,
        "qr": bool(content.qr),
        "image": content.image is not None,
    }
    return tuple(field for field, present in given.items() if present and field not in shown)


def _check_required(layout: Layout, content: MessageContent) -> None:
    provided = {
        "title": bool(content.title.strip()),
        "body": bool(content.body.strip()),
        "footer": bool(content.footer.strip()),
        "pictogram": content.pictogram is not None,
        "qr": bool(content.qr),
        "image": content.image is not None,
        "date": content.issued_at is not None,
        "clock": content.issued_at is not None,
    }
    for zone in layout.zones:
        if zone.required and not provided[zone.content]:
            field = "text" if zone.content == "body" else zone.content
            raise RenderError(
                field, f"la mise en page « {layout.name} » demande un contenu « {zone.content} »"
            )


# A department's communes' fallbacks (65 communes x 4 profiles) and its live messages must all fit:
# evicted, each would be drawn again at the next schedule of every panel showing it.
@functools.lru_cache(maxsize=2048)
def render(
    content: MessageContent, profile: PanelProfile, *, time_limit_s: float = RENDER_TIME_LIMIT_S
) -> Rendering:
    """Every page of ``content`` on ``profile``, in the panel's own mode and palette.

    A render that would take more than ``time_limit_s`` of CPU time is cut off with a RenderError
    on the text; being an exception, it is never cached as a rendering.
    """
    try:
        with deadline.bounded(time_limit_s):
            return _render(content, profile)
    except deadline.TimeUp:
        raise RenderTimeUp(
            "text",
            f"le message est trop long à dessiner sur un panneau {profile.width}x{profile.height} "
            f"(plus de {time_limit_s:g} s de calcul) : raccourcissez le texte ou ses mots les plus longs",
        ) from None


def _render(content: MessageContent, profile: PanelProfile) -> Rendering:
    if content.role not in ROLES:
        raise RenderError("role", f"le rôle doit être l'un de : {', '.join(ROLES)}")
    layout = get_layout(content.layout)
    if not layout.suits(profile):
        raise RenderError(
            "layout",
            f"la mise en page « {layout.name} » ne convient pas au panneau {profile.id} ({profile.label})",
        )
    _check_required(layout, content)
    roles = layout.roles[content.role]
    background = profile.colour(roles.background)
    notes = [
        f"{dropped} : la mise en page « {layout.name} » n'a pas de zone {zone}"
        for dropped, zone in (_DROPPED_FIELD_WORDS[field] for field in unshown_fields(content))
    ]

    def zone_colour(zone: Zone) -> int | tuple[int, int, int]:
        return profile.colour(roles.accent if zone.colour == "accent" else roles.foreground)

    base = _Canvas.blank(profile, background)
    paging_zone = next((zone for zone in layout.zones if zone.fit == "page"), None)
    for zone in layout.zones:
        if zone.frame:
            left, top, right, bottom = layout.zone_rect(zone, profile)
            for draw in base.draws():
                draw.rectangle((left, top, right - 1, bottom - 1), outline=profile.colour(roles.accent))
        if zone is not paging_zone:
            _draw_fixed_zone(
                base, zone, _content_rect(layout, zone, profile), content, zone_colour(zone), background
            )

    if paging_zone is None or not content.body.strip():
        return Rendering(profile, layout.name, (_page(base, content.body, None),), None, tuple(notes))

    rect = _content_rect(layout, paging_zone, profile)
    fonts = _fonts_for(paging_zone, profile)
    document = parse(content.body, content.markup)
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    sizes = _sizes(paging_zone, profile, fonts, height)
    fitted = _fit(document, (width, height), sizes, fonts, paging=content.paging)
    if not isinstance(fitted, _Fitted):
        if fitted == 0:
            raise RenderError(
                "text",
                f"un mot est trop long pour un panneau {profile.width}x{profile.height}, "
                f"même coupé et à la plus petite taille lisible ({sizes[-1] if sizes else '?'} px)",
            )
        raise RenderError(
            "text",
            f"le texte ne tient pas sur un panneau {profile.width}x{profile.height} même à la plus petite "
            f"taille lisible ({sizes[-1]} px) : il faudrait {fitted} pages",
            pages_needed=fitted,
        )
    if len(fitted.pages) > MAX_PAGES:
        raise RenderError(
            "text",
            f"le texte demande {len(fitted.pages)} pages sur un panneau {profile.width}x{profile.height}, "
            f"{MAX_PAGES} au plus : raccourcissez-le",
            pages_needed=len(fitted.pages),
        )
    if fitted.hyphenated:
        notes.append("des mots longs ont été coupés en fin de ligne")
    if len(fitted.pages) > len(document.blocks):
        notes.append(f"le texte a été réparti sur {len(fitted.pages)} pages")
    pages = []
    for lines, block in fitted.pages:
        canvas = _Canvas(profile, base.image.copy(), base.flash.copy())
        valign = block.valign or paging_zone.valign
        _draw_lines(
            canvas, lines, rect, fitted.size, fonts, zone_colour(paging_zone), background, paging_zone, valign
        )
        page_text = "\n".join("".join(span.text for span in line.spans) for line, _ in lines)
        pages.append(_page(canvas, page_text, block.dwell_s))
    if not profile.is_led and any(
        span.style.flashing for block in document.blocks for p in block.paragraphs for span in p.spans
    ):
        notes.append("le clignotement n'existe pas sur e-paper : le texte reste fixe")
    return Rendering(profile, layout.name, tuple(pages), fitted.size, tuple(notes))


FRAME_INSET_PX = 2  # the frame's own pixel and one dark pixel between it and the text


def _content_rect(layout: Layout, zone: Zone, profile: PanelProfile) -> tuple[int, int, int, int]:
    left, top, right, bottom = layout.zone_rect(zone, profile)
    if not zone.frame:
        return left, top, right, bottom
    inset = FRAME_INSET_PX
    return left + inset, top + inset, right - inset, bottom - inset


def _page(canvas: _Canvas, text: str, dwell_s: float | None) -> RenderedPage:
    dwell = dwell_s if dwell_s is not None else reading_time(text)
    dwell = max(dwell, float(canvas.profile.min_refresh_s), 0.5)
    flash = Frame.from_image(canvas.flash) if canvas.has_flash else None
    return RenderedPage(Frame.from_image(canvas.image), dwell, flash, text)


def _draw_fixed_zone(
    canvas: _Canvas,
    zone: Zone,
    rect: tuple[int, int, int, int],
    content: MessageContent,
    colour: int | tuple[int, int, int],
    background: int | tuple[int, int, int],
) -> None:
    profile = canvas.profile
    left, top, right, bottom = rect
    side = min(right - left, bottom - top)
    if zone.content in TEXT_ZONES:
        text = _zone_text(zone, content)
        if text is None:
            return
        markup = "plain" if zone.content in ("date", "clock") else content.markup
        size, lines = _single_page_text(zone, text, markup, rect, profile)
        _draw_lines(
            canvas, lines, rect, size, _fonts_for(zone, profile), colour, background, zone, zone.valign
        )
        return
    if zone.content == "pictogram" and content.pictogram:
        if side < PICTOGRAM_MIN_SIZE:
            raise RenderError(
                "pictogram", f"la zone {zone.name} est trop petite pour un pictogramme ({side} px)"
            )
        mask = pictogram(content.pictogram, min(side, PICTOGRAM_MAX_SIZE))
        _paste_mask(canvas, mask, rect, colour, zone)
    elif zone.content == "qr" and content.qr:
        mask = qr_image(content.qr, side)
        _paste_mask(canvas, mask, rect, colour, zone)
    elif zone.content == "image" and content.image is not None:
        background_rgb = _rgb(profile, background)
        palette = profile.palette or None
        area = (right - left, bottom - top)
        fitted = fit_image(
            load_image(content.image, at_least=area),
            area,
            palette,
            crop=True,
            background=background_rgb,
        )
        for image in (canvas.image, canvas.flash):
            image.paste(fitted, (left, top))


def _rgb(profile: PanelProfile, colour: int | tuple[int, int, int]) -> tuple[int, int, int]:
    return profile.palette[colour] if isinstance(colour, int) else colour


def _paste_mask(
    canvas: _Canvas,
    mask: Image.Image,
    rect: tuple[int, int, int, int],
    colour: int | tuple[int, int, int],
    zone: Zone,
) -> None:
    left, top, right, bottom = rect
    x, y = _x_for(zone.align, left, right, mask.width), _y_for(zone.valign, top, bottom, mask.height)
    for image in (canvas.image, canvas.flash):
        image.paste(colour, (x, y), mask)
