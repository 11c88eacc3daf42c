"""Emergency alert fan-out to a department or a region, against a bare client's floor, in one run.

Run: ``.venv/bin/python bench/alert_fanout.py [--panels N] [--light]``. It starts a loopback
Mosquitto, the controller (its Flask app through the test client, its real MQTT link) and N simulated
panels (``relais fleet-sim``'s real agents, or with ``--light`` its light panels: own connection,
signature checks and a real state, nothing drawn or stored), then:

- **alerts**: ``POST /api/v1/alerts`` to the whole department, timed twice: until the broker has
  acknowledged the last of the alert's sealed schedules (the controller's share: the API call, the
  sealing, the outbox and its publication; the time of the link's PUBACK callback, taken by
  wrapping ``MqttLink._record_ack``), and until the controller has recorded the last panel's
  confirmation (each panel's first report that the alert is on air, as ``GET /api/v1/alerts/<id>``
  counts them; polled in the database every 10 ms). The alert is then cancelled, every panel back on
  its schedule and the reports of that settled (``SETTLE_S``) before the next one, as an alert comes
  to a quiet department. p50 and p99 over ``ALERTS`` alerts;
- **floor**: the same payload bytes (the N sealed schedules of an alert, from the outbox) published at
  QoS 1, without paho's in-flight window as the controller, by a bare paho client to N bare paho subscribers in 4
  processes, each answering with a 3-byte acknowledgement; timed until the broker's last PUBACK (the
  publish floor) and until the last acknowledgement is back (the round trip); one round after each
  alert, in the same phase of a shared host, the median of them. The floor has a Mosquitto of its own
  (same binary, same configuration): ten thousand panels and ten thousand bare subscribers on one
  broker would pass the 20,000 file descriptors a process may open here.

Prints the machine, the figures and the ratios (the issue's targets: the controller's share at most
1.5 times the bare publish, the confirmations within 2 times the bare round trip), and the CPU seconds
the controller, the broker and the simulated panels each spent per alert: on a shared machine the
latencies follow the load, their CPU time much less. Every process it starts is ended by its own PID.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from fleet_setup import (
    Department,
    LinkCalls,
    cpu_seconds,
    department,
    fleet_arguments,
    load,
    machine,
    resident_mb,
    scratch_dir,
    wait_until,
)
from paho.mqtt.enums import CallbackAPIVersion

from relais.brokers.mosquitto import MosquittoBroker
from relais.netloop import ClientLoop
from relais.signals import stop_requested

ALERTS = int(os.environ.get("RELAIS_BENCH_ALERTS", "9"))
FLOOR_WORKERS = 4
FLOOR_BASE = "bench/floor"
TIMEOUT_S = 120.0
SETTLE_S = 1.0


def alert_body() -> dict[str, Any]:
    """A flood alert to the whole department, for half an hour."""
    expires = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    return {"text": "Crue de la Reyssouze : évitez les berges", "departments": ["01"], "expires_at": expires}


def settle(ain: Department) -> None:
    """Every panel back on its schedule, and what the panels report of that recorded."""
    panels = len(ain.panels)
    wait_until(lambda: ain.up_to_date() == panels, "every panel back on its schedule", TIMEOUT_S, 0.05)
    time.sleep(SETTLE_S)


def alert_round(
    ain: Department, published: LinkCalls, cpu: list[dict[str, float]] | None = None
) -> tuple[float, float]:
    """Seconds from the API call to the broker's PUBACK of the last sealed schedule, and to the
    controller recording the last panel's confirmation; the CPU seconds each process spent meanwhile
    go to ``cpu``."""
    panels = len(ain.panels)
    before, body = cpu_seconds(), alert_body()
    published.reset(panels)
    start = time.perf_counter()
    response = ain.client.post("/api/v1/alerts", json=body)
    assert response.status_code == 201, response.json
    alert_id = response.json["id"]
    confirmed = "select count(*) from alert_panels where alert_id = ? and confirmed_at is not null"
    wait_until(
        lambda: ain.count(confirmed, alert_id) == panels, "every panel's confirmation", TIMEOUT_S, 0.01
    )
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append({kind: spent - before.get(kind, 0.0) for kind, spent in cpu_seconds().items()})
    assert published.done_at is not None, "confirmed before published"
    share = published.done_at - start
    assert ain.client.delete(f"/api/v1/alerts/{alert_id}").status_code == 200
    settle(ain)
    return share, elapsed


def alert_payloads(ain: Department) -> list[bytes]:
    """The sealed schedules of one more alert, as the controller publishes them: the floor's bytes."""
    alert_id = ain.client.post("/api/v1/alerts", json=alert_body()).json["id"]
    payloads = [row[0] for row in ain.db.execute("select payload from desired order by panel_id")]
    ain.client.delete(f"/api/v1/alerts/{alert_id}")
    settle(ain)
    return payloads


