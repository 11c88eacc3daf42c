"""The API and the pages with a department or a region registered: what each answer costs, and what a
person waits for in headless Chromium.

Run: ``.venv/bin/python bench/panel_pages.py [--panels N]``. The controller's Flask app on a real SQLite
file, without a broker (panels registered and their first schedules sealed, as ``relais fleet-sim``
registers them, so every panel's state is unknown). Through its test client, medians of ``REPEAT``:

- ``GET /api/v1/panels`` pages of 100 (first, middle and last), one commune's panels, a commune user's
  first page, a search sorted by name (the fleet page's question), and the target picker's choices and
  panel search;
- one update of the fleet page's live stream (``/live/panels``) after one panel changed: its time and the
  bytes a viewer is sent.

Then served over HTTP on a loopback port, Debian's Chromium through Playwright (as the browser tests
launch it), medians of ``BROWSER_REPEAT``: the fleet page from its address to its first page of rows shown;
a panel's name typed in its search to that row alone shown; one panel's state changed in the database to
its row redrawn (the stream looks twice a second); the message form's panel search from a name typed to
the panel offered. Prints the controller's resident memory with the fleet registered.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from fleet_setup import machine, resident_mb, scratch_dir, wait_until
from werkzeug.serving import make_server

from controller import create_app, shutdown_app
from controller.domain import accounts
from controller.domain.panels import fleet_summary, latest_change
from controller.storage.db import transaction
from controller.web import context
from controller.web.context import broker_watch, get_db
from controller.web.pages import live_update
from programs.department import AIN_TOWNS, register_fleet, sim_panel_id

REPEAT = 15
BROWSER_REPEAT = 5
PAGE = 100
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "mot de passe du banc"


def timed(call: Callable[[], object], repeat: int = REPEAT) -> float:
    """Median milliseconds of ``repeat`` calls, after one to warm up."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def api_figures(app: Flask, panels: int) -> dict[str, float]:
    with app.app_context():
        db = get_db()
        tokens = {
            "admin": accounts.token_for(db, "bench"),
            "commune": accounts.token_for(db, "bench-bourg", "commune-editor", "01053"),
        }
    client = app.test_client()

    def get(path: str, who: str = "admin") -> Callable[[], object]:
        def call() -> None:
            response = client.get(path, headers={"Authorization": f"Bearer {tokens[who]}"})
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.json}")

        return call

    last = (panels - 1) // PAGE * PAGE
    middle = sim_panel_id(panels // 2)
    return {
        "first page": timed(get(f"/api/v1/panels?limit={PAGE}")),
        "middle page": timed(get(f"/api/v1/panels?limit={PAGE}&offset={last // 2 // PAGE * PAGE}")),
        "last page": timed(get(f"/api/v1/panels?limit={PAGE}&offset={last}")),
        f"one commune ({AIN_TOWNS['01053']})": timed(get(f"/api/v1/panels?limit={PAGE}&commune=01053")),
        "a commune user's first page": timed(get(f"/api/v1/panels?limit={PAGE}", "commune")),
        "the fleet page's: 50 found by commune, by name": timed(
            get("/api/v1/panels?limit=50&search=oyonnax&sort=name&dir=asc")
        ),
        "the picker's choices (the message form opening)": timed(get("/api/v1/targets")),
        "the picker's panel search, by name": timed(get(f"/api/v1/targets/panels?limit=13&search={middle}")),
    }


def live_figures(app: Flask) -> tuple[float, float, int]:
    """One panel's state changed: the time to make the stream's next update (the changed rows, then the
    fleet's summary, made once for all the viewers), and its bytes on the wire."""
    with app.test_request_context():
        db = get_db()
        before = latest_change(db)
        with transaction(db):
            db.execute(
                "insert into panel_status (panel_id, online, last_seen) values (?, 1, ?)"
                " on conflict (panel_id) do update set online = 1, last_seen = excluded.last_seen",
                [sim_panel_id(1), int(time.time())],
            )
        watch = broker_watch(None)
        rows_ms = timed(lambda: live_update(db, None, before, watch, watch))
        summary_ms = timed(lambda: fleet_summary(db, None, watch))
        version, panels = live_update(db, None, before, watch, watch)
        update = {"summary": fleet_summary(db, None, watch), "panels": panels}
    event = f"id: {version}\ndata: {json.dumps(update, ensure_ascii=False)}\n\n"
    return rows_ms, summary_ms, len(event.encode())


@contextmanager
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def median_ms(measure: Callable[[int], float]) -> float:
    """The median of ``BROWSER_REPEAT`` measures (each given its turn), after one to warm up."""
    measure(-1)
    return statistics.median(measure(turn) for turn in range(BROWSER_REPEAT))


def browser_figures(app: Flask, panels: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright  # the dev extra's, only where it runs

    with app.app_context():
        db = get_db()
        with transaction(db):
            accounts.create_user(db, "banc", "admin", PASSWORD, None)
    figures: dict[str, float] = {}
    with served(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(
            locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}
        )
        page.set_default_timeout(60_000)
        page.goto(f"{url}/login")
        page.get_by_label("Identifiant").fill("banc")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r"^(?!.*/login)"))
        rows = page.locator("#fleet tbody tr[data-panel]")

        def count_is(locator: Any, count: int) -> None:
            """Asked every few milliseconds: Playwright's own waits back off to a tenth of a second and more."""
            wait_until(lambda: locator.count() == count, f"{count} of {locator}", 60)

        def first_load(_turn: int) -> float:
            start = time.perf_counter()
            page.goto(f"{url}/parc", wait_until="commit")
            count_is(rows, min(panels, 50))
            return (time.perf_counter() - start) * 1000

        figures["fleet page: address to its first 50 rows shown"] = median_ms(first_load)

        def typed(turn: int) -> float:
            wanted = sim_panel_id(panels // 2 + turn)
            search = page.get_by_label("Rechercher (panneau ou commune)")
            search.fill("")
            count_is(rows, min(panels, 50))
            start = time.perf_counter()
            search.fill(wanted)
            count_is(page.locator(f'tr[data-panel="{wanted}"]'), 1)
            count_is(rows, 1)
            return (time.perf_counter() - start) * 1000

        figures["fleet page: a panel's name typed to its row alone shown"] = median_ms(typed)

        page.goto(f"{url}/parc")
        count_is(rows, min(panels, 50))
        shown = rows.first.get_attribute("data-panel")

        def live(turn: int) -> float:
            online = turn % 2 == 0
            page.wait_for_timeout(1500)  # the stream's last look long past
            start = time.perf_counter()
            with app.app_context():
                db = get_db()
                with transaction(db):
                    db.execute(
                        "insert into panel_status (panel_id, online) values (?, ?)"
                        " on conflict (panel_id) do update set online = excluded.online",
                        [shown, int(online)],
                    )
            count_is(page.locator(f'tr[data-panel="{shown}"][data-online="{str(online).lower()}"]'), 1)
            return (time.perf_counter() - start) * 1000

        figures["fleet page: a panel's state changed to its row redrawn (looked at twice a second)"] = (
            median_ms(live)
        )

        page.goto(f"{url}/messages")
        page.locator("#targets-count").get_by_text("Aucun panneau choisi.").wait_for()

        def picked(turn: int) -> float:
            wanted = sim_panel_id(panels // 3 + turn)
            search = page.get_by_label("Rechercher un panneau (nom ou commune)")
            search.fill("")
            start = time.perf_counter()
            search.fill(wanted)
            count_is(page.locator(f'#targets input[name="panels"][value="{wanted}"]'), 1)
            return (time.perf_counter() - start) * 1000

        figures["message form: a panel's name typed to the panel offered"] = median_ms(picked)
        browser.close()
    return figures


def main(panels: int) -> None:
    print(machine())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    with scratch_dir() as scratch:
        app = create_app({"DATA_DIR": Path(scratch) / "data", "TESTING": True})
        try:
            start = time.perf_counter()
            with app.app_context():
                register_fleet(get_db(), context.signing_key(), panels)
            registered = time.perf_counter() - start
            figures = api_figures(app, panels)
            rows_ms, summary_ms, update_bytes = live_figures(app)
            memory = resident_mb()
            browser: dict[str, Any] = browser_figures(app, panels)
        finally:
            shutdown_app(app)
    print(f"{panels:,} panels registered (and their first schedules sealed) in {registered:.1f} s")
    for name, ms in figures.items():
        print(f"  GET /api/v1/…, {name}: {ms:.1f} ms (target < 100 ms)")
    print(
        f"  the live stream's update after one panel changed: its rows {rows_ms:.1f} ms, the fleet's summary"
        f" {summary_ms:.1f} ms (once for every viewer), {update_bytes:,} bytes sent"
    )
    for name, ms in browser.items():
        print(f"  Chromium, {name}: {ms:.0f} ms")
    print(f"  controller's resident memory: {memory:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=1000, help="how many panels (default 1,000)")
    main(parser.parse_args().panels)
