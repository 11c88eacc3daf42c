"""A consistent copy of what a controller cannot lose, taken while it runs.

The database is copied with SQLite's online backup API (a plain ``cp`` of a WAL database can copy a
torn state); the signing keys and the broker's users, ACL and certificates are copied beside it with
their modes. The broker's own persistence file and PID file are left out: they are rebuilt on start.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

SKIPPED = shutil.ignore_patterns("mosquitto.db", "*.pid", "*.log")


def backup(data_dir: Path, out_dir: Path, now: float | None = None) -> Path:
    """Write ``out_dir/relais-<UTC time>/`` and return it; it is readable by its owner only."""
    database = data_dir / "relais.db"
    if not database.exists():
        raise FileNotFoundError(f"no database at {database}: is --data-dir the controller's data folder?")
    target = out_dir / time.strftime("relais-%Y%m%dT%H%M%SZ", time.gmtime(now))
    target.mkdir(parents=True, mode=0o700)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target / "relais.db")
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    (target / "relais.db").chmod(0o600)
    for folder in ("keys", "broker"):
        if (data_dir / folder).is_dir():
            shutil.copytree(data_dir / folder, target / folder, ignore=SKIPPED)
    return target
