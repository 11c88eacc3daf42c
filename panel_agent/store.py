"""The last good ``desired`` payload, kept on disk so a panel follows it again after a reboot, offline;
the last command's sequence number, so that a command captured on the wire is refused after a
reboot too while it is still valid; and the proof of play not sent yet.

The raw bytes are kept exactly as received, so the signature is checked again on load: a file edited
on the SD card, or corrupted by a power cut, is never shown. The expiry is not checked on load: a
panel that lost its network goes on with its last genuine schedule, whose own horizon decides when
its content stops (the fallback item then, or a blank panel).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from relais import wire
from relais.files import atomic_write


class StoredContentError(Exception):
    """A stored file is there but must not be shown (unreadable, corrupt, not genuine, not for this
    panel): the agent blanks the panel and reports a fault rather than trust it."""


class PayloadStore:
    """One file per panel in ``state_dir``, replaced atomically (write, fsync, rename)."""

    def __init__(self, state_dir: Path, *, panel_id: str, public_keys: Sequence[Ed25519PublicKey]) -> None:
        self.path = Path(state_dir) / f"{wire.check_panel_id(panel_id)}.desired.json"
        self.panel_id = panel_id
        self.public_keys = public_keys

    def save(self, payload: bytes) -> None:
        atomic_write(self.path, payload, mode=0o600)

    def load(self) -> wire.Sealed | None:
        """The stored message if it is genuine and addressed to this panel; None when nothing is stored.

        Raises StoredContentError naming the file and what is wrong with it, never anything else.
        """
        try:
            payload = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoredContentError(f"{self.path}: cannot read it ({exc})") from None
        try:
            sealed = wire.unseal(payload, self.public_keys)
            wire.check_addressed(sealed, panel_id=self.panel_id, kind=wire.KIND_DESIRED)
        except wire.WireError as exc:
            raise StoredContentError(f"{self.path}: {exc.reason}: {exc.detail}") from None
        return sealed


class CommandSeqStore:
    """The sequence number of the last command taken, one small file per panel beside its schedule,
    replaced atomically (write, fsync, rename) like it: a power cut leaves the old number or the new."""

    def __init__(self, state_dir: Path, *, panel_id: str) -> None:
        self.path = Path(state_dir) / f"{wire.check_panel_id(panel_id)}.command-seq"

    def save(self, seq: int) -> None:
        atomic_write(self.path, f"{seq}\n".encode("ascii"), mode=0o600)

    def load(self) -> int:
        """The last command's number; 0 when none was ever taken. Raises StoredContentError naming the
        file and what is wrong with it, never anything else."""
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as exc:
            raise StoredContentError(f"{self.path}: cannot read it ({exc})") from None
        if not text.strip().isdigit():
            raise StoredContentError(f"{self.path}: not a sequence number: {text[:20]!r}")
        return int(text)


class PlayTallyStore:
    """The proof of play not sent yet (``panel_agent.agent.play_hours``), one small file per panel beside
    its schedule, replaced atomically like it: a restart or a power cut loses at most what came since
    it was written."""

    def __init__(self, state_dir: Path, *, panel_id: str) -> None:
        self.path = Path(state_dir) / f"{wire.check_panel_id(panel_id)}.play-hours.json"

    def save(self, tally: bytes) -> None:
        atomic_write(self.path, tally, mode=0o600)

    def load(self) -> bytes | None:
        """The tally as written; None when none was. Raises StoredContentError naming the file if it
        cannot be read, never anything else."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoredContentError(f"{self.path}: cannot read it ({exc})") from None
