"""Addresses people type for the controller to call: a webhook, a notification's receiver, a feed."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_http_url(text: str) -> bool:
    """An http or https URL naming a host; « http://[::1 » (a bracket left open) is none, not a crash."""
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False
