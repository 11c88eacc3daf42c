"""``relais fleet-sim`` on the production broker: each simulated panel with its own user, over TLS.

The whole command-line path, as a prefecture would try it before real panels: ``relais broker --tls``,
``relais fleet-sim`` on its data folder, ``relais serve``; every process ended by its own PID, every
wait bounded.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from relais.brokers.mosquitto import free_loopback_port, port_open
from relais.brokers.security import CONTROLLER_USER, CREDENTIALS_NAME, PID_FILE_NAME, panel_username
from relais.signals import end_processes
from tests.support import wait_for

pytestmark = pytest.mark.e2e

PANELS = 4


@contextmanager
def relais(*argv: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``relais <argv>`` in the background until the block ends, then SIGTERM (SIGKILL if stuck)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "programs.cli", *argv], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        end_processes([process], 20)


def up_to_date(database: Path) -> int:
    """Panels online whose applied schedule is the one the controller sealed last."""
    if not database.exists():
        return 0
    with sqlite3.connect(database) as db:
        try:
            return db.execute(
                "select count(*) from panel_status s join desired d using (panel_id) "
                "where s.online = 1 and s.applied_seq >= d.seq"
            ).fetchone()[0]
        except sqlite3.OperationalError:  # the tables are being made
            return 0


@pytest.mark.parametrize("light", [False, True], ids=["agents", "light"])
def test_simulated_panels_join_the_locked_down_broker_each_with_its_own_user(
    tmp_path: Path, light: bool
) -> None:
    """Real agents, or ``--light`` panels, which keep each panel's own user and ACL too."""
    data = tmp_path / "data"
    port = free_loopback_port()
    url = f"mqtts://127.0.0.1:{port}"
    with ExitStack() as stack:
        broker = stack.enter_context(
            relais(
                "broker", "--tls", "--data-dir", str(data), "--port", str(port), "--listen", "127.0.0.1",
                log=tmp_path / "broker.log",
            )
        )  # fmt: skip
        wait_for(lambda: port_open(port), "relais broker --tls listening", 15)
        pid_file = data / "broker" / PID_FILE_NAME
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() == str(broker.pid), "PID file")
        fleet_log = tmp_path / "fleet.log"
        fleet = stack.enter_context(
            relais(
                "fleet-sim",
                "--data-dir",
                str(data),
                "--panels",
                str(PANELS),
                "--broker-url",
                url,
                *(["--light"] if light else []),
                log=fleet_log,
            )
        )
        wait_for(
            lambda: "each with its own user" in fleet_log.read_text(encoding="utf-8"), "fleet-sim started", 30
        )
        stack.enter_context(
            relais(
                "serve", "--data-dir", str(data), "--broker-url", url, "--http-port", str(free_loopback_port()),
                log=tmp_path / "serve.log",
            )
        )  # fmt: skip
        wait_for(
            lambda: up_to_date(data / "relais.db") == PANELS, f"{PANELS} panels online and up to date", 60
        )

        users = json.loads((data / "broker" / CREDENTIALS_NAME).read_text(encoding="utf-8"))
        panel_ids = [f"sim-{number:04d}" for number in range(1, PANELS + 1)]
        assert all(panel_username(panel_id) in users for panel_id in panel_ids)
        # Every client's id is its user's name (Mosquitto logs "as <client id> (..., u'<user>')").
        connected = re.findall(r" as (\S+) \(.*u'([^']+)'\)", (tmp_path / "broker.log").read_text())
        assert {user for client_id, user in connected if client_id == user} >= {
            CONTROLLER_USER,
            *(panel_username(panel_id) for panel_id in panel_ids),
        }
        assert all(client_id == user for client_id, user in connected)
        # Each worker's spec holds its panels' passwords: for its owner only.
        specs = list((data / "fleet").glob("worker-*.json"))
        assert specs and all(spec.stat().st_mode & 0o777 == 0o600 for spec in specs)
        assert fleet.poll() is None
    assert fleet.returncode == 0
