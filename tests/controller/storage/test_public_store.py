"""What the public channels read: a place's rows through the indexes, the same items as the region's
rows would give, and a place's snapshot kept a few seconds, dropped at a write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from controller.domain.panels import register_panel
from controller.domain.public import Place, public_items
from controller.storage import public_store
from controller.storage.db import open_database, transaction
from controller.storage.public_store import (
    PlaceKind,
    PlaceSnapshots,
    places_for,
    recent_alerts,
    recent_messages,
)
from tests.support import DEMO_LED

NOW = 1_800_000_000
# Bourg-en-Bresse (Ain), Ambérieu (Ain), Les Abymes (Guadeloupe, department 971, not « 97 »).
PANELS = {"bourg": "01053", "amberieu": "01004", "abymes": "97101"}


def _message(db: Database, message_id: int, panels: list[str], **columns: Any) -> None:
    row = {
        "id": message_id,
        "text": f"Message {message_id}",
        "created_by": "mairie",
        "created_at": NOW - 7200,
        "starts_at": NOW - 3600,
        "ends_at": NOW + 3600,
        "priority": "information",
        "role": "normal",
        "paused": 0,
        "approval": "approved",
        "markup": "plain",
        "targets": json.dumps({"panels": panels, "tags": columns.pop("tags", [])}),
        **columns,
    }
    db.table("messages").insert(row)
    db.table("message_targets").insert_all({"message_id": message_id, "panel_id": panel} for panel in panels)
    db.table("audit_log").insert(
        {
            "at": NOW - 100,
            "user_name": "mairie",
            "action": "message.create",
            "object_type": "message",
            "object_id": str(message_id),
        }
    )


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(tmp_path / "relais.db")
    with transaction(database):
        for name, insee in PANELS.items():
            register_panel(database, {**DEMO_LED, "id": name, "commune_insee": insee, "commune_name": name})
        _message(database, 1, ["bourg"])
        _message(database, 2, ["amberieu"], tags=["marche"])
        _message(database, 3, ["bourg", "amberieu", "abymes"])
        _message(database, 4, ["abymes"])
        _message(database, 5, ["bourg"], ends_at=NOW - 40 * 86400)  # ended long ago: not read
        database.table("alerts").insert(
            {
                "id": 1,
                "text": "Crue",
                "targets": "{}",
                "starts_at": NOW - 60,
                "expires_at": NOW + 3600,
                "created_by": "prefecture",
                "created_at": NOW - 60,
                "approval": "approved",
            }
        )
        database.table("alert_panels").insert_all(
            {"alert_id": 1, "panel_id": panel} for panel in ("amberieu", "bourg")
        )
    return database


@pytest.mark.parametrize(
    "place",
    [
        Place("commune", "01053", "bourg"),
        Place("commune", "01004", "amberieu"),
        Place("department", "01", "Ain (01)"),
        Place("department", "971", "Guadeloupe (971)"),
        Place("tag", "marche", "Thème « marche »"),
    ],
    ids=lambda place: place.counter_key,
)
def test_a_places_rows_give_the_items_the_regions_rows_give(db: Database, place: Place) -> None:
    mine = public_items(
        recent_messages(db, NOW, place.kind, place.code),
        recent_alerts(db, NOW, place.kind, place.code),
        place,
        NOW,
    )
    everyone = public_items(recent_messages(db, NOW), recent_alerts(db, NOW), place, NOW)
    assert mine == everyone and mine
    assert "message-5" not in {item.key for item in mine}


def test_a_place_is_named_by_its_panels_alone(db: Database) -> None:
    assert places_for(db, "commune", "01053") == ({"01053": "bourg"}, set())
    assert places_for(db, "department", "01") == ({"01004": "amberieu", "01053": "bourg"}, set())
    assert places_for(db, "commune", "99999") == ({}, set())
    assert places_for(db, "tag", DEMO_LED["tags"][0]) == ({}, {DEMO_LED["tags"][0]})
    assert places_for(db, "tag", "inconnu") == ({}, set())


@pytest.mark.parametrize("kind, code", [("commune", "01053"), ("department", "01")])
def test_the_query_plan_of_a_places_page_reads_by_index(db: Database, kind: PlaceKind, code: str) -> None:
    """A region's messages, targets, panels and audit log are searched through their indexes, never
    scanned, whatever the place's page (its messages, alerts, their communes and last changes)."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    recent_messages(db, NOW, kind, code)
    recent_alerts(db, NOW, kind, code)
    places_for(db, kind, code)
    db.conn.set_trace_callback(None)
    statements = [sql for sql in statements if sql.lstrip().startswith("select")]
    assert len(statements) >= 6, statements
    for sql in statements:
        plan = " ".join(row[3] for row in db.conn.execute(f"explain query plan {sql}"))
        assert "SCAN" not in plan, (sql, plan)
    plans = " ".join(row[3] for sql in statements for row in db.conn.execute(f"explain query plan {sql}"))
    for index in (
        "idx_panels_commune_insee",
        "idx_message_targets_panel_id_message_id",
        "idx_alert_panels_panel_id_alert_id",
        "idx_audit_log_object_type_object_id_at",
    ):
        assert index in plans, plans


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cancel(db: Database, message_id: int) -> None:
    with transaction(db):
        db.execute("update messages set cancelled_at = ? where id = ?", [NOW - 1, message_id])


