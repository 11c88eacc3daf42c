"""Sealing what panels must show, and keeping it in SQLite until the broker has acknowledged it.

A desired state is written to the ``desired`` table in the same transaction as the message that
caused it; the MQTT link publishes whatever is not yet acknowledged, again after every reconnect.
So a crash or a broker outage between the database and the broker loses nothing.

Payloads leave only once the transaction that sealed them has committed (the link reads committed
rows, and takes the payloads of a commit in memory, handed over once it has committed:
``after_commit``). Publishing each one as it is signed would overlap a department's signing with its fan-out, but
a published payload is retained by the broker and followed by the panel at once, while the
transaction could still roll back (a dry run, a check after the sealing, the commit itself failing, a
crash): the panel would then show, until its next schedule, content the database does not know and
nobody can cancel, such as an alert that was never recorded. Committing in chunks, each published
after its own commit, would be safe only with a durable list of the panels still to seal (sealed
again after a crash) and a check that nothing changed between chunks; not done, since sealing a
whole department in one transaction takes about 0.2 s.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.storage.db import after_commit, pairs_for_ids, transaction
from relais.wire import KIND_COMMAND, KIND_DESIRED, Command, seal, seal_groups

COMMAND_TTL_S = 300
# A flush reads what it sends this many at a time: few statements, a few hundred KB held at most.
PAYLOADS_PER_QUERY = 100
# Committed payloads waiting in memory for a flush, per database: a region's fan-out is 10,000 of 2.7 KB.
HANDED_BYTES = 64 * 1024 * 1024


class _Handed:
    """Payloads just committed, by database and panel, until a flush takes them.

    A flush would otherwise read back from SQLite, while the fleet's reports are being written, the
    megabytes a fan-out has just sealed (a tenth to a third of a department alert's API call). Only
    committed payloads are handed over, and a (panel, seq) is committed once: what a flush finds here
    is what the outbox holds. One per panel, its newest (at most a fleet's schedules), and bounded by
    bytes, oldest dropped first: a flush reads from the outbox what it does not find here.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_database: dict[str, OrderedDict[str, tuple[int, bytes]]] = {}
        self.size = 0

    def put(self, database: str, payloads: list[tuple[tuple[str, int], bytes]]) -> None:
        with self.lock:
            held = self.by_database.setdefault(database, OrderedDict())
            for (panel_id, seq), payload in payloads:
                replaced = held.pop(panel_id, None)
                self.size += len(payload) - (0 if replaced is None else len(replaced[1]))
                held[panel_id] = (seq, payload)
            while self.size > HANDED_BYTES:
                oldest = next(keys for keys in self.by_database.values() if keys)
                self.size -= len(oldest.popitem(last=False)[1][1])

    def take(self, database: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
        with self.lock:
            held = self.by_database.get(database)
            found: dict[tuple[str, int], bytes] = {}
            for panel_id, seq in keys if held else ():
                if held is not None and held.get(panel_id, (None,))[0] == seq:
                    found[(panel_id, seq)] = held.pop(panel_id)[1]
                    self.size -= len(found[(panel_id, seq)])
            return found


_handed = _Handed()


def _database_name(db: Database) -> str:
    """The file behind a connection, as SQLite resolved it: the same for every connection to it."""
    return str(db.conn.execute("pragma database_list").fetchone()[2])


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


@dataclass(frozen=True)
class Desired:
    """What one panel must show, before it is sealed: ``content`` may be shared by many panels."""

    panel_id: str
    content: dict[str, Any]
    item_id: str | None


_DESIRED_UPSERT = """
insert into desired (panel_id, seq, item_id, payload, issued_at, expires_at, published_at)
values (?, ?, ?, ?, ?, ?, null)
on conflict (panel_id) do update set seq = excluded.seq, item_id = excluded.item_id, payload = excluded.payload,
    issued_at = excluded.issued_at, expires_at = excluded.expires_at, published_at = null
"""


def stage_desired(
    db: Database, key: Ed25519PrivateKey, states: Sequence[Desired], *, now: float, ttl_s: int
) -> dict[str, int]:
    """Seal a new desired state for each panel into the outbox; their new sequence numbers by panel.

    The caller owns the transaction. Plain SQL, a few statements for a whole department: sqlite-utils'
    upsert reads the table's schema at every call, which cost more than the signing itself.
    """
    last = pairs_for_ids(
        db, "select id, last_seq from panels where id in ({marks})", [state.panel_id for state in states]
    )
    missing = [state.panel_id for state in states if state.panel_id not in last]
    if missing:
        raise KeyError(missing[0])
    issued_at, expires_at = int(now), int(now) + ttl_s
    seqs: dict[str, int] = {}
    # Panels that share a content (the same object) are sealed together: it is encoded once.
    sharing: dict[int, list[Desired]] = {}
    for state in states:
        seqs[state.panel_id] = last[state.panel_id] = next_seq(last[state.panel_id], now)
        sharing.setdefault(id(state.content), []).append(state)
    if len(seqs) != len(states):
        raise ValueError("one desired state per panel")
    groups = list(sharing.values())
    sealed = seal_groups(
        key,
        kind=KIND_DESIRED,
        issued_at=issued_at,
        expires_at=expires_at,
        groups=[
            (group[0].content, [(state.panel_id, seqs[state.panel_id]) for state in group])
            for group in groups
        ],
    )
    rows = [
        (state.panel_id, seqs[state.panel_id], state.item_id, payload, issued_at, expires_at)
        for group, payloads in zip(groups, sealed, strict=True)
        for state, payload in zip(group, payloads, strict=True)
    ]
    db.conn.executemany("update panels set last_seq = ? where id = ?", [(s, p) for p, s in seqs.items()])
    db.conn.executemany(_DESIRED_UPSERT, rows)
    handed = [((panel_id, seq), payload) for panel_id, seq, _item, payload, _issued, _expires in rows]
    database = _database_name(db)
    after_commit(db, lambda: _handed.put(database, handed))
    return seqs


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
        expires_at=command_expires_at(now),
        content=Command(command, args or {}).to_content(),
    )
    return seq, payload


def command_expires_at(now: float) -> int:
    """When a command sealed at ``now`` runs out: the panel refuses it after, an MQTT 5 broker drops it."""
    return int(now) + COMMAND_TTL_S


def pending(db: Database, limit: int | None = None) -> list[dict[str, Any]]:
    """Desired states the broker has not acknowledged yet, oldest first (the ``limit`` oldest), with when
    each runs out: not the payload (``payload``), which a flush reads only for what it sends."""
    query = "select panel_id, seq, expires_at from desired where published_at is null order by issued_at, seq"
    return list(db.query(query if limit is None else f"{query} limit {int(limit)}"))


def acknowledged(db: Database, now: float, panel_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Desired states the broker has acknowledged and that still run, of these panels or of all: what a
    broker that may have lost or rolled back its retained messages must be handed again. Each is sent
    as it was sealed (same sequence number): a panel that already follows it ignores it."""
    query = "select panel_id, seq, expires_at from desired where published_at is not null and expires_at > ?"
    if panel_ids is None:
        return list(db.query(f"{query} order by panel_id", [int(now)]))
    found: list[dict[str, Any]] = []
    for start in range(0, len(panel_ids), PAYLOADS_PER_QUERY):
        chunk = panel_ids[start : start + PAYLOADS_PER_QUERY]
        marks = ",".join("?" * len(chunk))
        found += db.query(f"{query} and panel_id in ({marks}) order by panel_id", [int(now), *chunk])
    return found


def payloads(db: Database, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
    """The sealed payloads of those exact states, by (panel, seq); a state a newer one replaced is absent.

    Those a commit handed over in memory first; the rest read:
    Looked up by panel, the primary key, and the sequence number checked here: SQLite answers a row
    value ``(panel_id, seq) in (values ...)`` by scanning the whole outbox, a department's payloads
    read again for each chunk.
    """
    found = _handed.take(_database_name(db), keys)
    keys = [key for key in keys if key not in found]
    for start in range(0, len(keys), PAYLOADS_PER_QUERY):
        wanted = set(keys[start : start + PAYLOADS_PER_QUERY])
        panel_ids = sorted({panel_id for panel_id, _ in wanted})
        rows = db.conn.execute(
            f"select panel_id, seq, payload from desired where panel_id in ({','.join('?' * len(panel_ids))})",
            panel_ids,
        )
        found.update(
            ((panel_id, seq), payload) for panel_id, seq, payload in rows if (panel_id, seq) in wanted
        )
    return found


def mark_published(db: Database, acknowledged: Sequence[tuple[str, int]], now: float) -> None:
    """The broker acknowledged these (panel, seq): only that exact state of each panel is marked, a
    newer one staged meanwhile stays pending. The caller owns the transaction."""
    db.conn.executemany(
        "update desired set published_at = ? where panel_id = ? and seq = ?",
        [(int(now), panel_id, seq) for panel_id, seq in acknowledged],
    )


def expiring(db: Database, *, before: float) -> list[str]:
    """Panels whose signed schedule runs out before ``before``: they need a fresh horizon."""
    return [row[0] for row in db.execute("select panel_id from desired where expires_at < ?", [before])]
