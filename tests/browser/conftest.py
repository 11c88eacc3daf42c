"""A real headless Chromium (Debian's package) driven by Playwright, against the controller served over
HTTP on a free loopback port, with the Live harness's real Mosquitto and real simulated agents."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Site,
)
from tests.support.live import Live

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


@pytest.fixture
def site(live_mosquitto: Live, request: pytest.FixtureRequest) -> Iterator[Site]:
    root = Path(os.environ.get("RELAIS_TEST_ARTIFACTS") or REPO / "test-artifacts")
    artifacts = root / request.node.name
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    server = make_server("127.0.0.1", 0, live_mosquitto.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    site = Site(f"http://127.0.0.1:{server.server_port}", live_mosquitto, artifacts)
    try:
        yield site
    finally:
        server.shutdown()
        thread.join()
    if site.problems:
        pytest.fail("the browser saw:\n" + "\n".join(dict.fromkeys(site.problems)))
