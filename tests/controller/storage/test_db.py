"""Migrations are recorded in the database and applied once; what waits for a commit runs after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.storage.db import MIGRATIONS, after_commit, held_commit, migrate, open_database, transaction
from tests.support.database import open_database_at


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


def test_panels_of_the_first_schema_get_their_profile(tmp_path: Path) -> None:
    db = open_database_at(tmp_path / "old.db", "0001_initial")
    db["panels"].insert(
        {
            "id": "p1",
            "name": "Panneau",
            "commune_insee": "01053",
            "kind": "led",
            "width": 192,
            "height": 64,
            "colour_mode": "amber",
            "created_at": 0,
        }
    )
    db.conn.commit()
    assert migrate(db) == [name for name, _migration in MIGRATIONS[1:]]
    assert db["panels"].get("p1")["profile"] == "led-amber-192x64"


def test_screenshots_kept_in_panel_status_move_to_one_copy_per_picture(tmp_path: Path) -> None:
    db = open_database_at(tmp_path / "old.db", "0010_desired_unread_columns")
    panel = {
        "name": "Panneau",
        "commune_insee": "01053",
        "profile": "led-amber-192x64",
        "kind": "led",
        "width": 192,
        "height": 64,
        "colour_mode": "mono",
        "created_at": 0,
    }
    for panel_id, picture in (("p1", b"\x89PNG a"), ("p2", b"\x89PNG a"), ("p3", b"\x89PNG b"), ("p4", None)):
        db["panels"].insert({"id": panel_id, **panel})
        db["panel_status"].insert({"panel_id": panel_id, "online": 1, "screenshot": picture})
    db.conn.commit()
    assert migrate(db)[0] == "0011_screenshots_by_content"
    assert sorted(row[0] for row in db.execute("select png from screenshots")) == [b"\x89PNG a", b"\x89PNG b"]
    shown = dict(
        db.execute(
            "select panel_id, png from panel_status left join screenshots on hash = screenshot_hash"
        ).fetchall()
    )
    assert shown == {"p1": b"\x89PNG a", "p2": b"\x89PNG a", "p3": b"\x89PNG b", "p4": None}


class Undone(Exception):
    pass


def test_what_runs_after_a_commit_runs_only_for_what_was_committed(tmp_path: Path) -> None:
    db = open_database(tmp_path / "relais.db")
    ran: list[str] = []
    assert not after_commit(db, lambda: ran.append("outside"))  # no transaction: nothing to wait for
    with pytest.raises(Undone), transaction(db):
        after_commit(db, lambda: ran.append("rolled back"))
        raise Undone
    with transaction(db):
        after_commit(db, lambda: ran.append("kept"))
        with pytest.raises(Undone), transaction(db):
            after_commit(db, lambda: ran.append("savepoint rolled back"))
            raise Undone
        assert ran == []  # not before the commit
    with held_commit(db):
        with transaction(db):
            after_commit(db, lambda: ran.append("held"))
        assert ran == ["kept"]  # the held transaction has not committed yet
    assert ran == ["kept", "held"]
