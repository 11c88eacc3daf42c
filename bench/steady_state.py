"""The steady state of a department or a region: panels rotating every 10 s with proof of play, for minutes.

Run: ``.venv/bin/python bench/steady_state.py [--panels N] [--light] [--minutes M]``. It starts a
loopback Mosquitto, the controller (its Flask app through the test client, its real MQTT link) and N
simulated panels (``relais fleet-sim``'s real agents, or with ``--light`` its light panels, which
rotate and sum their proof of play with the agent's own code), queues ``ROTATION`` messages to the
whole department with a 10 s dwell, waits until every panel follows them, then samples once a minute
for M minutes (10 by default):

- the controller's CPU (this process: the Flask app, its MQTT link and recorder thread), in percent of
  one core over the minute, and the broker's and the simulated panels';
- the controller's resident memory;
- the MQTT messages the controller received in the minute (its link's ``on_message``);
- what SQLite keeps: the database's size (with its WAL), the rows of ``plays`` (one a play, from older
  agents), ``play_hours`` (the hourly sums) and ``panel_events``, and the bytes the controller wrote
  in the minute (``wchar`` of ``/proc/self/io``: write system calls, SQLite's; sockets use send);
- the queues: the outbox (schedules the broker has not acknowledged) and the reports received but
  not recorded yet (the link's queue).

Then it prints whether memory or a queue grew over the run, stops the panels (each sends its open
hour's sums, as a stopping agent does: all at once, where the hours' ends spread them over 5 minutes)
and times until the controller has recorded them, with the displays they count against the plays
the rotation made. Every process it starts is ended by its own PID. Scratch files in ``/dev/shm``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

from controller.publishing.link import MqttLink
from panel_agent.agent.play_hours import play_key
from relais.playback import showing_at
from relais.wire import read_own_sealed

ROTATION = ("Marché de Noël samedi", "Collecte des encombrants mardi", "Concert à l'église dimanche")
DWELL_S = 10
SAMPLE_S = 60.0
# Memory that rises by more than this over the run, after the first minute, has grown.
MEMORY_SLACK_MB = 10.0


def written_bytes() -> int:
    """Bytes this process has passed to write system calls: SQLite's pages, WAL and journal."""
    io = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(io["wchar"])


@dataclass(frozen=True)
class Sample:
    minute: int
    cpu: dict[str, float]  # percent of one core over the minute, by kind
    rss_mb: float
    messages: int
    db_mb: float
    written_mb: float
    plays: int
    play_hours: int
    events: int
    outbox: int
    unrecorded: int


def database_mb(work: Path) -> float:
    files = [work / "data" / name for name in ("relais.db", "relais.db-wal")]
    return sum(path.stat().st_size for path in files if path.exists()) / 1e6


def sample(ain: Department, work: Path, minute: int, before: dict[str, Any], received: LinkCalls) -> Sample:
    now_cpu, now_written = cpu_seconds(), written_bytes()
    elapsed = time.monotonic() - before["at"]
    link: MqttLink = ain.app.extensions["relais.mqtt_link"]
    found = Sample(
        minute=minute,
        cpu={kind: 100 * (spent - before["cpu"].get(kind, 0.0)) / elapsed for kind, spent in now_cpu.items()},
        rss_mb=resident_mb(),
        messages=received.count - before["messages"],
        db_mb=database_mb(work),
        written_mb=(now_written - before["written"]) / 1e6,
        plays=ain.count("select count(*) from plays"),
        play_hours=ain.count("select count(*) from play_hours"),
        events=ain.count("select count(*) from panel_events"),
        outbox=ain.count("select count(*) from desired where published_at is null"),
        unrecorded=len(link._reports),
    )
    before.update(at=time.monotonic(), cpu=now_cpu, written=now_written, messages=received.count)
    return found


def print_table(samples: list[Sample]) -> None:
    print(
        f"{'min':>3} {'ctl CPU%':>8} {'broker%':>7} {'fleet%':>6} {'ctl RSS MB':>10} {'msgs in':>7} "
        f"{'DB MB':>6} {'written MB':>10} {'plays':>6} {'play_hours':>10} {'events':>7} {'outbox':>6} "
        f"{'unrecorded':>10}"
    )
    for s in samples:
        rates = (
            f"{s.cpu.get('controller', 0.0):>8.1f} {s.cpu.get('mosquitto', 0.0):>7.1f} "
            f"{s.cpu.get('fleet', 0.0):>6.1f} {s.rss_mb:>10.1f} {s.messages:>7,} {s.db_mb:>6.2f} "
            f"{s.written_mb:>10.2f}"
        )
        if s.minute == 0:  # the state at the start: no minute behind it
            rates = f"{'':>8} {'':>7} {'':>6} {s.rss_mb:>10.1f} {'':>7} {s.db_mb:>6.2f} {'':>10}"
        print(
            f"{s.minute:>3} {rates} {s.plays:>6,} {s.play_hours:>10,} {s.events:>7,} {s.outbox:>6,} "
            f"{s.unrecorded:>10,}"
        )


