"""A reconnect storm: every panel of a department or a region back after a broker restart.

Run: ``.venv/bin/python bench/reconnect_storm.py [--panels N] [--light]``. A loopback Mosquitto, the
controller (Flask test client, real MQTT link) and N simulated panels (``relais fleet-sim``, light or
real) up to date; then the broker is stopped (its sessions and retained messages saved, as a restart
for an upgrade) and started again on its port, ``ROUNDS`` times. Each round is timed from the stop
until every panel's state, published after the stop, is recorded online by the controller (all
states fresh); it counts the schedules the controller published meanwhile (``MqttLink._publish_desired``,
wrapped: the controller republishes what it has once per connection of its own, never per panel
coming back) and the CPU seconds each process spent. Every process it starts is ended by its own PID.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path

from fleet_setup import (
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

ROUNDS = int(os.environ.get("RELAIS_BENCH_ROUNDS", "3"))
TIMEOUT_S = 300.0
SETTLE_S = 5.0


def main(panels: int, light: bool) -> None:
    print(machine())
    published = LinkCalls("_publish_desired")  # schedules handed to paho
    times, publications, cpu = [], [], []
    with scratch_dir() as scratch, department(panels, Path(scratch), light=light) as ain:
        fresh = "select count(*) from panel_status where online = 1 and reported_at >= ?"
        for _ in range(ROUNDS):
            time.sleep(SETTLE_S)
            stop_at = math.ceil(time.time())
            time.sleep(max(0.0, stop_at - time.time()))  # states of this second on are the restart's
            before = cpu_seconds()
            published.reset()
            start = time.perf_counter()
            ain.broker.stop()
            ain.broker.start()
            wait_until(
                lambda at=stop_at: ain.count(fresh, at) == panels, "every state fresh", TIMEOUT_S, 0.05
            )
            times.append(time.perf_counter() - start)
            publications.append(published.count)
            # The broker is a new process: its CPU is all the round's.
            after = cpu_seconds()
            cpu.append(
                {kind: spent - (kind != "mosquitto") * before.get(kind, 0.0) for kind, spent in after.items()}
            )
        memory = resident_mb()
    kind = "light panels (fleet-sim --light)" if light else "real agents (fleet-sim)"
    print(f"broker restarted under {panels:,} {kind}, {ROUNDS} rounds:")
    print(
        f"  stop to every state fresh: median {statistics.median(times):.1f} s (all: "
        + ", ".join(f"{t:.1f}" for t in times)
        + ")"
    )
    print(f"  schedules the controller published meanwhile: {', '.join(map(str, publications))}")
    spent = {kind: statistics.median(round_[kind] for round_ in cpu) for kind in cpu[0]}
    print(
        "  CPU seconds per storm (median): "
        + ", ".join(f"{kind} {seconds:.2f}" for kind, seconds in sorted(spent.items()))
    )
    print(f"  controller's resident memory at the end: {memory:.0f} MB")
    print(f"  load average at the end {load()}")


if __name__ == "__main__":
    parser = fleet_arguments(__doc__)
    args = parser.parse_args()
    main(args.panels, args.light)
