"""The epaper backend against the simulated Waveshare and Inky devices, with frames the engine renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from panel_agent.backends import BackendSettingError, create_backend, vendor
from panel_agent.backends.epaper import INKY_HINT, EpaperBackend, EpaperBusyTimeout
from tests.support import first_page

TEXT = "Mairie fermée lundi"
FAST = 0.001  # simulated refresh time: the busy line still goes low, briefly


def epaper(driver: str, width: int = 800, height: int = 480, **settings: Any) -> EpaperBackend:
    settings = {"driver": driver, "width": width, "height": height, "simulated_refresh_s": FAST, **settings}
    backend = create_backend("epaper", settings, panel_id="test-epaper")
    assert isinstance(backend, EpaperBackend)
    return backend


def ink(image: Image.Image, index: int) -> list[int]:
    """Which pixels of a palette image carry ink ``index`` (1 black, 2 red)."""
    return [1 if value == index else 0 for value in image.tobytes()]


def plane_ink(plane: Image.Image) -> list[int]:
    return [1 if value == 0 else 0 for value in plane.convert("L").tobytes()]


def test_bw_waveshare_shows_the_rendered_frame_and_sleeps() -> None:
    frame = first_page(TEXT, "epaper-bw-800x480")
    backend = epaper("simulated-waveshare:epd7in5_V2")
    backend.display(frame)
    device = backend.device
    assert (device.full_refreshes, device.partial_refreshes) == (1, 0)
    assert device.image.convert("RGB").tobytes() == frame.convert("RGB").tobytes()
    assert device.asleep


def test_bwr_waveshare_gets_black_and_red_planes() -> None:
    frame = first_page("{couleur:rouge}Alerte{/couleur} Mairie fermée lundi", "epaper-bwr-800x480")
    assert 2 in frame.tobytes(), "the frame has red pixels"
    backend = epaper("simulated-waveshare:epd7in5b_V2")
    backend.display(frame)
    device = backend.device
    assert plane_ink(device.black_plane) == ink(frame, 1)
    assert plane_ink(device.red_plane) == ink(frame, 2)
    assert device.image.convert("RGB").tobytes() == frame.convert("RGB").tobytes()
    assert device.full_refreshes == 1 and device.asleep


def test_same_image_twice_is_one_refresh() -> None:
    frame = first_page(TEXT, "epaper-bw-800x480")
    backend = epaper("simulated-waveshare:epd7in5_V2")
    backend.display(frame)
    backend.display(frame.convert("RGB"))  # the same pixels in another mode
    assert backend.device.refreshes == 1


def test_partial_refreshes_then_a_full_one_and_daily() -> None:
    frames = [first_page(f"Réunion publique n° {n}", "epaper-bw-800x480") for n in range(6)]
    backend = epaper("simulated-waveshare:epd7in5_V2", full_refresh_every=3)
    now = [1000.0]
    backend.clock = lambda: now[0]
    device = backend.device
    kinds = []
    for frame in frames[:5]:
        before = device.full_refreshes
        backend.display(frame)
        kinds.append("full" if device.full_refreshes > before else "partial")
        assert device.image.convert("RGB").tobytes() == frame.convert("RGB").tobytes()
        assert device.asleep
    assert kinds == ["full", "partial", "partial", "partial", "full"]
    now[0] += 24 * 3600  # a day without a full refresh: the next one is full whatever the count
    backend.display(frames[5])
    assert device.full_refreshes == 3


def test_busy_timeout_raises_and_the_panel_recovers() -> None:
    frame = first_page(TEXT, "epaper-bw-800x480")
    backend = epaper("simulated-waveshare:epd7in5_V2", busy_timeout_s=0.05, simulated_refresh_s=0.3)
    with pytest.raises(EpaperBusyTimeout, match=r"still busy after 0\.05 s"):
        backend.display(frame)
    with pytest.raises(EpaperBusyTimeout, match="still busy"):
        backend.display(frame)  # the late update still holds the panel: never two at once
    backend.busy_timeout_s = 5
    backend.close()  # waits for the late update
    backend.display(frame)  # what is shown was unknown: drawn again, in full
    assert backend.device.full_refreshes == 2


def test_rotated_panel_gets_the_frame_turned() -> None:
    frame = first_page(TEXT, "epaper-bw-296x128")
    backend = epaper("simulated-waveshare:epd2in9_V2", 296, 128, rotate=90)
    backend.display(frame)
    turned = frame.transpose(Image.Transpose.ROTATE_90)
    assert backend.device.image.convert("RGB").tobytes() == turned.convert("RGB").tobytes()


def test_inky_red_shows_the_frame_and_never_partial() -> None:
    frame = first_page("{couleur:rouge}Travaux{/couleur} rue de la Mairie", "epaper-bwr-800x480")
    small = frame.resize((400, 300), Image.Resampling.NEAREST)
    backend = epaper("simulated-inky:what", 400, 300, colour="red")
    backend.display(small)
    second = first_page(TEXT, "epaper-bw-400x300")
    backend.display(second)
    device = backend.device
    assert device.full_refreshes == 2 and device.asleep
    assert device.image.convert("RGB").tobytes() == second.convert("RGB").tobytes()


def test_red_on_a_black_and_white_inky_becomes_black() -> None:
    frame = first_page("{couleur:rouge}Travaux{/couleur}", "epaper-bwr-800x480").resize((400, 300))
    backend = epaper("simulated-inky:auto", 400, 300)
    backend.display(frame)
    assert ink(backend.device.image, 1) == [1 if value in (1, 2) else 0 for value in frame.tobytes()]


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({}, "driver", "missing"),
        ({"driver": "epson:x"}, "driver", "waveshare:<model>"),
        ({"driver": "simulated-waveshare:epd7in5_V2", "width": "800"}, "width", "integer"),
        ({"driver": "simulated-waveshare:epd7in5_V2", "rotate": 45}, "rotate", "0, 90, 180 or 270"),
        ({"driver": "simulated-waveshare:epd7in5_V2", "busy_timeout_s": -1}, "busy_timeout_s", "between"),
        (
            {"driver": "simulated-waveshare:epd7in5_V2", "full_refresh_every": 2.5},
            "full_refresh_every",
            "integer",
        ),
        ({"driver": "simulated-waveshare:epd7in5_V2", "colour": "red"}, "colour", "inky"),
        ({"driver": "simulated-waveshare:epd7in5_V2", "refresh": 3}, "refresh", "unknown key"),
        ({"driver": "simulated-waveshare:epd9in9"}, "driver", "simulated: "),
        ({"driver": "simulated-waveshare:epd5in65f"}, "driver", "only black-and-white"),
        ({"driver": "simulated-inky:what", "colour": "blue"}, "colour", "black, red, yellow"),
        ({"driver": "simulated-inky:auto", "colour": "red"}, "colour", "from the board"),
        ({"driver": "inky:what", "simulated_refresh_s": 1}, "simulated_refresh_s", "unknown key"),
    ],
)
def test_settings_errors_name_the_key(settings: dict[str, Any], key: str, words: str) -> None:
    full = {"width": 800, "height": 480, **settings}
    with pytest.raises(BackendSettingError) as caught:
        EpaperBackend.check_settings(full, base_dir=Path.cwd())
    assert caught.value.key == key
    assert words in caught.value.problem


@pytest.mark.parametrize(
    ("driver", "hint"),
    [("waveshare:epd7in5_V2", "waveshareteam/e-Paper"), ("inky:auto", "pip install inky")],
)
def test_missing_library_says_what_to_install(
    driver: str, hint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vendor, "installed", lambda module: False)  # as on a desk, even on a Pi
    with pytest.raises(BackendSettingError) as caught:
        EpaperBackend.check_settings({"driver": driver, "width": 800, "height": 480}, base_dir=Path.cwd())
    assert caught.value.key == "driver"
    assert "not installed" in caught.value.problem and hint in caught.value.problem


def test_size_that_is_not_the_panels_is_refused_at_creation() -> None:
    with pytest.raises(ValueError, match="800x480 panel, but the settings say 400x300"):
        epaper("simulated-waveshare:epd7in5_V2", 400, 300)


def test_wrong_image_size_is_refused() -> None:
    backend = epaper("simulated-waveshare:epd7in5_V2")
    with pytest.raises(ValueError, match="image is 10x10"):
        backend.display(Image.new("P", (10, 10)))


def test_library_gone_at_creation_says_what_to_install() -> None:
    with pytest.raises(
        vendor.MissingLibrary, match=r"relais_no_such_library is not installed.*pip install inky"
    ):
        vendor.load("relais_no_such_library", INKY_HINT)
