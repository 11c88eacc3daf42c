"""What the fleet benchmarks share: the machine line, and a department on a loopback broker.

Scratch files go to ``/dev/shm`` when it exists: a thousand agents on one machine would otherwise queue
their fsyncs on one disk, where each real panel has its own SD card.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.domain.accounts import token_for
from controller.domain.panels import Panel
from controller.publishing.link import MqttLink
from controller.web import context
from controller.web.context import get_db
from controller.web.server import freeze_startup_objects
from panel_agent.fleet import FleetSim
from programs.department import register_fleet, sim_panels
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker, find_mosquitto


def machine() -> str:
    """CPU model, cores, Python and Mosquitto versions, and the load when the run began."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mosquitto = subprocess.run([find_mosquitto(), "-h"], capture_output=True, text=True).stdout.splitlines()
    return (
        f"machine: {model}, {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{mosquitto[0] if mosquitto else 'mosquitto'}; load average at start {load()}"
    )


def load() -> str:
    """The load average (1, 5, 15 minutes), printed at a run's start and end: on a shared machine the
    latencies follow it."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def fleet_arguments(doc: str) -> argparse.ArgumentParser:
    """A fleet bench's command line: how many panels, and which kind; a bench adds its own options."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--panels", type=int, default=1000, help="how many panels (default 1,000)")
    parser.add_argument("--light", action="store_true", help="light simulated panels (fleet-sim --light)")
    return parser


def cpu_seconds() -> dict[str, float]:
    """CPU time (user and system) so far of this process ("controller": the Flask app and its MQTT link
    run in it), and of its children by kind ("mosquitto", "fleet" for the simulator's workers), from
    ``/proc``: the share of each in a run, whatever else the machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(entry.name) == os.getpid():
            kind = "controller"
        elif int(fields[1]) != os.getpid():
            continue
        elif b"mosquitto" in command:
            kind = "mosquitto"
        elif b"panel_agent.fleet" in command:
            kind = "fleet"
        else:
            continue
        found[kind] = found.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def resident_mb(pid: int | None = None) -> float:
    """A process's resident memory (VmRSS) in MB; this one's by default (the controller's, in the benches)."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kilobytes) / 1024


class LinkCalls:
    """How many times a method of the controller's ``MqttLink`` ran since ``reset()``, and when the
    ``wanted``-th call ended: the method is wrapped on the class (a bench runs one link)."""

    def __init__(self, method: str) -> None:
        self.count = self.wanted = 0
        self.done_at: float | None = None
        original = getattr(MqttLink, method)

        def counted(link: MqttLink, *args: Any) -> Any:
            result = original(link, *args)
            self.count += 1
            if self.done_at is None and self.count >= self.wanted > 0:
                self.done_at = time.perf_counter()
            return result

        setattr(MqttLink, method, counted)

    def reset(self, wanted: int = 0) -> None:
        self.count, self.wanted, self.done_at = 0, wanted, None


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(prefix="relais-bench-", dir=shm if shm.is_dir() else None)


def wait_until(condition: Callable[[], bool], what: str, timeout: float, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Department:
    app: Flask
    client: FlaskClient
    panels: list[Panel]
    broker: MosquittoBroker
    db: sqlite3.Connection  # a reader of the controller's database, for polling without the API
    fleet: FleetSim  # stopped on the way out; a bench may stop it earlier

    def count(self, sql: str, *params: object) -> int:
        return self.db.execute(sql, params).fetchone()[0]

    def up_to_date(self) -> int:
        return self.count(
            "select count(*) from panel_status s join desired d using (panel_id) "
            "where s.online = 1 and s.applied_seq >= d.seq"
        )


@contextmanager
def department(count: int, work: Path, *, light: bool = False) -> Iterator[Department]:
    """A broker, the controller (Flask app, MQTT link) and ``count`` simulated panels up to date
    (``light``: ``relais fleet-sim --light``'s panels)."""
    with ExitStack() as stack:
        broker = stack.enter_context(MosquittoBroker(work / "mosquitto"))
        app = create_app({"DATA_DIR": work / "data", "BROKER_URL": broker.url, "TESTING": True})
        stack.callback(shutdown_app, app)
        with app.app_context():
            panels = register_fleet(get_db(), context.signing_key(), count)
            token = token_for(get_db(), "bench")
            public_key = wire.public_key_to_text(context.signing_key().public_key())
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        fleet = FleetSim(
            sim_panels(panels), broker_url=broker.url, public_key_text=public_key, work_dir=work, light=light
        )
        stack.enter_context(fleet)
        db = sqlite3.connect(work / "data" / "relais.db")
        stack.callback(db.close)
        running = Department(app, client, panels, broker, db, fleet)
        wait_until(lambda: running.up_to_date() == count, f"{count} panels online and up to date", 600, 0.2)
        freeze_startup_objects()  # as ``relais serve`` does
        yield running