# --- the floor --------------------------------------------------------------------------------


def floor_worker(port: int, numbers: list[int]) -> int:
    """Bare subscribers that answer every message with b"ack"; says "ready" once all are subscribed."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per subscriber
    loop = ClientLoop()
    subscribed: set[int] = set()
    for number in numbers:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"floor-{number}", protocol=mqtt.MQTTv311)

        def on_connect(client: mqtt.Client, *_: object, number: int = number) -> None:
            client.subscribe(f"{FLOOR_BASE}/{number}/desired", qos=1)

        def on_subscribe(*_: object, number: int = number) -> None:
            subscribed.add(number)

        def on_message(client: mqtt.Client, _u: object, _m: mqtt.MQTTMessage, number: int = number) -> None:
            client.publish(f"{FLOOR_BASE}/{number}/ack", b"ack", qos=1)

        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        loop.add(client, f"mqtt://127.0.0.1:{port}")
    loop.run(until=lambda: len(subscribed) == len(numbers), timeout=TIMEOUT_S)
    print("ready", flush=True)
    with stop_requested() as stopping:
        loop.run(until=stopping.is_set)
    loop.close()
    return 0


class Floor:
    """The bare-broker floor beside the department: bare subscribers in their own processes, a bare
    publisher and a collector, ready for a round whenever asked, so that each alert is followed by a
    floor round in the same phase of the host."""

    def __init__(self, port: int, payloads: list[bytes]) -> None:
        self.port, self.payloads = port, payloads
        self.acks = self.pubacks = 0
        self.published_at = 0.0
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.workers: list[subprocess.Popen[str]] = []
        self.clients: list[mqtt.Client] = []

    def __enter__(self) -> Floor:
        count = len(self.payloads)
        self.workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--floor-worker",
                    str(self.port),
                    ",".join(map(str, range(n, count, FLOOR_WORKERS))),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(FLOOR_WORKERS)
        ]
        try:
            for worker in self.workers:
                assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
            collector = self._client("floor-collector")
            collector.on_message = self._on_ack
            collector.subscribe(f"{FLOOR_BASE}/+/ack", qos=1)
            self.publisher = self._client("floor-publisher")
            self.publisher.on_publish = self._on_puback
            time.sleep(1.0)  # subscriptions settled
        except BaseException:
            self.__exit__()
            raise
        return self

    def _client(self, client_id: str) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        client.max_inflight_messages_set(0)  # as the controller: no paho window, which costs O(n) a PUBACK
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        self.clients.append(client)
        return client

    def _on_ack(self, *_: object) -> None:
        with self.lock:
            self.acks += 1
            if self.acks == len(self.payloads):
                self.done.set()

    def _on_puback(self, *_: object) -> None:
        with self.lock:
            self.pubacks += 1
            if self.pubacks == len(self.payloads):
                self.published_at = time.perf_counter()

    def round(self) -> tuple[float, float]:
        """Seconds from the first publish to the broker's last PUBACK, and to the last acknowledgement."""
        with self.lock:
            self.acks = self.pubacks = 0
            self.done.clear()
        start = time.perf_counter()
        for number, payload in enumerate(self.payloads):
            self.publisher.publish(f"{FLOOR_BASE}/{number}/desired", payload, qos=1)
        if not self.done.wait(TIMEOUT_S):
            raise SystemExit(f"floor: only {self.acks} acknowledgements in {TIMEOUT_S} s")
        elapsed = time.perf_counter() - start
        wait_until(lambda: self.pubacks == len(self.payloads), "the floor's PUBACKs", TIMEOUT_S)
        time.sleep(SETTLE_S)
        return self.published_at - start, elapsed

    def __exit__(self, *_: object) -> None:
        for client in self.clients:
            client.disconnect()
            client.loop_stop()
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.wait(10)


