"""The simulated panel's screen file: the very pixels it was given, each distinct picture encoded once."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from panel_agent.backends import simulated
from panel_agent.backends.simulated import SimulatedBackend
from tests.support import same_pixels


def backend(tmp_path: Path, panel_id: str) -> SimulatedBackend:
    return SimulatedBackend({"width": 8, "height": 4, "output_dir": tmp_path}, panel_id=panel_id)


def test_panels_showing_the_same_picture_share_one_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saves: list[str] = []
    save = Image.Image.save

    def counting(image: Image.Image, *args: object, **kwargs: object) -> None:
        saves.append(image.mode)
        save(image, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "save", counting)
    monkeypatch.setattr(simulated, "_encoded", type(simulated._encoded)())
    red = Image.new("RGB", (8, 4), "red")
    for panel_id in ("a", "b"):
        backend(tmp_path, panel_id).display(red.copy())
    assert len(saves) == 1
    assert same_pixels(tmp_path / "a.png", red) and same_pixels(tmp_path / "b.png", red)


def test_a_palette_picture_is_told_apart_by_its_palette(tmp_path: Path) -> None:
    """Same indices, other colours: another picture, another PNG."""
    black_on_white, amber = Image.new("P", (8, 4), 0), Image.new("P", (8, 4), 0)
    black_on_white.putpalette([255, 255, 255, 0, 0, 0])
    amber.putpalette([255, 160, 0, 0, 0, 0])
    screen = backend(tmp_path, "p")
    for image in (black_on_white, amber):
        screen.display(image)
        assert same_pixels(tmp_path / "p.png", image.convert("RGB"))