def test_a_snapshot_is_kept_a_few_seconds_and_dropped_by_a_write(db: Database) -> None:
    """A change the app did not make (an official feed's) shows once the snapshot is ``keep_s`` old; a
    write through the app (``forget``) shows at the next read."""
    clock = Clock()
    snapshots = PlaceSnapshots(keep_s=5, clock=clock)
    first = snapshots.rows(db, NOW, "commune", "01053")
    _cancel(db, 1)
    clock.now = 4.9
    assert snapshots.rows(db, NOW, "commune", "01053") is first
    clock.now = 5.0
    messages, _alerts = snapshots.rows(db, NOW, "commune", "01053")
    assert next(row for row in messages if row["id"] == 1)["cancelled_at"] == NOW - 1
    kept = snapshots.rows(db, NOW, "commune", "01053")
    _cancel(db, 3)
    snapshots.forget()
    messages, _alerts = snapshots.rows(db, NOW, "commune", "01053")
    assert messages is not kept[0]
    assert next(row for row in messages if row["id"] == 3)["cancelled_at"] == NOW - 1


def test_only_the_busiest_places_are_kept(db: Database) -> None:
    snapshots = PlaceSnapshots(places=2, clock=Clock())
    bourg = snapshots.rows(db, NOW, "commune", "01053")
    amberieu = snapshots.rows(db, NOW, "commune", "01004")
    assert snapshots.rows(db, NOW, "commune", "01053") is bourg
    snapshots.rows(db, NOW, "department", "01")  # Ambérieu, read the longest ago, is dropped
    assert snapshots.rows(db, NOW, "commune", "01053") is bourg
    assert snapshots.rows(db, NOW, "commune", "01004") is not amberieu


def test_rows_read_while_a_write_came_are_not_kept(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write committed between reading the messages and the alerts may be half seen: not kept."""
    snapshots = PlaceSnapshots(clock=Clock())

    def written_meanwhile(*arguments: Any) -> list[dict[str, Any]]:
        snapshots.forget()
        return recent_alerts(*arguments)

    monkeypatch.setattr(public_store, "recent_alerts", written_meanwhile)
    first = snapshots.rows(db, NOW, "commune", "01053")
    monkeypatch.undo()
    second = snapshots.rows(db, NOW, "commune", "01053")
    assert second is not first and snapshots.rows(db, NOW, "commune", "01053") is second
