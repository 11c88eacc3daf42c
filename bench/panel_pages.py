"""The API and the fleet page's data with a department or a region registered: what each answer costs.

Run: ``.venv/bin/python bench/panel_pages.py [--panels N]``. The controller's Flask app through its
test client, on a real SQLite file, without a broker (panels registered and their first schedules
sealed, as ``relais fleet-sim`` registers them). Times, median of ``REPEAT``:

- ``GET /api/v1/panels`` pages of 100 (first, middle and last), and one commune's panels;
- one update of the fleet page's live stream (``/live/panels``): ``fleet_rows`` for the whole fleet
  and its JSON, which each viewer is sent whenever anything changes (its size printed).

Prints the controller's resident memory with the fleet registered. No panel is connected: states,
screenshots and the MQTT link are left out (``alert_fanout.py`` prints the memory with them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from fleet_setup import machine, resident_mb, scratch_dir

from controller import create_app, shutdown_app
from controller.domain.accounts import token_for
from controller.web import context
from controller.web.context import broker_watch, get_db
from controller.web.pages import fleet_rows
from programs.department import AIN_TOWNS, register_fleet

REPEAT = 15
PAGE = 100


def timed(call: Callable[[], object]) -> float:
    """Median milliseconds of ``REPEAT`` calls, after one to warm up."""
    call()
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(panels: int) -> None:
    print(machine())
    with scratch_dir() as scratch:
        app = create_app({"DATA_DIR": Path(scratch) / "data", "TESTING": True})
        try:
            start = time.perf_counter()
            with app.app_context():
                register_fleet(get_db(), context.signing_key(), panels)
                token = token_for(get_db(), "bench")
            registered = time.perf_counter() - start
            client = app.test_client()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

            def page(offset: int, query: str = "") -> Callable[[], object]:
                def get() -> None:
                    response = client.get(f"/api/v1/panels?limit={PAGE}&offset={offset}{query}")
                    assert response.status_code == 200, response.json

                return get

            last = (panels - 1) // PAGE * PAGE
            figures = {
                "first page": timed(page(0)),
                "middle page": timed(page(last // 2 // PAGE * PAGE)),
                "last page": timed(page(last)),
                f"one commune ({AIN_TOWNS['01053']})": timed(page(0, "&commune=01053")),
            }
            with app.test_request_context():
                db = get_db()
                rows_ms = timed(lambda: fleet_rows(db, "fr", lambda _insee: True, broker_watch(None)))
                live = json.dumps(
                    fleet_rows(db, "fr", lambda _insee: True, broker_watch(None)), ensure_ascii=False
                )
                live_ms = timed(
                    lambda: json.dumps(
                        fleet_rows(db, "fr", lambda _insee: True, broker_watch(None)), ensure_ascii=False
                    )
                )
            memory = resident_mb()
        finally:
            shutdown_app(app)
    print(f"{panels:,} panels registered (and their first schedules sealed) in {registered:.1f} s")
    for name, ms in figures.items():
        print(f"  GET /api/v1/panels, {name}, {PAGE} a page: {ms:.1f} ms (target < 100 ms)")
    print(f"  the live fleet's rows for every panel: {rows_ms:.0f} ms; with their JSON {live_ms:.0f} ms,")
    print(f"    {len(live.encode()) / 1e6:.1f} MB sent to each viewer whenever anything changes")
    print(f"  controller's resident memory: {memory:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=1000, help="how many panels (default 1,000)")
    main(parser.parse_args().panels)
