"""What the hardware backends share: vendor libraries loaded on demand, and the checks of their settings.

The vendor libraries (Waveshare's ``waveshare_epd``, Pimoroni's ``inky``, hzeller's ``rgbmatrix``)
open GPIO and SPI when imported, and exist only on a Raspberry Pi, so they are looked up by name and
imported only when a backend that needs them is created. The submodules ``waveshare``, ``inky`` and
``rgbmatrix`` are device simulators with the same calls, chosen explicitly in the settings
(``driver = "simulated-…"``), never put in silently for a missing library.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from panel_agent.backends import BackendSettingError


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


def check_unknown(settings: Mapping[str, Any], allowed: set[str], backend: str) -> None:
    """Refuse a key the backend does not know: a misspelt optional key would be ignored otherwise."""
    unknown = sorted(set(settings) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise BackendSettingError(unknown[0], f"unknown key for the {backend} backend (known keys: {known})")


def integer(settings: Mapping[str, Any], key: str, default: int | None, low: int, high: int) -> int:
    """``settings[key]`` as an integer from ``low`` to ``high``; ``default`` None means required."""
    if key not in settings:
        if default is None:
            raise BackendSettingError(key, "missing (required)")
        return default
    value = settings[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise BackendSettingError(key, f"must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise BackendSettingError(key, f"must be between {low} and {high}, not {value}")
    return value


def seconds(settings: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    """``settings[key]`` as a duration in seconds (integer or float) from ``low`` to ``high``."""
    value = settings.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise BackendSettingError(key, f"must be a number of seconds, not {type(value).__name__}")
    if not low <= value <= high:
        raise BackendSettingError(key, f"must be between {low} and {high} seconds, not {value}")
    return float(value)


def text(settings: Mapping[str, Any], key: str, default: str | None) -> str:
    """``settings[key]`` as a non-empty string; ``default`` None means required."""
    if key not in settings:
        if default is None:
            raise BackendSettingError(key, "missing (required)")
        return default
    value = settings[key]
    if not isinstance(value, str) or not value:
        raise BackendSettingError(key, "must be a non-empty string")
    return value
