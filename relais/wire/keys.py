"""Public keys as text: the one line of a panel agent's config that says whom to trust."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def public_key_to_text(key: Ed25519PublicKey) -> str:
    """``ed25519:<base64>``: one line that fits in an agent's config file."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    prefix = "ed25519:"
    if not isinstance(text, str) or not text.startswith(prefix):
        raise ValueError("a controller public key looks like 'ed25519:<base64 of 32 bytes>'")
    try:
        raw = base64.b64decode(text[len(prefix) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the controller public key is not valid base64 ({exc})") from None
    if len(raw) != 32:
        raise ValueError(f"the controller public key has {len(raw)} bytes, an Ed25519 key has 32")
    return Ed25519PublicKey.from_public_bytes(raw)
