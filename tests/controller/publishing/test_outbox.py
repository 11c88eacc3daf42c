"""The outbox: sequence numbers, acknowledgement of the exact state sent, re-signing before expiry."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.domain.panels import register_panel
from controller.publishing import outbox
from controller.storage.db import open_database, transaction
from relais import wire
from tests.support import DEMO_LED

NOW = 1_800_000_000.0
TTL = 48 * 3600


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(tmp_path / "relais.db")
    register_panel(database, DEMO_LED)
    return database


def blank(db: Database, key: Ed25519PrivateKey, now: float, horizon_s: int = TTL) -> int:
    content = {
        "schedule": wire.Schedule.single(None, start=int(now), horizon_end=int(now) + horizon_s).to_json()
    }
    with transaction(db):
        state = outbox.Desired("bourg-entree-nord", content, item_id=None)
        return outbox.stage_desired(db, key, [state], now=now, ttl_s=TTL)["bourg-entree-nord"]


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
    outbox.mark_published(db, [("bourg-entree-nord", first)], NOW)
    assert [row["seq"] for row in outbox.pending(db)] == [second]
    outbox.mark_published(db, [("bourg-entree-nord", second)], NOW)
    assert outbox.pending(db) == []


def test_a_flush_reads_only_the_exact_states_still_desired(
    db: Database, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "PAYLOADS_PER_QUERY", 1)  # one statement per key: the chunks joined
    first = blank(db, signing_key, NOW)
    second = blank(db, signing_key, NOW)
    keys = [("bourg-entree-nord", first), ("bourg-entree-nord", second), ("nowhere", second)]
    found = outbox.payloads(db, keys)
    assert list(found) == [("bourg-entree-nord", second)]
    assert wire.unseal(found["bourg-entree-nord", second], [signing_key.public_key()]).seq == second
    assert outbox.payloads(db, list(reversed(keys))) == found


def test_a_flush_finds_payloads_by_panel_without_reading_the_whole_outbox(
    db: Database, signing_key: Ed25519PrivateKey
) -> None:
    seq = blank(db, signing_key, NOW)
    outbox.payloads(db, [("bourg-entree-nord", seq)])  # what the commit handed over in memory, taken
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    # Several keys, as a flush asks: SQLite answers a single one by the index whatever the query.
    keys = [("bourg-entree-nord", seq), ("nowhere", seq), ("elsewhere", seq)]
    assert list(outbox.payloads(db, keys)) == [("bourg-entree-nord", seq)]
    db.conn.set_trace_callback(None)
    (query,) = [sql for sql in statements if "payload" in sql]
    plan = " ".join(row[3] for row in db.conn.execute(f"explain query plan {query}"))
    assert "SCAN desired" not in plan, plan


def test_a_flush_takes_what_a_commit_sealed_from_memory_once(
    db: Database, signing_key: Ed25519PrivateKey
) -> None:
    seq = blank(db, signing_key, NOW)
    key = ("bourg-entree-nord", seq)
    db.execute("update desired set payload = ? where panel_id = ?", [b"read back", key[0]])
    db.conn.commit()
    assert wire.unseal(outbox.payloads(db, [key])[key], [signing_key.public_key()]).seq == seq
    assert outbox.payloads(db, [key]) == {key: b"read back"}  # taken: the outbox serves it again


class RolledBack(Exception):
    pass


def test_what_a_rollback_undid_is_never_handed_to_a_flush(
    db: Database, signing_key: Ed25519PrivateKey
) -> None:
    """The rolled back state's number is free again: only the payload committed under it may leave."""
    with pytest.raises(RolledBack), transaction(db):
        rolled_back = blank(db, signing_key, NOW, horizon_s=3600)
        raise RolledBack
    with transaction(db):
        with pytest.raises(RolledBack), transaction(db):  # a savepoint: the transaction goes on
            blank(db, signing_key, NOW, horizon_s=7200)
            raise RolledBack
        kept = blank(db, signing_key, NOW)
    assert kept == rolled_back
    (payload,) = outbox.payloads(db, [("bourg-entree-nord", kept)]).values()
    schedule = wire.unseal(payload, [signing_key.public_key()]).content["schedule"]
    assert wire.Schedule.from_json(schedule).horizon_end == int(NOW) + TTL


def test_panels_whose_schedule_runs_out_are_listed(db: Database, signing_key: Ed25519PrivateKey) -> None:
    blank(db, signing_key, NOW)
    assert outbox.expiring(db, before=NOW + TTL / 2) == []
    assert outbox.expiring(db, before=NOW + TTL + 1) == ["bourg-entree-nord"]


def test_commands_share_the_panel_sequence(db: Database, signing_key: Ed25519PrivateKey) -> None:
    desired = blank(db, signing_key, NOW)
    seq, payload = outbox.seal_command(db, signing_key, "bourg-entree-nord", "refresh", NOW)
    assert seq > desired
    sealed = wire.unseal(payload, signing_key.public_key())
    assert (sealed.kind, sealed.content) == (wire.KIND_COMMAND, {"command": "refresh"})
