"""Seconds on air per item, simulating the rotation exactly as a panel runs it (for tests and previews)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from controller.scheduling.resolve import PanelSchedule


def air_time(
    schedule: PanelSchedule, item_durations: Mapping[str, float], start: datetime, end: datetime
) -> dict[str, float]:
    """Seconds each key is on air in [start, end): entries in order, each for its dwell, cycling
    from each segment's start (the panel restarts its playlist when a new one arrives)."""
    seconds: dict[str, float] = defaultdict(float)
    for segment in schedule.segments:
        low = (max(segment.start, start) - segment.start).total_seconds()
        high = (min(segment.end, end) - segment.start).total_seconds()
        if low >= high or not segment.playlist:
            continue
        dwells = [
            (entry.key, item_durations[entry.key] if entry.dwell_s is None else entry.dwell_s)
            for entry in segment.playlist
        ]
        cycle = sum(dwell for _, dwell in dwells)
        at = (low // cycle) * cycle
        while at < high:
            for key, dwell in dwells:
                overlap = min(at + dwell, high) - max(at, low)
                if overlap > 0:
                    seconds[key] += overlap
                at += dwell
                if at >= high:
                    break
    return dict(seconds)
