"""A database file opened at a given version of the schema."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from controller.storage.db import MIGRATIONS, connect, transaction


def open_database_at(path: Path, last: str) -> Database:
    """A database stopped at an old migration, as an older Relais left it."""
    db = connect(path)
    db["_migrations"].create({"name": str, "applied_at": int}, pk="name")
    for name, migration in MIGRATIONS:
        with transaction(db):
            migration(db)
            db["_migrations"].insert({"name": name, "applied_at": 0})
        if name == last:
            return db
    raise AssertionError(f"no migration {last}")
