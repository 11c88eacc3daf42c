"""Timestamps: stored as integer seconds since the epoch (UTC), shown as ISO 8601 in UTC."""

from __future__ import annotations

import time


def iso_utc(timestamp: int | None) -> str | None:
    return None if timestamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
