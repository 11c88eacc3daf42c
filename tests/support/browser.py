"""The browser tests' site: the controller on a real HTTP port, its harness, and what a test watches."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from controller.domain import accounts
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import wait_for
from tests.support.live import Live

CHROMIUM = Path("/usr/bin/chromium")

REPO = Path(__file__).resolve().parents[2]


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


PASSWORD = "mot de passe du test"


PHONE = {"width": 390, "height": 844}


DESKTOP = {"width": 1280, "height": 900}


LOGIN_LABELS = {
    "fr": ("Identifiant", "Mot de passe", "Se connecter"),
    "en": ("User name", "Password", "Log in"),
}


# Every <img> has finished loading, or failed, but for lazy ones below the window, which the browser
# rightly leaves for later; then which of them (by alt text) drew nothing.
SETTLED_IMAGES = (
    "[...document.images].every(image => image.complete"
    " || (image.loading === 'lazy' && image.getBoundingClientRect().top > innerHeight))"
)


# An <img> with no source yet (a panel's screen before its first screenshot) is not shown, not broken;
# nor is a lazy one not loaded yet.
BROKEN_IMAGES = (
    "[...document.images].filter(image => image.getAttribute('src') && image.complete && image.naturalWidth === 0)"
    ".map(image => image.alt || image.src)"
)


def in_french(count: int) -> str:
    """A count as the pages write it in French: « 1 000 », thousands set apart by a narrow no-break space."""
    return f"{count:,}".replace(",", "\u202f")


def wait_until(page: object, expression: str) -> None:
    """Poll a JavaScript expression in the page until it is truthy. Not ``page.wait_for_function``:
    Playwright builds its predicate with ``new Function``, which the pages' Content-Security-Policy
    (no 'unsafe-eval') refuses, as it should."""
    wait_for(lambda: page.evaluate(expression), f"the page to make true: {expression}", timeout=20)  # type: ignore[attr-defined]


# What RGAA asks first: axe-core's serious and critical findings fail a test; moderate and minor ones are kept
# in the test's artifacts (axe.txt) to be read.
AXE_FAILING = {"serious", "critical"}


def axe_findings(page: object, *, stylesheets: bool = True) -> list[dict[str, str]]:
    """axe-core's violations on the page as it is now (dialogs and fields in their current state), one per
    element: rule, impact, the element's selector and HTML, and what is wrong. ``stylesheets=False`` skips
    reading the style sheets again (a third of axe's time) for their one rule (no orientation locked): every
    page has the same app.css, so a tour reads it once."""
    # The dev extra's axe-core, bundled with its binding (nothing fetched), imported only where it runs.
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"], "preload": stylesheets}).response
    return [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "element": " ".join(str(part) for part in node["target"]),
            "html": node["html"][:160],
            "why": " ".join(node.get("failureSummary", "").split()),
        }
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


def fill_campaign_form(page: object, name: str, days: int, share: int, commune: str, text: str) -> None:
    """The prefecture's « Nouvelle campagne » form, from tomorrow 8 h for ``days`` days, one commune invited."""
    start = datetime.now() + timedelta(days=1)
    page.get_by_label("Nom de la campagne").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("Début").fill(start.strftime("%Y-%m-%dT08:00"))  # type: ignore[attr-defined]
    page.get_by_label("Fin").fill((start + timedelta(days=days)).strftime("%Y-%m-%dT20:00"))  # type: ignore[attr-defined]
    page.get_by_label("Part du temps d’antenne (%)").fill(str(share))  # type: ignore[attr-defined]
    page.get_by_label(commune).check()  # type: ignore[attr-defined]
    page.get_by_label("Message de la campagne").fill(text)  # type: ignore[attr-defined]


@dataclass
class Site:
    """The controller on a real HTTP port, its Live harness, and a folder for this test's screenshots."""

    url: str
    live: Live
    artifacts: Path
    problems: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)
    # The browser contexts its users logged in with, closed with the site: a page left open would go on
    # asking a stopped server on its timers, and take the focus (and the clipboard) from later tests'.
    contexts: list[object] = field(default_factory=list)

    def add_user(self, name: str, role: str, commune: str | None = None) -> None:
        with self.live.app.app_context():
            db = get_db()
            with transaction(db):
                accounts.create_user(db, name, role, PASSWORD, commune)

    def shot(self, page: object, step: str, *, full_page: bool = True) -> Path:
        """A screenshot of this step, kept as a test artifact, once every image on the page has arrived:
        a preview or screenshot that never draws (broken, or refused) fails the test here. ``full_page``
        False keeps to the window: a page of a large fleet is long, and lazy images below stay unloaded."""
        wait_until(page, SETTLED_IMAGES)
        broken = page.evaluate(BROKEN_IMAGES)  # type: ignore[attr-defined]
        assert not broken, f"{step}: images that did not draw: {broken}"
        path = self.artifacts / f"{step}.png"
        page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
        return path

    def axe(self, page: object, where: str, *, stylesheets: bool = True) -> list[str]:
        """axe-core on the page as the user sees it now: every finding noted in this test's axe.txt, and
        the serious and critical ones returned, each naming where (page, role, view), rule and element."""
        findings = axe_findings(page, stylesheets=stylesheets)
        lines = [
            f"{where}: {item['rule']} ({item['impact']}) on {item['element']}: {item['html']} — {item['why']}"
            for item in findings
        ]
        with (self.artifacts / "axe.txt").open("a", encoding="utf-8") as notes:
            notes.writelines(line + "\n" for line in lines)
        return [line for line, item in zip(lines, findings, strict=True) if item["impact"] in AXE_FAILING]

    def assert_accessible(self, page: object, where: str) -> None:
        """No serious or critical axe-core violation on the page as it is now."""
        found = self.axe(page, where)
        assert not found, "axe-core's serious or critical violations:\n" + "\n".join(found)

    def expect(self, pattern: str) -> None:
        """A 4xx/5xx answer (and the console line it makes) that this test provokes on purpose."""
        self.expected.append(re.compile(pattern))

    def _problem(self, what: str, url: str) -> None:
        if not any(pattern.search(url) for pattern in self.expected):
            self.problems.append(f"{what} ({url})")

    def watch(self, page: object) -> None:
        """Note every JavaScript error, console error and 4xx/5xx answer: the test fails on any unexpected."""
        page.on("pageerror", lambda exc: self.problems.append(f"JavaScript error: {exc} ({page.url})"))  # type: ignore[attr-defined]
        page.on(  # type: ignore[attr-defined]
            "console",
            lambda message: (
                message.type == "error"
                and self._problem(f"console: {message.text}", message.location.get("url") or page.url)
            ),  # type: ignore[attr-defined]
        )
        page.on(  # type: ignore[attr-defined]
            "response",
            lambda response: (
                response.status >= 400
                and self._problem(f"{response.status} {response.request.method}", response.url)
            ),
        )

    def log_in(
        self,
        browser: object,
        name: str,
        *,
        phone: bool = False,
        lang: str = "fr",
        password: str = PASSWORD,
        clock: bool = False,
    ) -> object:
        """A new browser context (its own cookies) logged in as ``name``; its page is returned, watched.
        ``clock``: the pages' timers in the test's hands from the login page on; time goes by as usual,
        and ``page.clock.run_for(ms)`` makes a page that refreshes itself every few seconds do it now."""
        context = browser.new_context(
            viewport=PHONE if phone else DESKTOP, locale="fr-FR", timezone_id="Europe/Paris"
        )  # type: ignore[attr-defined]
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        if clock:
            page.clock.install()
        self.watch(page)
        if lang != "fr":
            page.goto(f"{self.url}/langue/{lang}?next=/login")
        else:
            page.goto(f"{self.url}/login")
        labels = LOGIN_LABELS[lang]
        page.get_by_label(labels[0]).fill(name)
        page.get_by_label(labels[1]).fill(password)
        page.get_by_role("button", name=labels[2]).click()
        page.wait_for_url(re.compile(r"^(?!.*/login)"))
        return page


@contextmanager
def served(live: Live, artifacts: Path) -> Iterator[Site]:
    """The controller of ``live`` over HTTP on a free loopback port while the block lasts, as a Site."""
    server = make_server("127.0.0.1", 0, live.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    site = Site(f"http://127.0.0.1:{server.server_port}", live, artifacts)
    try:
        yield site
    finally:
        for context in site.contexts:
            context.close()  # type: ignore[attr-defined]
        server.shutdown()
        thread.join()


def artifacts_folder(request: pytest.FixtureRequest) -> Path:
    """This test's own empty folder of screenshots."""
    root = Path(os.environ.get("RELAIS_TEST_ARTIFACTS") or REPO / "test-artifacts")
    artifacts = root / request.node.name
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    return artifacts


@contextmanager
def one_test(site: Site, request: pytest.FixtureRequest) -> Iterator[Site]:
    """A site, new or kept for a module, given to one test: its own screenshots, nothing expected yet;
    the test fails on any unexpected thing its browser saw."""
    site.artifacts, site.problems, site.expected = artifacts_folder(request), [], []
    yield site
    if site.problems:
        pytest.fail("the browser saw:\n" + "\n".join(dict.fromkeys(site.problems)))
