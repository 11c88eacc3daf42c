"""The last good payload on disk: kept byte for byte, re-verified on load, refused by name when damaged."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from panel_agent.store import CommandSeqStore, PayloadStore, StoredContentError
from relais import wire

PANEL = "store-panel"


def desired(key: Ed25519PrivateKey, *, panel_id: str = PANEL, seq: int = 7, expires_in: int = 3600) -> bytes:
    now = int(time.time())
    frame = wire.Frame.from_image(Image.new("RGB", (32, 16), "orange"))
    item = wire.DisplayItem("item-1", "Marché samedi", (wire.Page(frame, 5000),))
    schedule = wire.Schedule.single(item, start=now - 7200, horizon_end=now + 48 * 3600)
    return wire.seal_schedule(
        key, schedule, panel_id=panel_id, seq=seq, issued_at=now - 7200, expires_at=now + expires_in
    )


@pytest.fixture
def store(tmp_path: Path, signing_key: Ed25519PrivateKey) -> PayloadStore:
    return PayloadStore(tmp_path / "state", panel_id=PANEL, public_keys=[signing_key.public_key()])


def test_nothing_stored_gives_none(store: PayloadStore) -> None:
    assert store.load() is None


def test_round_trip_keeps_the_exact_bytes_even_once_expired(
    store: PayloadStore, signing_key: Ed25519PrivateKey
) -> None:
    payload = desired(signing_key, expires_in=-60)
    store.save(payload)
    assert store.path.read_bytes() == payload
    assert [p.name for p in store.path.parent.iterdir()] == [store.path.name]  # no temporary file left
    loaded = store.load()
    assert loaded is not None
    assert loaded.raw == payload
    assert loaded.seq == 7
    assert [item.item_id for item in loaded.desired_schedule().items] == ["item-1"]


def tampered(payload: bytes) -> bytes:
    return payload.replace(b'"seq":7', b'"seq":8')


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda payload, other_key: b"\x00\x00garbage after a power cut", "malformed"),
        # Cut short, it is not what was signed.
        (lambda payload, other_key: payload[: len(payload) // 2], "bad-signature"),
        (lambda payload, other_key: tampered(payload), "bad-signature"),
        (lambda payload, other_key: desired(other_key), "bad-signature"),
    ],
)
def test_a_corrupt_or_tampered_file_is_refused_naming_the_file_and_the_reason(
    store: PayloadStore,
    signing_key: Ed25519PrivateKey,
    damage: Callable[[bytes, Ed25519PrivateKey], bytes],
    reason: str,
) -> None:
    store.save(damage(desired(signing_key), Ed25519PrivateKey.generate()))
    with pytest.raises(StoredContentError, match=reason) as refused:
        store.load()
    assert str(store.path) in str(refused.value)


def test_content_for_another_panel_is_refused(store: PayloadStore, signing_key: Ed25519PrivateKey) -> None:
    store.save(desired(signing_key, panel_id="other-panel"))
    with pytest.raises(StoredContentError, match="wrong-panel"):
        store.load()


def test_an_unreadable_path_is_refused_not_crashed_on(store: PayloadStore) -> None:
    store.path.mkdir(parents=True)  # a folder where the file should be: reading it fails
    with pytest.raises(StoredContentError, match="cannot read it") as refused:
        store.load()
    assert str(store.path) in str(refused.value)


def test_the_last_command_number_is_kept_private_and_a_damaged_one_refused_by_name(tmp_path: Path) -> None:
    seqs = CommandSeqStore(tmp_path / "state", panel_id=PANEL)
    assert seqs.load() == 0  # no command ever taken
    seqs.save(41)
    seqs.save(42)
    assert seqs.load() == 42 and (seqs.path.stat().st_mode & 0o777) == 0o600
    seqs.path.write_bytes(b"4\x002")
    with pytest.raises(StoredContentError, match=r"store-panel\.command-seq: not a sequence number"):
        seqs.load()
