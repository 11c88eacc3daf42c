"""A message as a poster for a shop window or a notice board: an A4 or A3 PDF page.

The commune's name at the top, the title and the words as large as the page allows, when they apply,
and a QR code to the commune's public page, where the poster's message stays up to date. Drawn with
fpdf2 in the pinned DejaVu fonts (embedded), the words already set with French typography (no-break
spaces before « : » and « ! », which the line breaking keeps), the QR code as vector squares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import segno
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, WrapMode, XPos, YPos

from controller.rendering.fonts import FONTS_DIR

# Width and height in millimetres; A3 is A4 scaled by √2, so everything is drawn at A4 and scaled.
SIZES = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
FONT = "DejaVu"
MARGIN_MM = 18.0
QR_SIDE_MM = 42.0
QR_QUIET_MODULES = 4  # the standard's quiet zone: a poster is scanned from a metre away, in any light
# The words start this large and shrink, two points at a time, until they fit above the dates.
TEXT_PT = (40.0, 14.0)
BLUE = (0, 0, 145)


@dataclass(frozen=True)
class PosterWords:
    """What a poster says; ``url`` is the public page its QR code and its last line lead to."""

    commune: str
    title: str
    text: str
    when: str
    url: str


def poster_pdf(words: PosterWords, size: str = "A4") -> bytes:
    """One page, ``size`` one of ``SIZES``; the PDF's title is the poster's title or first words."""
    width, height = SIZES[size]
    scale = width / SIZES["A4"][0]
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.set_margins(MARGIN_MM * scale, MARGIN_MM * scale)
    pdf.set_auto_page_break(False)
    pdf.add_font(FONT, "", FONTS_DIR / "dejavu" / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS_DIR / "dejavu" / "DejaVuSans-Bold.ttf")
    pdf.set_title(words.title or words.text[:80])
    pdf.set_lang("fr")
    pdf.set_creator("Relais")
    pdf.add_page()
    inner = width - 2 * MARGIN_MM * scale

    pdf.set_font(FONT, "B", 30 * scale)
    pdf.set_text_color(*BLUE)
    pdf.multi_cell(inner, 13 * scale, words.commune, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(1.2 * scale)
    rule_y = pdf.get_y() + 4 * scale
    pdf.line(MARGIN_MM * scale, rule_y, width - MARGIN_MM * scale, rule_y)
    pdf.set_y(rule_y + 10 * scale)
    pdf.set_text_color(0, 0, 0)
    if words.title:
        pdf.set_font(FONT, "B", 34 * scale)
        pdf.multi_cell(inner, 15 * scale, words.title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(6 * scale)

    bottom = height - MARGIN_MM * scale - QR_SIDE_MM * scale - 30 * scale
    size_pt = TEXT_PT[0]
    while True:
        pdf.set_font(FONT, "", size_pt * scale)
        lines = pdf.multi_cell(
            inner,
            size_pt * 0.5 * scale,
            words.text,
            align=Align.C,
            dry_run=True,
            output=MethodReturnValue.LINES,
        )
        if (
            pdf.get_y() + len(cast(list[str], lines)) * size_pt * 0.5 * scale <= bottom
            or size_pt <= TEXT_PT[1]
        ):
            break
        size_pt -= 2
    pdf.multi_cell(
        inner, size_pt * 0.5 * scale, words.text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )

    pdf.set_y(bottom + 6 * scale)
    pdf.set_font(FONT, "B", 16 * scale)
    pdf.multi_cell(inner, 8 * scale, words.when, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    qr_top = height - MARGIN_MM * scale - QR_SIDE_MM * scale
    _qr(pdf, words.url, MARGIN_MM * scale, qr_top, QR_SIDE_MM * scale)
    caption_x = (MARGIN_MM + QR_SIDE_MM + 6) * scale
    pdf.set_xy(caption_x, qr_top + 8 * scale)
    pdf.set_font(FONT, "", 12 * scale)
    caption_width = width - caption_x - MARGIN_MM * scale
    pdf.multi_cell(
        caption_width,
        6 * scale,
        "Tous les messages, à jour\u00a0:",
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    pdf.set_font(FONT, "B", 12 * scale)
    pdf.multi_cell(caption_width, 6 * scale, words.url, link=words.url, wrapmode=WrapMode.CHAR)
    return bytes(pdf.output())


def _qr(pdf: FPDF, url: str, left: float, top: float, side: float) -> None:
    """The QR code of ``url`` as black squares on the page, its quiet zone included in ``side``."""
    code = segno.make(url, error="m", boost_error=False, micro=False)
    modules = len(code.matrix) + 2 * QR_QUIET_MODULES
    module = side / modules
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(code.matrix):
        for column, dark in enumerate(line):
            if dark:
                x = left + (column + QR_QUIET_MODULES) * module
                pdf.rect(x, top + (row + QR_QUIET_MODULES) * module, module, module, style="F")
