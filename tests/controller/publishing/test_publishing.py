"""Sealing many panels' schedules: work shared between panels with identical inputs, one batch of rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.domain.panels import register_panel
from controller.publishing import outbox
from controller.publishing import schedules as publishing
from controller.publishing.schedules import build_schedules, republish
from controller.storage.db import open_database, transaction
from relais import wire
from tests.support import DEMO_LED

NOW = 1_800_000_000.0
TTL = 48 * 3600
# Two twins (same profile, same commune, so the same fallback), and one elsewhere.
TWINS = ("bourg-a", "bourg-b")
OTHER = "amberieu-a"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(tmp_path / "relais.db")
    for panel_id in TWINS:
        register_panel(database, {**DEMO_LED, "id": panel_id, "name": panel_id})
    register_panel(
        database,
        {
            **DEMO_LED,
            "id": OTHER,
            "name": OTHER,
            "commune_insee": "01004",
            "commune_name": "Ambérieu-en-Bugey",
        },
    )
    return database


def blank_content() -> dict[str, Any]:
    return {"schedule": wire.Schedule.single(None, start=int(NOW), horizon_end=int(NOW) + TTL).to_json()}


def test_panels_with_identical_inputs_share_one_schedule(db: Database) -> None:
    planned = build_schedules(db, NOW)
    assert planned[TWINS[0]].schedule is planned[TWINS[1]].schedule
    assert planned[OTHER].schedule != planned[TWINS[0]].schedule  # another commune's name as fallback


def test_each_distinct_schedule_is_encoded_once_and_sealed_for_each_panel(
    db: Database, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    encodings: list[wire.Schedule] = []
    to_json = wire.Schedule.to_json

    def counting(schedule: wire.Schedule) -> dict[str, Any]:
        encodings.append(schedule)
        return to_json(schedule)

    monkeypatch.setattr(wire.Schedule, "to_json", counting)
    seqs = republish(db, signing_key, now=NOW)
    assert len(encodings) == 2
    sealed = {
        row["panel_id"]: wire.unseal(row["payload"], signing_key.public_key())
        for row in db.query("select panel_id, payload from desired")
    }
    assert {panel_id: message.seq for panel_id, message in sealed.items()} == seqs
    assert all(message.panel_id == panel_id for panel_id, message in sealed.items())
    assert sealed[TWINS[0]].content == sealed[TWINS[1]].content
    assert sealed[TWINS[0]].content != sealed[OTHER].content


def test_a_batch_takes_a_fresh_sequence_number_for_each_panel(
    db: Database, signing_key: Ed25519PrivateKey
) -> None:
    content = blank_content()
    states = [outbox.Desired(panel_id, content, None) for panel_id in (*TWINS, OTHER)]
    with transaction(db):
        first = outbox.stage_desired(db, signing_key, states, now=NOW, ttl_s=TTL)
    with transaction(db):
        second = outbox.stage_desired(db, signing_key, states, now=NOW, ttl_s=TTL)  # same millisecond
    assert first == dict.fromkeys(first, int(NOW * 1000))
    assert second == dict.fromkeys(first, int(NOW * 1000) + 1)
    assert dict(db.execute("select id, last_seq from panels").fetchall()) == second
    assert {row["panel_id"]: row["seq"] for row in outbox.pending(db)} == second


def test_a_batch_naming_an_unknown_panel_stages_nothing(db: Database, signing_key: Ed25519PrivateKey) -> None:
    content = blank_content()
    states = [outbox.Desired(TWINS[0], content, None), outbox.Desired("nowhere", content, None)]
    with pytest.raises(KeyError, match="nowhere"), transaction(db):
        outbox.stage_desired(db, signing_key, states, now=NOW, ttl_s=TTL)
    assert outbox.pending(db) == []


def test_schedules_are_built_from_what_the_write_transaction_sees(
    db: Database, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read before taking the write lock, a schedule could miss a message another writer was committing,
    and be sealed after it with a newer sequence number: panels would follow the stale one."""
    build = publishing.build_schedules
    locked: list[bool] = []

    def checking(database: Database, now: float, panel_ids: Any = None) -> dict[str, publishing.Planned]:
        locked.append(database.conn.in_transaction)
        return build(database, now, panel_ids)

    monkeypatch.setattr(publishing, "build_schedules", checking)
    republish(db, signing_key, now=NOW)
    assert locked == [True]
