"""The controller's Ed25519 key pair on disk: made on first run, private half readable by its owner only."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from relais.files import atomic_write
from relais.wire import public_key_to_text

PRIVATE_KEY_NAME = "controller-signing.key"
PUBLIC_KEY_NAME = "controller-signing.pub"


def load_or_create_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """Load the signing key, creating it (mode 0600, written atomically) when there is none yet."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    private_path = keys_dir / PRIVATE_KEY_NAME
    if private_path.exists():
        mode = private_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(
                f"{private_path} is readable by others (mode {mode:o}); run: chmod 600 {private_path}"
            )
        key = load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{private_path} does not hold an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    atomic_write(private_path, pem, mode=0o600)
    atomic_write(keys_dir / PUBLIC_KEY_NAME, (public_key_to_text(key.public_key()) + "\n").encode())
    return key
