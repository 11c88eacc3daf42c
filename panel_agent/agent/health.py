"""Faults and the board's health: what a state says of the panel's hardware and of the board itself.

A fault (the panel's hardware, the stored schedule) is reported once when it starts and once when it
ends, never fatal. The board's health (free disk, temperature, Wi-Fi) is read again only after
``HEALTH_EVERY_S``: a burst of states (schedules, commands) reads it once, and it changes over minutes.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from panel_agent.backends import Backend

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 30.0
THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
WIRELESS = Path("/proc/net/wireless")


@dataclass
class Fault:
    """One kind of fault and what it is now (``detail``, None while all is well).

    ``ended_log`` is logged with what it was when it ends, ``started_log`` with the detail when it
    starts (None when the caller logs the cause itself).
    """

    ended_log: str
    started_log: str | None = None
    detail: str | None = None

    def change(self, exc: Exception | None) -> dict[str, Any] | None:
        """The ``fault`` event's details when ``exc`` (None: all is well) changes the fault; else None."""
        detail = None if exc is None else f"{type(exc).__name__}: {exc}"[:300]
        if detail == self.detail:
            return None
        previous, self.detail = self.detail, detail
        if exc is None:
            log.info(self.ended_log, previous)
            return {"cleared": True, "was": previous}
        if self.started_log is not None:
            log.error(self.started_log, detail)
        return {"code": type(exc).__name__, "detail": detail}


def cpu_temperature() -> float | None:
    """The SoC temperature in °C where Linux exposes it (a Raspberry Pi does); None elsewhere."""
    try:
        return int(THERMAL_ZONE.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


def wifi_link_quality() -> int | None:
    """Link quality of the first Wi-Fi interface in percent of its 70-step scale; None without Wi-Fi."""
    try:
        lines = WIRELESS.read_text().splitlines()[2:]
        return min(100, round(float(lines[0].split()[2].rstrip(".")) * 100 / 70)) if lines else None
    except (OSError, ValueError, IndexError):
        return None


def free_disk_mb(folder: Path) -> int:
    """Free space where the schedule is kept (the first folder of the path that exists yet)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free // 2**20


def describe_backend(name: str, backend: Backend) -> str:
    """``epaper (bwr, partial refresh)``: what a technician needs to know of the panel at a glance."""
    capabilities = backend.capabilities
    facts = [capabilities.colours]
    if capabilities.partial_refresh:
        facts.append("partial refresh")
    if capabilities.dimming:
        facts.append("dimming")
    return f"{name} {backend.width}x{backend.height} ({', '.join(facts)})"


class Health(TypedDict):
    """What a state says of the board itself."""

    disk_free_mb: int
    cpu_temp_c: float | None
    link_quality: int | None


class BoardHealth:
    """The board's health as last read, read again when older than HEALTH_EVERY_S (``monotonic`` time)."""

    def __init__(self, folder: Path, monotonic: Callable[[], float]) -> None:
        self.folder = folder
        self._monotonic = monotonic
        self._read: tuple[float, Health] | None = None  # when read, what was read

    def now(self) -> Health:
        now = self._monotonic()
        if self._read is None or now - self._read[0] >= HEALTH_EVERY_S:
            health: Health = {
                "disk_free_mb": free_disk_mb(self.folder),
                "cpu_temp_c": cpu_temperature(),
                "link_quality": wifi_link_quality(),
            }
            self._read = (now, health)
        return self._read[1]
