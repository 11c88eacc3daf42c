"""Posters: the PDF's words read back with pypdf, its first page drawn by PDFium and looked at: the
commune's name in blue at the top, and a QR code whose every module is where the public page's code has it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pypdf
import pypdfium2
import pytest
import segno
from flask import Flask
from PIL import Image

from controller.rendering.poster import MARGIN_MM, QR_QUIET_MODULES, QR_SIDE_MM, SIZES
from tests.support import DEMO_LED, client_as

WORDS = "Samedi de 10 h à 19 h : chalets, vin chaud et chorale de l'école ! Entrée libre."
PX_PER_MM = 4 * 72 / 25.4  # PDFium's scale 4: 288 dots per inch


@pytest.fixture
def message_id(app: Flask) -> int:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    ends = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = editor.post(
        "/api/v1/messages",
        json={"title": "Marché de Noël", "text": WORDS, "panels": [DEMO_LED["id"]], "ends_at": ends},
    )
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


def _first_page(pdf: bytes) -> Image.Image:
    return pypdfium2.PdfDocument(pdf)[0].render(scale=4).to_pil().convert("RGB")


@pytest.mark.parametrize("size", ["A4", "A3"])
def test_a_poster_says_the_commune_words_dates_and_leads_to_the_public_page(
    app: Flask, message_id: int, size: str
) -> None:
    answer = client_as(app, "valideur-bourg", "commune-approver", "01053").get(
        f"/api/v1/messages/{message_id}/poster.pdf?size={size}"
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(answer.data))
    assert len(reader.pages) == 1
    width_mm, height_mm = SIZES[size]
    assert round(float(reader.pages[0].mediabox.width) * 25.4 / 72) == width_mm
    text = " ".join(reader.pages[0].extract_text().split())
    for words in ("Bourg-en-Bresse", "Marché de Noël", "chorale de l’école", "http://localhost/c/01053"):
        assert words in text.replace("\u00a0", " "), (words, text)
    # French no-break spaces: no line starts with a colon, an exclamation mark or a unit.
    lines = reader.pages[0].extract_text().splitlines()
    assert not [line for line in lines if line.lstrip()[:1] in {":", "!", "?", "»", "€"}], lines
    assert "Du " in text and " au " in text
    fonts = {font["/BaseFont"] for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert all("DejaVuSans" in str(font) for font in fonts), fonts

    page = _first_page(answer.data)
    scale = width_mm / SIZES["A4"][0]
    top_band = page.crop((0, 0, page.width, int(40 * scale * PX_PER_MM)))
    assert (0, 0, 145) in {colour for _count, colour in top_band.getcolors(1_000_000) or []}
    code = segno.make("http://localhost/c/01053", error="m", boost_error=False, micro=False)
    modules = len(code.matrix) + 2 * QR_QUIET_MODULES
    module_px = QR_SIDE_MM * scale / modules * PX_PER_MM
    left = MARGIN_MM * scale * PX_PER_MM
    top = (height_mm - MARGIN_MM * scale - QR_SIDE_MM * scale) * PX_PER_MM
    drawn = [
        [
            page.getpixel(
                (
                    int(left + (column + QR_QUIET_MODULES + 0.5) * module_px),
                    int(top + (row + QR_QUIET_MODULES + 0.5) * module_px),
                )
            )
            == (0, 0, 0)
            for column in range(len(code.matrix))
        ]
        for row in range(len(code.matrix))
    ]
    assert drawn == [[bool(dark) for dark in line] for line in code.matrix]


def test_a_poster_is_refused_a_size_and_another_commune(app: Flask, message_id: int) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    wrong = editor.get(f"/api/v1/messages/{message_id}/poster.pdf?size=A5")
    assert wrong.status_code == 400 and wrong.json["error"]["field"] == "size"
    elsewhere = client_as(app, "mairie-amberieu", "commune-editor", "01004")
    assert elsewhere.get(f"/api/v1/messages/{message_id}/poster.pdf").status_code == 404
    french = app.test_client()
    french.environ_base["HTTP_AUTHORIZATION"] = editor.environ_base["HTTP_AUTHORIZATION"]
    answer = french.get(f"/api/v1/messages/{message_id}/poster.pdf?size=A5")
    assert answer.json["error"]["message"] == "Valeurs possibles : A4, A3."
