"""A real headless Chromium (Debian's package) driven by Playwright, against the controller served over
HTTP on a free loopback port, with the Live harness's real Mosquitto and real simulated agents."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from controller.domain import accounts
from controller.domain.panels import get_panels, register_panel
from controller.publishing.schedules import republish
from controller.storage.db import transaction
from controller.web.context import get_db, signing_key
from panel_agent.fleet import FleetSim
from programs.demo import DEMO_ACCOUNTS, DEMO_PANELS
from programs.department import fleet_panel_specs, sim_panels
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import wait_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Site, artifacts_folder, one_test, served
from tests.support.live import Live, live_controller

if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed (./run tests installs it when root)", allow_module_level=True
    )
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def site(live_mosquitto: Live, request: pytest.FixtureRequest) -> Iterator[Site]:
    with served(live_mosquitto, artifacts_folder(request)) as site, one_test(site, request):
        yield site


# A department as programs/department.py deals it out: 997 simulated panels beside the 3 demo ones.
DEPARTMENT_PANELS = 1000


@pytest.fixture(scope="module")
def department_controller(
    broker: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """One controller for a module, with 1,000 panels in the 65 communes of the Ain that
    programs/department.py deals out, each with its first schedule signed, and a user per role (the
    demo's accounts). Bourg-en-Bresse's simulated panels run (in one fleet process); the other panels
    never connected. Commune messages in Bourg-en-Bresse wait for a second person; the prefecture's
    organisation has its name."""
    folder = tmp_path_factory.mktemp("department")
    specs = fleet_panel_specs(DEPARTMENT_PANELS - len(DEMO_PANELS))
    with live_controller(broker, folder) as live:
        with live.app.app_context():
            db = get_db()
            with transaction(db):
                for spec in specs:
                    register_panel(db, spec)
                for name, role, commune, organisation in DEMO_ACCOUNTS:
                    accounts.create_user(db, name, role, PASSWORD, commune, organisation)
                db.execute("update organisations set messages_need_approval = 1 where id = 'commune-01053'")
                db.execute(
                    "update organisations set name = 'Préfecture de l’Ain' where id = 'prefecture-ain'"
                )
            bourg = list(
                get_panels(db, [str(s["id"]) for s in specs if s["commune_insee"] == "01053"]).values()
            )
            public_key = wire.public_key_to_text(signing_key().public_key())
        fleet = FleetSim(
            sim_panels(bourg),
            broker_url=broker.url,
            public_key_text=public_key,
            work_dir=folder / "fleet",
            topic_base=live.topics.base,
        )
        with fleet, served(live, folder) as site:
            with live.app.app_context():  # while the fleet's process starts: most of the set-up's time,
                # each commune's name drawn on each kind of panel, once, for every panel's first schedule
                republish(get_db(), signing_key(), now=time.time(), panel_ids=[str(s["id"]) for s in specs])
            wait_for(
                lambda: all(live.panel(panel.id)["online"] for panel in bourg), "Bourg's panels online", 30
            )
            yield site


@pytest.fixture(scope="module")
def department_user(department_controller: Site, chromium: object) -> Iterator[Callable[[str], Any]]:
    """Each user of the department logged in once for the module, in a browser context of their own:
    a test gets the user's page, back at their landing page."""
    pages: dict[str, Any] = {}

    def page_of(name: str) -> Any:
        if name in pages:
            pages[name].goto(department_controller.url + "/")
        else:
            pages[name] = department_controller.log_in(chromium, name)
        return pages[name]

    yield page_of
    for page in pages.values():
        page.context.close()


@pytest.fixture
def department(department_controller: Site, request: pytest.FixtureRequest) -> Iterator[Site]:
    """The module's department for one test: its own screenshots, and what its browser saw."""
    with one_test(department_controller, request) as site:
        yield site
