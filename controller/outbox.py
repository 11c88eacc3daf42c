"""Sealing what panels must show, and keeping it in SQLite until the broker has acknowledged it.

A desired state is written to the ``desired`` table in the same transaction as the message that
caused it; the MQTT link publishes whatever is not yet acknowledged, again after every reconnect.
So a crash or a broker outage between the database and the broker loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.db import transaction
from relais.wire import KIND_COMMAND, KIND_DESIRED, Command, seal

COMMAND_TTL_S = 300


def next_seq(last_seq: int, now: float) -> int:
    """Milliseconds since the epoch, or one more than the last: it grows even after a restored backup."""
    return max(last_seq + 1, int(now * 1000))


def _take_seq(db: Database, panel_id: str, now: float) -> int:
    row = db.execute("select last_seq from panels where id = ?", [panel_id]).fetchone()
    if row is None:
        raise KeyError(panel_id)
    seq = next_seq(row[0], now)
    db.execute("update panels set last_seq = ? where id = ?", [seq, panel_id])
    return seq


def stage_desired(
    db: Database,
    key: Ed25519PrivateKey,
    panel_id: str,
    content: dict[str, Any],
    *,
    item_id: str | None,
    content_hash: str | None,
    now: float,
    ttl_s: int,
) -> int:
    """Seal a new desired state for one panel into the outbox; the caller owns the transaction."""
    seq = _take_seq(db, panel_id, now)
    payload = seal(
        key,
        kind=KIND_DESIRED,
        panel_id=panel_id,
        seq=seq,
        issued_at=int(now),
        expires_at=int(now) + ttl_s,
        content=content,
    )
    db["desired"].upsert(
        {
            "panel_id": panel_id,
            "seq": seq,
            "message_id": None,
            "item_id": item_id,
            "content_hash": content_hash,
            "payload": payload,
            "issued_at": int(now),
            "expires_at": int(now) + ttl_s,
            "published_at": None,
        },
        pk="panel_id",
    )
    return seq


def seal_command(
    db: Database,
    key: Ed25519PrivateKey,
    panel_id: str,
    command: str,
    now: float,
    args: Mapping[str, Any] | None = None,
) -> tuple[int, bytes]:
    """A one-off command, with its arguments checked by the caller (``wire.Command.from_content``);
    it shares the panel's sequence so no old command can be replayed."""
    with transaction(db):
        seq = _take_seq(db, panel_id, now)
    payload = seal(
        key,
        kind=KIND_COMMAND,
        panel_id=panel_id,
        seq=seq,
        issued_at=int(now),
        expires_at=int(now) + COMMAND_TTL_S,
        content=Command(command, args or {}).to_content(),
    )
    return seq, payload


def pending(db: Database) -> list[dict[str, Any]]:
    """Desired states the broker has not acknowledged yet, oldest first."""
    return list(
        db.query(
            "select panel_id, seq, payload from desired where published_at is null order by issued_at, seq"
        )
    )


def mark_published(db: Database, panel_id: str, seq: int, now: float) -> None:
    """Only the exact state that was acknowledged: a newer one staged meanwhile stays pending."""
    with transaction(db):
        db.execute(
            "update desired set published_at = ? where panel_id = ? and seq = ?", [int(now), panel_id, seq]
        )


def expiring(db: Database, *, before: float) -> list[str]:
    """Panels whose signed schedule runs out before ``before``: they need a fresh horizon."""
    return [row[0] for row in db.execute("select panel_id from desired where expires_at < ?", [before])]