def percentiles(times: list[float]) -> tuple[float, float]:
    """p50 and p99 (the slowest but one in a hundred; the slowest of fewer)."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def ms(times: list[float]) -> str:
    return ", ".join(f"{t * 1000:.0f}" for t in times)


def main(panels: int, light: bool) -> None:
    print(machine())
    # When the broker acknowledged the last schedule: the link's PUBACK callback hands each to
    # ``_record_ack`` (in paho's network thread, before the recorder thread writes it down).
    published = LinkCalls("_record_ack")
    with (
        scratch_dir() as scratch,
        department(panels, Path(scratch), light=light) as ain,
        MosquittoBroker(Path(scratch) / "floor-mosquitto") as floor_broker,
    ):
        alert_round(ain, published)  # warm-up: renders of the alert layout, first PUBACK paths
        payloads = alert_payloads(ain)
        with Floor(floor_broker.port, payloads) as floor:
            floor.round()  # warm-up
            cpu: list[dict[str, float]] = []
            shares, times, floor_pubs, floors = [], [], [], []
            for _ in range(ALERTS):
                share, elapsed = alert_round(ain, published, cpu)
                shares.append(share)
                times.append(elapsed)
                floor_pub, floor_trip = floor.round()
                floor_pubs.append(floor_pub)
                floors.append(floor_trip)
            memory = resident_mb()
            assert ain.broker.process is not None
            broker_memory = resident_mb(ain.broker.process.pid)
    share50, share99 = percentiles(shares)
    p50, p99 = percentiles(times)
    floor_pub, floor_s = statistics.median(floor_pubs), statistics.median(floors)
    size = statistics.mean(len(p) for p in payloads)
    kind = "light panels (fleet-sim --light)" if light else "real agents (fleet-sim)"
    print(f"alert to {panels:,} {kind}, {ALERTS} alerts, payloads of {size:,.0f} B on average:")
    print(
        f"  controller's share, API call to the broker's last PUBACK: p50 {share50 * 1000:.0f} ms, "
        f"p99 {share99 * 1000:.0f} ms"
    )
    print(f"    (all: {ms(sorted(shares))})")
    print(
        f"  bare publish of the same payloads, first publish to last PUBACK: median {floor_pub * 1000:.0f} ms"
    )
    print(
        f"    (all: {ms(floor_pubs)}); ratio p50 {share50 / floor_pub:.2f}, p99 {share99 / floor_pub:.2f} (target 1.5)"
    )
    print(f"  API call to the last confirmation recorded: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"    (all: {ms(sorted(times))})")
    print(f"  bare round trip, to the last subscriber's acknowledgement back: median {floor_s * 1000:.0f} ms")
    print(f"    (all: {ms(floors)}); ratio p50 {p50 / floor_s:.2f}, p99 {p99 / floor_s:.2f} (target 2)")
    spent = {kind: statistics.median(round_[kind] for round_ in cpu) for kind in cpu[0]}
    print(
        "  CPU seconds per alert (median), on the cores everything shares: "
        + ", ".join(f"{kind} {seconds:.2f}" for kind, seconds in sorted(spent.items()))
        + f"; total {sum(spent.values()):.2f}"
    )
    cores = os.cpu_count() or 1
    print(
        f"  on {cores} cores an alert cannot take less than its CPU time over the cores: "
        f"{sum(spent.values()) / cores * 1000:.0f} ms, of which the simulated panels' own work "
        f"{spent.get('fleet', 0.0) / cores * 1000:.0f} ms"
    )
    print(
        f"  controller's resident memory (the bench's process: Flask app, MQTT link, floor clients): {memory:.0f} MB"
    )
    print(
        f"  Mosquitto's resident memory with the panels and the controller connected: {broker_memory:.0f} MB"
    )
    print(f"  load average at the end {load()}")


if __name__ == "__main__":
    parser = fleet_arguments(__doc__)
    parser.add_argument("--floor-worker", nargs=2, metavar=("PORT", "NUMBERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_worker:
        port, numbers = args.floor_worker
        sys.exit(floor_worker(int(port), [int(n) for n in numbers.split(",")]))
    main(args.panels, args.light)
