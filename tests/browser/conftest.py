"""A real headless Chromium (Debian's package) driven by Playwright, against the controller served over
HTTP on a free loopback port, with the Live harness's real Mosquitto and real simulated agents."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from controller import accounts
from controller.context import get_db
from controller.db import transaction
from tests.conftest import Live

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "mot de passe du test"
REPO = Path(__file__).resolve().parents[2]

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


@dataclass
class Site:
    """The controller on a real HTTP port, its Live harness, and a folder for this test's screenshots."""

    url: str
    live: Live
    artifacts: Path

    def add_user(self, name: str, role: str, commune: str | None = None) -> None:
        with self.live.app.app_context():
            db = get_db()
            with transaction(db):
                accounts.create_user(db, name, role, PASSWORD, commune)

    def shot(self, page: object, step: str) -> Path:
        """A screenshot of this step, kept as a test artifact."""
        path = self.artifacts / f"{step}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    def log_in(self, browser: object, name: str, *, phone: bool = False) -> object:
        """A new browser context (its own cookies) logged in as ``name``; its page is returned."""
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = browser.new_context(viewport=size, locale="fr-FR", timezone_id="Europe/Paris")  # type: ignore[attr-defined]
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{self.url}/login")
        page.get_by_label("Identifiant").fill(name)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r"^(?!.*/login)"))
        return page


@pytest.fixture
def site(live: Live, request: pytest.FixtureRequest) -> Iterator[Site]:
    root = Path(os.environ.get("RELAIS_TEST_ARTIFACTS") or REPO / "test-artifacts")
    artifacts = root / request.node.name
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    server = make_server("127.0.0.1", 0, live.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", live, artifacts)
    finally:
        server.shutdown()
        thread.join()
