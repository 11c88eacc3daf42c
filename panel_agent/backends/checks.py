"""Checks of a hardware backend's ``[backend]`` settings, shared by the backends: one message style."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from panel_agent.backends import BackendSettingError


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
