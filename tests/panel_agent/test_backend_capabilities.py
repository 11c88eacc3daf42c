"""Every backend says what its panel can do: colours, partial refresh, dimming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from panel_agent.backends import Capabilities, create_backend


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("simulated", {"width": 96, "height": 16}, Capabilities("rgb", True, 0.0, True)),
        ("alpha", {"port": "loop://", "width": 96, "height": 16}, Capabilities("mono", False, 0.0, False)),
        (
            "alpha",
            {"port": "loop://", "width": 96, "height": 16, "dimming": True},
            Capabilities("mono", False, 0.0, True),
        ),
        (
            "epaper",
            {
                "driver": "simulated-waveshare:epd7in5_V2",
                "width": 800,
                "height": 480,
                "simulated_refresh_s": 0,
            },
            Capabilities("bw", True, 0.0, False),
        ),
        (
            "epaper",
            {
                "driver": "simulated-waveshare:epd7in5b_V2",
                "width": 800,
                "height": 480,
                "simulated_refresh_s": 0,
            },
            Capabilities("bwr", False, 0.0, False),
        ),
        ("matrix", {"driver": "simulated-rgbmatrix"}, Capabilities("rgb", True, 0.0, True)),
    ],
)
def test_capabilities(name: str, settings: dict[str, Any], expected: Capabilities, tmp_path: Path) -> None:
    if name == "simulated":
        settings = {**settings, "output_dir": tmp_path}
    backend = create_backend(name, settings, panel_id="caps")
    try:
        assert backend.capabilities == expected
    finally:
        backend.close()
