"""The matrix backend against the simulated rgbmatrix, with frames the engine renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from panel_agent.backends import BackendSettingError, create_backend, vendor
from panel_agent.backends.matrix import MatrixBackend
from tests.support import first_page


def matrix(**settings: Any) -> MatrixBackend:
    settings = {
        "driver": "simulated-rgbmatrix",
        "rows": 32,
        "cols": 64,
        "chain": 2,
        "parallel": 2,
        **settings,
    }
    backend = create_backend("matrix", settings, panel_id="test-matrix")
    assert isinstance(backend, MatrixBackend)
    return backend


def test_frame_is_drawn_off_screen_and_swapped_in() -> None:
    frame = first_page("Fête de la musique 21 h", "led-rgb-128x64")
    backend = matrix(hardware_mapping="adafruit-hat", gpio_slowdown=4)
    assert (backend.width, backend.height) == (128, 64)
    options = backend.matrix.options
    assert (options.hardware_mapping, options.gpio_slowdown, options.chain_length) == ("adafruit-hat", 4, 2)
    backend.display(frame)
    shown = backend.matrix.shown
    assert backend.matrix.swaps == 1
    assert shown.image.tobytes() == frame.convert("RGB").tobytes()
    assert shown is not backend._canvas, "the next frame is drawn on the other canvas"


def test_palette_frame_of_an_amber_board_is_shown_in_amber() -> None:
    frame = first_page("Verglas", "led-amber-192x64")
    backend = matrix(rows=32, cols=64, chain=3, parallel=2)
    backend.display(frame)
    assert backend.matrix.shown.image.tobytes() == frame.convert("RGB").tobytes()


def test_brightness_is_a_share_of_the_configured_full_level_and_redraws() -> None:
    frame = first_page("Travaux", "led-rgb-128x64")
    backend = matrix(brightness=80)
    assert backend.matrix.brightness == 80
    backend.set_brightness(30)  # nothing shown yet: nothing to redraw
    assert (backend.matrix.brightness, backend.matrix.swaps) == (24, 0)
    backend.display(frame)
    assert backend.matrix.shown.drawn_brightness == 24
    backend.set_brightness(100)
    shown = backend.matrix.shown
    assert (backend.matrix.brightness, backend.matrix.swaps, shown.drawn_brightness) == (80, 2, 80)
    assert shown.image.tobytes() == frame.convert("RGB").tobytes()
    backend.set_brightness(1)
    assert backend.matrix.brightness == 1


def test_close_blanks_the_matrix() -> None:
    backend = matrix()
    backend.display(first_page("Travaux", "led-rgb-128x64"))
    backend.close()
    assert backend.matrix.shown.image.getbbox() is None


def test_wrong_image_size_is_refused() -> None:
    with pytest.raises(ValueError, match="image is 64x32, this panel is 128x64"):
        matrix().display(first_page("Travaux", "led-rgb-64x32"))


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({"driver": "hub75"}, "driver", "simulated-rgbmatrix"),
        ({"rows": 0}, "rows", "between"),
        ({"chain": "2"}, "chain", "integer"),
        ({"brightness": 0}, "brightness", "between 1 and 100"),
        ({"hardware_mapping": ""}, "hardware_mapping", "non-empty"),
        ({"slowdown": 2}, "slowdown", "unknown key"),
    ],
)
def test_settings_errors_name_the_key(settings: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(BackendSettingError) as caught:
        MatrixBackend.check_settings({"driver": "simulated-rgbmatrix", **settings}, base_dir=Path.cwd())
    assert caught.value.key == key
    assert words in caught.value.problem


def test_missing_library_says_where_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vendor, "installed", lambda module: False)
    with pytest.raises(BackendSettingError) as caught:
        MatrixBackend.check_settings({}, base_dir=Path.cwd())
    assert caught.value.key == "driver"
    assert "rgbmatrix library is not installed" in caught.value.problem
    assert "hzeller/rpi-rgb-led-matrix" in caught.value.problem
