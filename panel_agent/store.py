"""The last good ``desired`` payload, kept on disk so a panel follows it again after a reboot, offline.

The raw bytes are kept exactly as received, so the signature is checked again on load: a file edited
on the SD card, or corrupted by a power cut, is never shown. The expiry is not checked on load: a
panel that lost its network goes on with its last genuine schedule, whose own horizon decides when
its content stops (the fallback item then, or a blank panel).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from relais import wire
from relais.files import atomic_write

log = logging.getLogger(__name__)


class PayloadStore:
    """One file per panel in ``state_dir``, replaced atomically (write, fsync, rename)."""

    def __init__(self, state_dir: Path, *, panel_id: str, public_keys: Sequence[Ed25519PublicKey]) -> None:
        self.path = Path(state_dir) / f"{wire.check_panel_id(panel_id)}.desired.json"
        self.panel_id = panel_id
        self.public_keys = public_keys

    def save(self, payload: bytes) -> None:
        atomic_write(self.path, payload, mode=0o600)

    def load(self) -> wire.Sealed | None:
        """The stored message if it is genuine and addressed to this panel; None otherwise, never a crash."""
        try:
            payload = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("ignoring stored content %s: cannot read it (%s)", self.path, exc)
            return None
        try:
            sealed = wire.unseal(payload, self.public_keys)
            wire.check_addressed(sealed, panel_id=self.panel_id, kind=wire.KIND_DESIRED)
        except wire.WireError as exc:
            log.warning("ignoring stored content %s: %s: %s", self.path, exc.reason, exc.detail)
            return None
        return sealed
