"""Display backends: what turns an image into light on a panel, chosen by name in the agent's config.

One module per panel family: ``simulated`` (a PNG file), ``alpha`` (serial LED signs), ``epaper`` and
``matrix``. The registry maps names to ``"module:Class"`` strings imported on demand, so a hardware
backend (and the GPIO or SPI library it needs, through ``vendor``) is only imported on the boards that
use it; ``checks`` reads their settings. The device simulators a backend can drive instead of the
hardware are in ``panel_agent.simulators``, the device byte protocols in ``panel_agent.protocols``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

BACKENDS: dict[str, str] = {
    "simulated": "panel_agent.backends.simulated:SimulatedBackend",
    "epaper": "panel_agent.backends.epaper:EpaperBackend",
    "matrix": "panel_agent.backends.matrix:MatrixBackend",
    "alpha": "panel_agent.backends.alpha:AlphaBackend",
}


class BackendSettingError(ValueError):
    """One key of the ``[backend]`` table is missing, mistyped, invalid or unknown."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Capabilities:
    """What a panel can do, for the agent and for the technician reading its state."""

    colours: str = "rgb"  # "mono" (one LED colour), "bw", "bwr" (e-paper inks) or "rgb"
    partial_refresh: bool = True  # can redraw without a full, flashing refresh
    min_refresh_s: float = 0.0  # the panel's own minimum between refreshes (schedules add the profile's)
    dimming: bool = False  # set_brightness changes something


class Backend(ABC):
    """A panel of ``width`` x ``height`` pixels that shows one image at a time."""

    width: int
    height: int
    capabilities: Capabilities = Capabilities()

    @classmethod
    @abstractmethod
    def check_settings(cls, settings: Mapping[str, Any], *, base_dir: Path) -> dict[str, Any]:
        """Validate the ``[backend]`` table (without ``name``) when the config is loaded.

        Runs before any hardware is opened so a typo stops the agent at once; relative paths are
        resolved against ``base_dir``. Returns the normalised settings the constructor takes.
        """

    @abstractmethod
    def __init__(self, settings: Mapping[str, Any], *, panel_id: str) -> None:
        """Open the panel with settings already passed through ``check_settings``."""

    @abstractmethod
    def display(self, image: Image.Image) -> None:
        """Show ``image``, whose size is the backend's own; raise ValueError for any other size."""

    def set_brightness(self, level: int) -> None:  # noqa: B027 - a panel without dimming ignores it
        """Dim the panel to ``level`` percent of full (1 to 100), as its schedule says for the hour.

        The agent calls it when it follows a schedule and whenever the level due changes, never twice
        in a row with the same level, and never while ``display()`` runs. Hardware backends override
        it (PWM of an LED matrix, a sign's dimming command); this default does nothing, which suits
        e-paper, a panel with no light of its own.
        """

    def status(self) -> dict[str, Any]:
        """Counters and facts worth a technician's eye (refreshes, errors, device model); none by default."""
        return {}

    def close(self) -> None:  # noqa: B027 - deliberately optional: a backend with nothing to release
        """Release the hardware (GPIO, SPI, serial port) when the agent stops."""


def backend_class(name: str) -> type[Backend]:
    """Import the backend registered as ``name``, refusing unknown names with the list of known ones."""
    target = BACKENDS.get(name)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown backend {name!r}; known backends: {known}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_backend(name: str, settings: Mapping[str, Any], *, panel_id: str) -> Backend:
    """Build backend ``name``; relative paths in ``settings`` are taken from the current folder.

    Settings coming from ``load_config`` are already checked and absolute, so checking again is harmless.
    """
    cls = backend_class(name)
    return cls(cls.check_settings(settings, base_dir=Path.cwd()), panel_id=panel_id)
