"""Migrations are recorded in the database and applied once."""

from __future__ import annotations

from pathlib import Path

from controller.db import MIGRATIONS, migrate, open_database


def test_a_new_database_gets_every_migration_recorded(tmp_path: Path) -> None:
    db = open_database(tmp_path / "relais.db")
    assert [row["name"] for row in db["_migrations"].rows] == [name for name, _ in MIGRATIONS]
    assert {
        "panels",
        "messages",
        "message_targets",
        "desired",
        "panel_status",
        "panel_events",
        "api_tokens",
    } <= set(db.table_names())
    assert db.journal_mode == "wal"


def test_migrating_again_changes_nothing(tmp_path: Path) -> None:
    db = open_database(tmp_path / "relais.db")
    db["panels"].insert(
        {
            "id": "p1",
            "name": "Panneau",
            "commune_insee": "01053",
            "profile": "led-red-96x16",
            "kind": "led",
            "width": 96,
            "height": 16,
            "colour_mode": "mono",
            "created_at": 0,
        }
    )
    db.conn.commit()
    db.close()
    reopened = open_database(tmp_path / "relais.db")
    assert migrate(reopened) == []
    assert reopened["panels"].count == 1
