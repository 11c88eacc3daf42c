"""``relais backup``: a copy that opens as a working controller database, keys included."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import create_app, shutdown_app
from controller.domain.panels import register_panel
from controller.publishing.queueing import queue_message
from controller.storage.db import open_database
from controller.web.context import get_db, signing_key
from programs.cli import main
from relais.keys import PRIVATE_KEY_NAME
from tests.support import DEMO_LED


def test_a_backup_taken_while_the_controller_runs_restores_its_messages_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    app = create_app({"DATA_DIR": data_dir, "TESTING": True})
    try:
        with app.app_context():
            register_panel(get_db(), DEMO_LED)
            queue_message(
                get_db(),
                signing_key(),
                {"text": "Fête de la soupe", "panels": [DEMO_LED["id"]]},
                created_by="t",
            )
            # The app still holds its connection open, as a running controller would.
            assert main(["backup", "--data-dir", str(data_dir), "--out", str(tmp_path / "backups")]) == 0
    finally:
        shutdown_app(app)
    folder = Path(capsys.readouterr().out.strip().removeprefix("backup written to "))
    assert folder.parent == tmp_path / "backups"
    assert folder.stat().st_mode & 0o777 == 0o700
    restored = open_database(folder / "relais.db")
    assert [row["text"] for row in restored["messages"].rows] == ["Fête de la soupe"]
    key = folder / "keys" / PRIVATE_KEY_NAME
    assert key.read_bytes() == (data_dir / "keys" / PRIVATE_KEY_NAME).read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600


def test_a_backup_of_a_folder_without_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "--data-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "b")]) == 2
    assert "no database at" in capsys.readouterr().err
