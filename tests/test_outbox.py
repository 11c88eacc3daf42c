"""The outbox: sequence numbers, acknowledgement of the exact state sent, re-signing before expiry."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller import outbox
from controller.db import open_database
from controller.panels import register_panel
from relais import wire
from tests.helpers import DEMO_LED

NOW = 1_800_000_000.0
TTL = 7 * 86400


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(tmp_path / "relais.db")
    register_panel(database, DEMO_LED)
    return database


def blank(db: Database, key: Ed25519PrivateKey, now: float) -> int:
    with db.atomic():
        return outbox.stage_desired(db, key, "bourg-entree-nord", None, message_id=None, now=now, ttl_s=TTL)


@pytest.mark.parametrize(
    ("last", "now", "expected"), [(0, NOW, int(NOW * 1000)), (int(NOW * 1000) + 5, NOW, int(NOW * 1000) + 6)]
)
def test_next_seq_grows_even_when_the_clock_goes_back(last: int, now: float, expected: int) -> None:
    assert outbox.next_seq(last, now) == expected


def test_only_the_state_acknowledged_is_marked_published(
    db: Database, signing_key: Ed25519PrivateKey
) -> None:
    first = blank(db, signing_key, NOW)
    second = blank(db, signing_key, NOW)  # same millisecond: still a newer number
    assert second == first + 1
    outbox.mark_published(db, "bourg-entree-nord", first, NOW)
    assert [row["seq"] for row in outbox.pending(db)] == [second]
    outbox.mark_published(db, "bourg-entree-nord", second, NOW)
    assert outbox.pending(db) == []


def test_states_near_expiry_are_resigned_with_a_newer_number(
    db: Database, signing_key: Ed25519PrivateKey
) -> None:
    old_seq = blank(db, signing_key, NOW)
    outbox.mark_published(db, "bourg-entree-nord", old_seq, NOW)
    assert outbox.reseal_expiring(db, signing_key, now=NOW + 3600, ttl_s=TTL, margin_s=TTL // 2) == []
    later = NOW + TTL - 3600
    assert outbox.reseal_expiring(db, signing_key, now=later, ttl_s=TTL, margin_s=TTL // 2) == [
        "bourg-entree-nord"
    ]
    row = next(iter(outbox.pending(db)))
    sealed = wire.unseal(row["payload"], signing_key.public_key())
    assert sealed.seq > old_seq
    wire.check_fresh(
        sealed, panel_id="bourg-entree-nord", kind=wire.KIND_DESIRED, now=later + TTL - 1, last_seq=old_seq
    )


def test_commands_share_the_panel_sequence(db: Database, signing_key: Ed25519PrivateKey) -> None:
    desired = blank(db, signing_key, NOW)
    seq, payload = outbox.seal_command(db, signing_key, "bourg-entree-nord", "refresh", NOW)
    assert seq > desired
    sealed = wire.unseal(payload, signing_key.public_key())
    assert (sealed.kind, sealed.content) == (wire.KIND_COMMAND, {"command": "refresh"})
