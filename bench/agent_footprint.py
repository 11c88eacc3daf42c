"""What a panel agent costs its board: resident memory, idle CPU, and how fast a signed update goes up.

Run: ``.venv/bin/python bench/agent_footprint.py``. Prints the machine, then the figures. It starts a
loopback Mosquitto in a scratch folder and a real agent process (``python -m panel_agent``, simulated
backend 192x64, a fresh Ed25519 key in its config), and measures from ``/proc/<pid>``:

- resident memory (VmRSS) once the agent is up and shows a first schedule, and after 200 more updates;
- CPU used (utime + stime) while it idles 20 s on a one-page schedule, as a panel does most of the time;
- the time from publishing a sealed update to its frame on the panel (the simulated panel's PNG
  replaced, polled every millisecond) and to the agent's state naming it (published once the frame
  is up and the schedule on disk: what the controller learns), p50 and p99 over 50 updates.

The issue's targets: under 40 MB resident, under 1 % idle CPU. Every process it starts is ended by
its own PID.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw

from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.mqtt import connect_in_background, new_client

PANEL_ID = "bench-footprint"
WIDTH, HEIGHT = 192, 64
TWO_DAYS_S = 2 * 24 * 3600
UPDATES = 200
LATENCY_UPDATES = 50
IDLE_S = 20.0
SETTLE_S = 2.0  # after start, before the first reading: imports done, connection made
TIMEOUT_S = 30.0


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (VmRSS is in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid``: fields 14 and 15 of /proc/<pid>/stat, after the command name."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def screen_version(path: Path) -> tuple[int, int]:
    """Changes whenever the simulated panel writes a frame: it replaces the PNG by a rename."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


class States:
    """The agent's states, by the seq each says is applied, with the time the first of each arrived."""

    def __init__(self) -> None:
        self._arrived: dict[int, float] = {}
        self._changed = threading.Condition()

    def on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        arrived = time.perf_counter()
        state = wire.PanelState.from_payload(message.payload)
        if state.online:
            with self._changed:
                self._arrived.setdefault(state.applied_seq, arrived)
                self._changed.notify_all()

    def wait(self, seq: int) -> float:
        """When the state saying ``seq`` is applied arrived; fail if it does not within TIMEOUT_S."""
        with self._changed:
            if not self._changed.wait_for(lambda: seq in self._arrived, TIMEOUT_S):
                raise RuntimeError(f"the agent did not display seq {seq} within {TIMEOUT_S} s")
            return self._arrived[seq]


def sealed_update(key: Ed25519PrivateKey, seq: int) -> bytes:
    """A 48-hour schedule of one page that differs from the previous one, so that it is drawn."""
    image = Image.new("1", (WIDTH, HEIGHT))
    ImageDraw.Draw(image).text((8, 24), f"Avis n° {seq}", fill=1)
    item = wire.DisplayItem(f"item-{seq}", f"Avis n° {seq}", (wire.Page(wire.Frame.from_image(image), 5000),))
    now = int(time.time())
    schedule = wire.Schedule.single(item, start=now, horizon_end=now + TWO_DAYS_S)
    return wire.seal_schedule(
        key, schedule, panel_id=PANEL_ID, seq=seq, issued_at=now, expires_at=now + TWO_DAYS_S
    )


def write_config(folder: Path, broker_url: str, key: Ed25519PrivateKey) -> Path:
    path = folder / "agent.toml"
    path.write_text(
        f'panel_id = "{PANEL_ID}"\n'
        f'broker_url = "{broker_url}"\n'
        f'controller_public_key = "{wire.public_key_to_text(key.public_key())}"\n'
        'state_dir = "state"\n\n'
        "[backend]\n"
        'name = "simulated"\n'
        'output_dir = "screens"\n'
        f"width = {WIDTH}\n"
        f"height = {HEIGHT}\n",
        encoding="utf-8",
    )
    return path


def measure(folder: Path) -> None:
    key = Ed25519PrivateKey.generate()
    broker = MosquittoBroker(folder / "mosquitto").start()
    agent: subprocess.Popen[bytes] | None = None
    client: mqtt.Client | None = None
    try:
        config = write_config(folder, broker.url, key)
        topics = wire.Topics(wire.DEFAULT_TOPIC_BASE)
        states = States()
        subscribed = threading.Event()
        client = new_client("bench-footprint-controller", broker.url)
        client.on_message = states.on_message
        client.on_subscribe = lambda *args: subscribed.set()
        client.on_connect = lambda c, *args: c.subscribe(topics.state(PANEL_ID), qos=1)
        connect_in_background(client, broker.url)
        if not subscribed.wait(TIMEOUT_S):
            raise RuntimeError("the bench's own client could not subscribe")

        with (folder / "agent.log").open("wb") as log:
            agent = subprocess.Popen(
                [sys.executable, "-m", "panel_agent", "--config", str(config)], stdout=log, stderr=log
            )
        seq = 1
        client.publish(topics.desired(PANEL_ID), sealed_update(key, seq), qos=1, retain=True)
        states.wait(seq)
        time.sleep(SETTLE_S)
        rss_start = rss_mb(agent.pid)

        cpu_before = cpu_seconds(agent.pid)
        time.sleep(IDLE_S)
        idle_cpu_percent = 100 * (cpu_seconds(agent.pid) - cpu_before) / IDLE_S

        updates_started = time.perf_counter()
        for _ in range(UPDATES):
            seq += 1
            client.publish(topics.desired(PANEL_ID), sealed_update(key, seq), qos=1, retain=True)
            states.wait(seq)
        updates_s = time.perf_counter() - updates_started
        rss_after = rss_mb(agent.pid)

        screen = folder / "screens" / f"{PANEL_ID}.png"
        to_screen_ms, to_state_ms = [], []
        for _ in range(LATENCY_UPDATES):
            seq += 1
            payload = sealed_update(key, seq)
            before = screen_version(screen)
            published = time.perf_counter()
            client.publish(topics.desired(PANEL_ID), payload, qos=1, retain=True)
            while screen_version(screen) == before:
                if time.perf_counter() - published > TIMEOUT_S:
                    raise RuntimeError(f"the frame of seq {seq} did not reach the panel in {TIMEOUT_S} s")
                time.sleep(0.001)
            to_screen_ms.append(1000 * (time.perf_counter() - published))
            to_state_ms.append(1000 * (states.wait(seq) - published))

        resolution = 100 / os.sysconf("SC_CLK_TCK") / IDLE_S
        print(f"{'resident memory after start':<34}: {rss_start:.1f} MB (target < 40 MB)")
        print(
            f"{f'resident memory after {UPDATES} updates':<34}: {rss_after:.1f} MB ({updates_s:.1f} s for them)"
        )
        print(
            f"{f'idle CPU over {IDLE_S:.0f} s':<34}: {idle_cpu_percent:.2f} % of one core "
            f"(resolution {resolution:.2f} %; target < 1 %)"
        )
        for what, latencies_ms in (("frame on the panel", to_screen_ms), ("state", to_state_ms)):
            p99 = statistics.quantiles(latencies_ms, n=100, method="inclusive")[98]
            print(
                f"{f'publish to {what}':<34}: p50 {statistics.median(latencies_ms):.1f} ms, "
                f"p99 {p99:.1f} ms ({LATENCY_UPDATES} updates)"
            )
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        if client is not None:
            client.disconnect()
            client.loop_stop()
        broker.stop()


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"agent: python -m panel_agent, simulated backend {WIDTH}x{HEIGHT}, loopback Mosquitto")
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as folder:
        measure(Path(folder))


if __name__ == "__main__":
    main()
