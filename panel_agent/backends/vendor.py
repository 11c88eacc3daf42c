"""Vendor libraries loaded on demand: only the boards whose backend needs one import it.

The vendor libraries (Waveshare's ``waveshare_epd``, Pimoroni's ``inky``, hzeller's ``rgbmatrix``)
open GPIO and SPI when imported, and exist only on a Raspberry Pi, so they are looked up by name and
imported only when a backend that needs them is created. Their simulators
(``panel_agent.simulators``) are chosen explicitly in the settings (``driver = "simulated-…"``),
never put in silently for a missing library.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


class MissingLibrary(ImportError):
    """A vendor library the settings ask for is not installed; the message says how to install it."""


def installed(module: str) -> bool:
    """Whether ``module`` (dotted) can be imported, without importing it (its parent package is)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


def load(module: str, install_hint: str) -> ModuleType:
    """Import a vendor library, or raise MissingLibrary naming it and how to install it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingLibrary(f"{module} is not installed ({exc.name} is missing): {install_hint}") from exc