def verdict(samples: list[Sample]) -> list[str]:
    """Whether memory or a queue grew, from the first minute's sample (warm) to the last."""
    first, last = samples[1] if len(samples) > 2 else samples[0], samples[-1]
    rise = last.rss_mb - first.rss_mb
    lines = [
        f"controller memory: {first.rss_mb:.1f} MB after the first minute, {last.rss_mb:.1f} MB at the end, "
        f"peak {max(s.rss_mb for s in samples):.1f} MB: "
        + ("GREW" if rise > MEMORY_SLACK_MB else f"steady (within {MEMORY_SLACK_MB:.0f} MB)")
    ]
    for name in ("outbox", "unrecorded"):
        values = [getattr(s, name) for s in samples]
        grew = values[-1] > max(values[0], 0) and values[-1] >= max(values)
        lines.append(f"{name}: {', '.join(map(str, values))}: " + ("GREW" if grew else "no growth"))
    return lines


def showings_due(ain: Department, since: float, until: float) -> int:
    """How many showings the panels' schedules (the last ones sealed) put on air from ``since`` to
    ``until``, by ``relais.playback``: what the panels' sums should count, give or take a showing a
    panel cut short at each new schedule and at the stop. An e-paper panel's dwells are stretched to its
    refresh budget, so not every panel turns every 10 s."""
    count = 0
    for (payload,) in ain.db.execute("select payload from desired"):
        schedule = read_own_sealed(payload).desired_schedule()
        at_ms, end_ms, last = int(since * 1000), int(until * 1000), None
        while at_ms < end_ms:
            showing = showing_at(schedule, at_ms)
            key = play_key(showing)
            if key is not None and key != last:
                count += 1
            last = key
            at_ms = end_ms if showing.until_ms is None else max(showing.until_ms, at_ms + 1)
    return count


def post_rotation(ain: Department) -> None:
    for text in ROTATION:
        body = {"text": text, "departments": ["01"], "dwell_s": DWELL_S}
        response = ain.client.post("/api/v1/messages", json=body)
        assert response.status_code == 201, response.json


def main(panels: int, light: bool, minutes: int) -> None:
    print(machine())
    received = LinkCalls("_on_message")  # MQTT messages the link received
    with scratch_dir() as scratch, department(panels, Path(scratch), light=light) as ain:
        work = Path(scratch)
        rotating_since = time.time()
        post_rotation(ain)
        wait_until(lambda: ain.up_to_date() == panels, "every panel on the rotation", 900, 0.5)
        before: dict[str, Any] = {
            "at": time.monotonic(),
            "cpu": cpu_seconds(),
            "written": written_bytes(),
            "messages": received.count,
        }
        samples = [sample(ain, work, 0, before, received)]
        for minute in range(1, minutes + 1):
            time.sleep(max(0.0, before["at"] + SAMPLE_S - time.monotonic()))
            samples.append(sample(ain, work, minute, before, received))
            print(f"  minute {minute} of {minutes} sampled", flush=True)
        stopped_at = time.time()
        rotated_s = stopped_at - rotating_since
        # The stop: every panel sends its open hours' sums at once.
        hours_before = ain.count("select count(*) from play_hours")
        stopping = time.monotonic()
        ain.fleet.stop()
        settled = {"rows": -1, "since": time.monotonic()}

        def recorded() -> bool:
            rows = ain.count("select count(*) from play_hours")
            if rows != settled["rows"]:
                settled.update(rows=rows, since=time.monotonic())
            link: MqttLink = ain.app.extensions["relais.mqtt_link"]
            return not link._reports and time.monotonic() - settled["since"] > 3.0

        wait_until(recorded, "the sums sent at the stop recorded", 600, 0.1)
        stop_s = settled["since"] - stopping
        displays = ain.count("select coalesce(sum(displays), 0) from play_hours where item_id like 'msg-%'")
        sums = ain.count("select count(*) from play_hours") - hours_before
        due = showings_due(ain, rotating_since, stopped_at)
    kind = "light panels (fleet-sim --light)" if light else "real agents (fleet-sim)"
    print(
        f"steady state of {panels:,} {kind}, {len(ROTATION)} messages in turn every {DWELL_S} s, "
        f"{minutes} minutes sampled (one row a minute; CPU in % of one core):"
    )
    print_table(samples)
    for line in verdict(samples):
        print("  " + line)
    print(
        f"  at the stop: {sums:,} hourly sums recorded within {stop_s:.1f} s of the fleet's stop (workers "
        f"ended, sums, offline states); displays counted {displays:,} in {rotated_s / 60:.1f} minutes of "
        f"rotation, where the panels' last schedules put {due:,} showings on air (give or take one a panel "
        f"cut short by each of the {len(ROTATION)} new schedules and the stop)"
    )
    print(f"  load average at the end {load()}")


if __name__ == "__main__":
    parser = fleet_arguments(__doc__)
    parser.add_argument("--minutes", type=int, default=10, help="minutes sampled (default 10)")
    args = parser.parse_args()
    main(args.panels, args.light, args.minutes)
