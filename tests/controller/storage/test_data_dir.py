"""The data folder is its user's only, however Relais is started: 0700, with the database and the
signing key 0600, and a folder found open to others is tightened with a warning."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from controller import create_app, shutdown_app
from tests.support import REPO

REPO = REPO


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def relais(*argv: str) -> subprocess.CompletedProcess[str]:
    """The ``relais`` command as an operator runs it outside the systemd units: a usual umask, 022."""
    return subprocess.run(
        [sys.executable, "-m", "programs.cli", *argv],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),
        check=False,
    )


def test_commands_make_a_private_data_folder_with_private_files(tmp_path: Path) -> None:
    data = tmp_path / "relais-data"
    added = relais("panel", "add", "--data-dir", str(data), "--id", "gex-led", "--name", "Gex",
                   "--commune-insee", "01173", "--profile", "led-red-96x16")  # fmt: skip
    assert added.returncode == 0, added.stderr
    config = relais("panel", "agent-config", "--data-dir", str(data), "--id", "gex-led",
                    "--broker-url", "mqtt://127.0.0.1:1883")  # fmt: skip
    assert config.returncode == 0, config.stderr
    assert mode(data) == 0o700
    assert mode(data / "relais.db") == 0o600
    assert mode(data / "keys" / "controller-signing.key") == 0o600
    assert "open to other users" not in added.stderr + config.stderr  # made private, not tightened after


def test_a_data_folder_left_open_is_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "relais-data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    old = sqlite3.connect(data / "relais.db")  # as an older Relais left it: the umask's 0644
    old.execute("pragma journal_mode = wal")
    old.close()
    (data / "relais.db").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="controller.storage.db"):
        app = create_app({"DATA_DIR": data, "TESTING": True})
    shutdown_app(app)
    assert (mode(data), mode(data / "relais.db")) == (0o700, 0o600)
    assert [r.getMessage() for r in caplog.records if r.name == "controller.storage.db"] == [
        f"the data folder {data} was open to other users (mode 755): now 700",
        f"the database file {data / 'relais.db'} was open to other users (mode 644): now 600",
    ]
