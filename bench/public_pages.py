"""The public pages and feeds with a department's or a region's messages and audit log: what each answer costs.

Run: ``.venv/bin/python bench/public_pages.py --communes N --messages M`` (a department: 65 communes,
2,000 messages; a region: 700 communes, 20,000 messages). The controller's Flask app through its test
client, on a real SQLite file in ``/dev/shm``, without a broker; rows written straight into the tables
(``PANELS_PER_COMMUNE`` panels a commune, communes dealt out over the region's departments, the Ain
first): half the messages, drawn at random, ended more than a month ago (history), half around now; one in
``DEPARTMENT_EVERY`` reaches its whole department, the others one commune; ``AUDIT_PER_MESSAGE`` audit
rows each (created, approved, changed); one alert per ten communes. Each request comes from another
address, as visitors do, so the per-address limit never answers in their place.

Prints p50 and p99 of ``GET /c/<INSEE>``, ``/d/01``, ``/c/<INSEE>/feed.atom`` and a commune page of
another commune at each request, over ``--requests`` each: first as the app runs (a place's rows kept
``SNAPSHOT_S``), then with every request reading its place's rows (as if a write came before each);
and the floor: a route of the app answering the commune page's bytes as they are, in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from itertools import count, cycle, repeat
from pathlib import Path

from flask import Response
from flask.testing import FlaskClient
from fleet_setup import machine, scratch_dir
from sqlite_utils import Database

from controller import create_app, shutdown_app
from controller.rendering.profiles import get_profile
from controller.storage.db import transaction
from controller.storage.public_store import SNAPSHOT_S, PlaceSnapshots
from controller.web.context import get_db

# Auvergne-Rhône-Alpes: the Ain first, whose page is measured.
DEPARTMENTS = ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74")
PANELS_PER_COMMUNE = 15
DEPARTMENT_EVERY = 20
AUDIT_PER_MESSAGE = 3
MONTH_S = 31 * 24 * 3600
PROFILE = "led-amber-192x64"


def communes(how_many: int) -> list[str]:
    """INSEE codes dealt out over the departments in turn: « 01001 », « 03001 »… « 01002 »…"""
    return [f"{DEPARTMENTS[n % len(DEPARTMENTS)]}{n // len(DEPARTMENTS) + 1:03d}" for n in range(how_many)]


def fill(db: Database, insees: list[str], messages: int, now: int) -> tuple[int, int]:
    """The panels, messages, targets, alerts and audit rows; how many audit and target rows."""
    profile = get_profile(PROFILE)
    panels_of: dict[str, list[str]] = {}
    panel_rows = []
    for insee in insees:
        panels_of[insee] = [f"p-{insee}-{n:02d}" for n in range(PANELS_PER_COMMUNE)]
        for panel_id in panels_of[insee]:
            panel_rows.append(
                (
                    panel_id,
                    f"Panneau {panel_id}",
                    insee,
                    f"Commune {insee}",
                    profile.technology,
                    profile.width,
                    profile.height,
                    profile.colour_mode,
                    '["mairie"]',
                    now - MONTH_S * 24,
                    PROFILE,
                )
            )
    by_department: dict[str, list[str]] = {}
    for insee in insees:
        by_department.setdefault(insee[:2], []).append(insee)
    message_rows, target_rows, audit_rows = [], [], []
    departments, draw = list(by_department), random.Random(22)  # the same rows at every run
    for number in range(1, messages + 1):
        insee = insees[number % len(insees)]
        department = departments[number // DEPARTMENT_EVERY % len(departments)]
        reached = by_department[department] if number % DEPARTMENT_EVERY == 0 else [insee]
        if draw.random() < 0.5:  # history: ended over a month ago, within two years
            starts = now - MONTH_S - draw.randrange(2 * 365) * 86400 - 86400
            ends = starts + 86400
        else:  # on air, to come, or ended lately
            starts = now + draw.randrange(-14, 6) * 86400
            ends = starts + 7 * 86400
        targets = json.dumps({"communes": reached, "tags": []})
        message_rows.append(
            (
                number,
                f"Réunion publique n° {number} mardi à 19 h en mairie",
                "bench",
                starts - 86400,
                starts,
                ends,
                "information",
                "normal",
                0,
                "approved",
                targets,
                "plain",
                "",
            )
        )
        target_rows += [(number, panel_id) for place in reached for panel_id in panels_of[place]]
        audit_rows += [
            (starts - 86400 + step, "bench", action, "message", str(number))
            for step, action in enumerate(
                ("message.create", "message.approve", "message.update")[:AUDIT_PER_MESSAGE]
            )
        ]
    alert_rows, alert_panel_rows = [], []
    for number, insee in enumerate(insees[::10], start=1):
        starts = now - 3600 if number % 2 else now - MONTH_S * 3
        alert_rows.append(
            (
                number,
                "Crue : routes coupées",
                "ALERTE",
                "{}",
                starts,
                starts + 7200,
                "bench",
                starts,
                "approved",
            )
        )
        alert_panel_rows += [(number, panel_id) for panel_id in panels_of[insee]]
        audit_rows.append((starts, "bench", "alert.create", "alert", str(number)))
    with transaction(db):
        conn = db.conn
        conn.executemany(
            """insert into panels (id, name, commune_insee, commune_name, kind, width, height, colour_mode,
               tags, created_at, profile) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            panel_rows,
        )
        conn.executemany(
            """insert into messages (id, text, created_by, created_at, starts_at, ends_at, priority, role,
               paused, approval, targets, markup, title) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            message_rows,
        )
        conn.executemany("insert into message_targets (message_id, panel_id) values (?, ?)", target_rows)
        conn.executemany(
            """insert into alerts (id, text, title, targets, starts_at, expires_at, created_by, created_at,
               approval) values (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            alert_rows,
        )
        conn.executemany("insert into alert_panels (alert_id, panel_id) values (?, ?)", alert_panel_rows)
        conn.executemany(
            "insert into audit_log (at, user_name, action, object_type, object_id) values (?, ?, ?, ?, ?)",
            audit_rows,
        )
    return len(audit_rows), len(target_rows) + len(alert_panel_rows)


def addresses() -> Iterator[str]:
    """A new visitor's address for each request: 10.0.0.1, 10.0.0.2…"""
    for number in count(1):
        yield f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def timings(
    client: FlaskClient, paths: Iterator[str], requests: int, visitors: Iterator[str]
) -> tuple[float, float, int]:
    """p50 and p99 in milliseconds of ``requests`` answers after one to warm up, and the first's size."""
    size = len(client.get(next(paths), environ_base={"REMOTE_ADDR": next(visitors)}).get_data())
    times = []
    for _ in range(requests):
        path = next(paths)
        start = time.perf_counter()
        answer = client.get(path, environ_base={"REMOTE_ADDR": next(visitors)})
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200, (path, answer.status_code)
    times.sort()
    p99 = times[min(len(times) - 1, round(len(times) * 0.99) - 1)]
    return statistics.median(times) * 1000, p99 * 1000, size


def main(commune_count: int, messages: int, requests: int) -> None:
    print(machine())
    insees = communes(commune_count)
    floor_body = {"bytes": b""}
    with scratch_dir() as scratch:
        app = create_app({"DATA_DIR": Path(scratch) / "data", "TESTING": True})
        # The floor: the same app, its hooks and headers, answering bytes already made.
        app.add_url_rule(
            "/bench-floor", "bench_floor", lambda: Response(floor_body["bytes"], mimetype="text/html")
        )
        try:
            start = time.perf_counter()
            with app.app_context():
                audit, targets = fill(get_db(), insees, messages, int(time.time()))
            filled = time.perf_counter() - start
            client, visitors = app.test_client(), addresses()
            commune = insees[0]
            floor_body["bytes"] = client.get(
                f"/c/{commune}", environ_base={"REMOTE_ADDR": "10.255.0.1"}
            ).get_data()
            routes: dict[str, Callable[[], Iterator[str]]] = {
                f"/c/{commune}": lambda: repeat(f"/c/{commune}"),
                "/d/01": lambda: repeat("/d/01"),
                f"/c/{commune}/feed.atom": lambda: repeat(f"/c/{commune}/feed.atom"),
                "/c/<each commune in turn>": lambda: cycle(f"/c/{insee}" for insee in insees),
            }
            figures = {
                "floor (the commune page's bytes, made already)": timings(
                    client, repeat("/bench-floor"), requests, visitors
                )
            }
            for name, paths in routes.items():
                figures[f"{name}, rows kept {SNAPSHOT_S:g} s"] = timings(client, paths(), requests, visitors)
            # The same with every request reading its place's rows, as after a write each time.
            app.extensions["relais.public_snapshots"] = PlaceSnapshots(keep_s=0)
            for name, paths in routes.items():
                figures[f"{name}, rows read each time"] = timings(client, paths(), requests, visitors)
        finally:
            shutdown_app(app)
    panels = commune_count * PANELS_PER_COMMUNE
    print(
        f"{commune_count:,} communes, {panels:,} panels, {messages:,} messages (half ended over a month ago), "
        f"{audit:,} audit rows, {targets:,} target rows; written in {filled:.1f} s"
    )
    for path, (p50, p99, size) in figures.items():
        print(f"  {path}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({size:,} bytes), {requests} requests")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--communes", type=int, default=65, help="how many communes (default 65, a department)"
    )
    parser.add_argument("--messages", type=int, default=2000, help="how many messages (default 2,000)")
    parser.add_argument("--requests", type=int, default=100, help="requests measured per route (default 100)")
    arguments = parser.parse_args()
    main(arguments.communes, arguments.messages, arguments.requests)
