"""The error every refusal raises, and the checked readers of the JSON that every message is made of."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class WireError(ValueError):
    """A payload that does not follow this format; ``reason`` is a short stable code for logs."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_json(payload: bytes, what: str) -> Any:
    """``payload`` as JSON; ``what`` names it in the refusal."""
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError("malformed", f"{what} is not JSON ({exc})") from None


def required(data: Any, name: str, kind: type) -> Any:
    """``data[name]``, which must be there and of type ``kind``."""
    if not isinstance(data, dict) or name not in data:
        raise WireError("malformed", f"missing field {name!r}")
    value = data[name]
    # bool is a subclass of int: a JSON true must not pass as a sequence number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise WireError("malformed", f"field {name!r} must be {kind.__name__}")
    return value


def optional(data: Any, name: str, kind: type) -> Any:
    """``data[name]`` of type ``kind``, or None when it is absent or null."""
    if isinstance(data, dict) and data.get(name) is None:
        return None
    return required(data, name, kind)


def decode_base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise WireError("malformed", f"{what} is not base64 ({exc})") from None
