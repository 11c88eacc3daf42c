"""Golden images: every shipped layout on every profile it suits, with French sample texts.

Each reference PNG holds the native pages of one render stacked top to bottom, exactly as the
panel receives them (mode, palette and pixels). Fonts are pinned in ``fonts/``. To refresh the
references after an intended change: ``RELAIS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py``,
then look at the changed files before committing them.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from controller.rendering.engine import MessageContent, Rendering, render
from controller.rendering.layouts import load_layouts
from controller.rendering.profiles import load_profiles
from tests.support import REPO

GOLDEN = REPO / "tests" / "golden" / "layouts"
UPDATE = os.environ.get("RELAIS_UPDATE_GOLDEN") == "1"
ISSUED = datetime(2026, 12, 18, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))

SAMPLES = {
    "short": ("relais", "Fête de Noël samedi à 18 h"),
    "long": (
        "relais",
        "La préfecture de l’Ain rappelle qu’à l’approche des fêtes, la vigilance s’impose sur les routes : "
        "ne prenez pas le volant après avoir bu, respectez les limitations de vitesse et attachez votre "
        "ceinture, même pour un court trajet. {b}Bonnes fêtes à tous !{/b}",
    ),
    "multi": ("multi", "[jp3][jl3]VERGLAS[nl]RD 1083[np][pt40o0][jl2]PRUDENCE[nl][fl]RALENTIR[/fl]"),
}
# The MULTI sample is what traffic engineers paste: only on the plain text layout.
SAMPLE_LAYOUTS = {"multi": {"text"}}


def cases() -> list[tuple[str, str, str]]:
    profiles = load_profiles()
    return [
        (layout.name, profile_id, sample)
        for layout in load_layouts().values()
        for profile_id, profile in profiles.items()
        if layout.suits(profile)
        for sample in SAMPLES
        if layout.name in SAMPLE_LAYOUTS.get(sample, {layout.name})
    ]


def sample_image() -> bytes:
    """A photo-like picture made here, so the dithering to each palette is part of the reference."""
    image = Image.radial_gradient("L").resize((160, 120)).convert("RGB")
    image.paste((200, 40, 30), (20, 20, 70, 60))
    image.paste((40, 160, 60), (90, 50, 150, 110))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def content_for(layout: str, sample: str) -> MessageContent:
    markup, body = SAMPLES[sample]
    return MessageContent(
        body=body,
        title="ALERTE" if layout.startswith("alert") else "Prudence",
        footer="Préfecture de l’Ain",
        pictogram="alcohol",
        qr="https://www.service-public.fr",
        image=sample_image() if layout == "image-text" else None,
        layout=layout,
        markup=markup,  # type: ignore[arg-type]
        role="emergency" if layout.startswith("alert") else "normal",
        issued_at=ISSUED,
    )


def contact_sheet(rendering: Rendering) -> Image.Image:
    """The native pages (and flash frames) one under the other, in the panel's own mode and palette."""
    frames = [frame.image() for page in rendering.pages for frame in (page.frame, page.flash_frame) if frame]
    first = frames[0]
    sheet = Image.new(first.mode, (first.width, first.height * len(frames)))
    if first.mode == "P":
        sheet.putpalette(first.getpalette())
    for index, frame in enumerate(frames):
        sheet.paste(frame, (0, index * first.height))
    return sheet


@pytest.mark.parametrize(("layout", "profile_id", "sample"), cases(), ids="-".join)
def test_render_matches_the_reference(layout: str, profile_id: str, sample: str) -> None:
    rendering = render(content_for(layout, sample), load_profiles()[profile_id])
    sheet = contact_sheet(rendering)
    path = GOLDEN / layout / f"{profile_id}-{sample}.png"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no reference image {path}: run with RELAIS_UPDATE_GOLDEN=1 and look at it")
        path.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(path, optimize=True)
    with Image.open(path) as reference:
        # Colour for colour, as a person sees it: a frame travels as a PNG of palette indices or as a
        # lossless WebP, which decodes to RGB.
        assert reference.size == sheet.size
        assert reference.convert("RGB").tobytes() == sheet.convert("RGB").tobytes(), (
            f"{path} differs from the render"
        )


def test_every_layout_has_references_on_every_profile_it_suits() -> None:
    expected = {GOLDEN / layout / f"{profile}-{sample}.png" for layout, profile, sample in cases()}
    assert expected == set(GOLDEN.glob("*/*.png"))
