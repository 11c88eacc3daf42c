"""The controller's Ed25519 key pair on disk: made on first run, private half readable by its owner only."""

from __future__ import annotations

import os
import time
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
NEXT_PRIVATE_KEY_NAME = "controller-signing.next.key"
NEXT_PUBLIC_KEY_NAME = "controller-signing.next.pub"
RETIRED_DIR_NAME = "retired"


def load_or_create_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """Load the signing key, creating it (mode 0600, written atomically) when there is none yet."""
    return _load_or_create(keys_dir, PRIVATE_KEY_NAME, PUBLIC_KEY_NAME)


def stage_next_key(keys_dir: Path) -> Ed25519PrivateKey:
    """The key the controller will sign with after the rotation: made once, agents learn it first."""
    return _load_or_create(keys_dir, NEXT_PRIVATE_KEY_NAME, NEXT_PUBLIC_KEY_NAME)


def next_public_key_text(keys_dir: Path) -> str | None:
    """The staged next key's public line, or None when no rotation is under way."""
    path = keys_dir / NEXT_PUBLIC_KEY_NAME
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def activate_next_key(keys_dir: Path) -> Path:
    """Sign with the staged key from now on; the old pair moves to ``retired/``, whose path is returned."""
    if not (keys_dir / NEXT_PRIVATE_KEY_NAME).exists():
        raise FileNotFoundError(f"no staged key in {keys_dir}: run relais keys rotate first")
    retired = keys_dir / RETIRED_DIR_NAME / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    retired.mkdir(parents=True, mode=0o700)
    for name in (PRIVATE_KEY_NAME, PUBLIC_KEY_NAME):
        os.replace(keys_dir / name, retired / name)
    os.replace(keys_dir / NEXT_PUBLIC_KEY_NAME, keys_dir / PUBLIC_KEY_NAME)
    os.replace(keys_dir / NEXT_PRIVATE_KEY_NAME, keys_dir / PRIVATE_KEY_NAME)
    return retired


def _load_or_create(keys_dir: Path, private_name: str, public_name: str) -> Ed25519PrivateKey:
    keys_dir.mkdir(parents=True, exist_ok=True)
    private_path = keys_dir / private_name
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
    atomic_write(keys_dir / public_name, (public_key_to_text(key.public_key()) + "\n").encode())
    return key
