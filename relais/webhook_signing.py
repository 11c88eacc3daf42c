"""Signing a webhook's body so that its receiver knows it came from this controller, and recently.

One header, ``X-Relais-Signature: t=<unix time>,v1=<hex>``: ``v1`` is HMAC-SHA256, keyed with the
secret the receiver and the controller share, of the time, a dot and the body as sent (bytes). The
time inside what is signed lets a receiver refuse a replayed request (``verify``: five minutes by
default). Pure: no clock, no I/O; the same for every kind of webhook Relais sends.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Relais-Signature"
VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """A signature header that is missing parts, wrong, or too old or too far ahead."""


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, body: bytes, timestamp: int) -> str:
    """The value of ``SIGNATURE_HEADER`` for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},{VERSION}={_digest(secret, timestamp, body)}"


def verify(
    secret: bytes, body: bytes, header: str, now: float, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> int:
    """The signed time when ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` of ``now``;
    ``SignatureError`` otherwise. Compared in constant time."""
    parts = dict(part.partition("=")[::2] for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
        given = parts[VERSION]
    except (KeyError, ValueError):
        raise SignatureError("the signature needs t=<unix time> and v1=<hex>") from None
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"signed at {timestamp}, more than {tolerance_s:.0f} s from now")
    if not hmac.compare_digest(given.encode(), _digest(secret, timestamp, body).encode()):
        raise SignatureError("the signature does not match the body")
    return timestamp
