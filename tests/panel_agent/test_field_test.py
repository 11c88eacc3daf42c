"""``relais agent test``: a technician draws on a panel before it joins the fleet."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from programs.cli import main


def run(tmp_path: Path, *arguments: str) -> int:
    size = ["--set", "width=96", "--set", "height=16", "--set", f"output_dir={tmp_path}"]
    return main(["agent", "test", "--backend", "simulated", *size, *arguments])


@pytest.mark.parametrize("pattern", ["checkerboard", "border", "full", "stripes"])
def test_each_pattern_reaches_the_panel(
    tmp_path: Path, pattern: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "--pattern", pattern) == 0
    with Image.open(tmp_path / "field-test.png") as shown:
        assert shown.size == (96, 16)
        assert shown.convert("L").getextrema()[1] == 255  # something is lit
    assert f"pattern {pattern} sent" in capsys.readouterr().out


def test_a_text_is_drawn_in_a_pixel_font(tmp_path: Path) -> None:
    assert run(tmp_path, "--text", "Fête à 21 h") == 0
    with Image.open(tmp_path / "field-test.png") as shown:
        colours = {colour for _, colour in shown.convert("RGB").getcolors()}
    assert colours == {(0, 0, 0), (255, 255, 255)}  # no anti-aliasing: one LED on or off


def test_bad_settings_and_patterns_are_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "test", "--backend", "simulated", "--pattern", "full"]) == 2
    assert "width" in capsys.readouterr().err
    assert run(tmp_path, "--pattern", "zigzag") == 2
    assert "zigzag" in capsys.readouterr().err
    assert main(["agent", "test", "--backend", "neon", "--pattern", "full"]) == 2
    assert "known backends" in capsys.readouterr().err


def test_a_panel_that_does_not_answer_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the panel's output should go")
    assert run(blocked, "--pattern", "full") == 1
    assert "did not answer" in capsys.readouterr().err
