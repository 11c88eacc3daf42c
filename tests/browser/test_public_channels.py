"""A commune's public channels as people use them: a passer-by reads the commune's page on a phone, without
login and without script; the commune's editor copies the widget's code from « Diffusion » into the
commune's website (another origin) and the message shows in its frame; nothing waiting for approval shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import DEMO_LED, client_as, http_served
from tests.support.browser import PHONE, Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ON_AIR = "Conseil municipal jeudi 19 h : salle des fêtes !"
TO_COME = "Vide-grenier dimanche place de l’Église"
WAITING = "Brouillon qui attend le valideur"


def _seed(site: Site) -> None:
    """Bourg's editor queues a message on air for a week and one for next week, then the commune asks for
    a second person and the editor queues a third, which waits."""
    site.add_user("mairie-bourg", "commune-editor", "01053")
    editor = client_as(site.live.app, "mairie-bourg")
    start = datetime.now(UTC) + timedelta(days=7)
    for text, fields in (
        (ON_AIR, {"ends_at": _iso(start)}),
        (TO_COME, {"starts_at": _iso(start), "ends_at": _iso(start + timedelta(hours=6))}),
    ):
        answer = editor.post("/api/v1/messages", json={"text": text, "panels": [DEMO_LED["id"]], **fields})
        assert answer.status_code == 201, answer.json
    with site.live.app.app_context(), transaction(get_db()):
        get_db().execute("update organisations set messages_need_approval = 1 where id = 'commune-01053'")
    waiting = editor.post("/api/v1/messages", json={"text": WAITING, "panels": [DEMO_LED["id"]]})
    assert waiting.json["status"] == "pending-approval"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_passer_by_reads_the_communes_page_on_a_phone_without_script(site: Site, chromium: object) -> None:
    _seed(site)
    context = chromium.new_context(viewport=PHONE, locale="fr-FR", java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    site.watch(page)
    page.goto(f"{site.url}/c/01053")
    page.get_by_role("heading", name="Bourg-en-Bresse", level=1).wait_for()
    now = page.locator("section", has=page.get_by_role("heading", name="En ce moment"))
    now.get_by_text("Conseil municipal jeudi 19\u00a0h\u00a0: salle des fêtes\u00a0!").wait_for()
    assert now.locator(".when").first.inner_text().startswith("Du ")
    coming = page.locator("section", has=page.get_by_role("heading", name="À venir"))
    coming.get_by_text(TO_COME).wait_for()
    assert page.get_by_text(WAITING).count() == 0
    site.shot(page, "1-public-page-phone")
    page.get_by_role("link", name="Flux Atom").wait_for()
    context.close()


class _CommuneWebsite(BaseHTTPRequestHandler):
    """The commune's own website, on another origin: one page with whatever code the editor pasted."""

    pasted = ""

    def do_GET(self) -> None:
        body = f'<!doctype html><html lang="fr"><title>Mairie</title><h1>Mairie</h1>{self.pasted}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def commune_website() -> Iterator[str]:
    with http_served(_CommuneWebsite, "localhost") as server:  # another origin than the controller's
        yield f"http://localhost:{server.server_port}/"


def test_the_editor_copies_the_widget_into_the_communes_website(
    site: Site, chromium: object, commune_website: str
) -> None:
    _seed(site)
    page = site.log_in(chromium, "mairie-bourg")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)  # type: ignore[attr-defined]
    diffusion = page.locator("#diffusion")
    diffusion.get_by_role("heading", name="Diffusion").wait_for()
    diffusion.get_by_role("button", name="Copier le code du cadre").click()
    diffusion.get_by_text("Code copié").wait_for()
    site.shot(page, "1-diffusion-copied")
    pasted = page.evaluate("navigator.clipboard.readText()")  # type: ignore[attr-defined]
    assert pasted.startswith('<iframe src="') and "/c/01053/widget" in pasted

    row = page.locator("#messages tbody tr", has_text="Conseil municipal")
    with page.expect_download() as download:  # type: ignore[attr-defined]
        row.get_by_role("link", name="Affiche A4").click()
    poster = download.value
    assert poster.suggested_filename.endswith("-A4.pdf")
    assert Path(poster.path()).read_bytes().startswith(b"%PDF-")

    _CommuneWebsite.pasted = pasted
    website = page.context.new_page()  # type: ignore[attr-defined]
    site.watch(website)
    website.goto(commune_website)
    frame = website.frame_locator("iframe")
    frame.get_by_text("Conseil municipal jeudi 19\u00a0h\u00a0: salle des fêtes\u00a0!").wait_for()
    frame.get_by_text(TO_COME).wait_for()
    assert frame.get_by_text(WAITING).count() == 0
    site.shot(website, "2-commune-website-with-widget")
    site.assert_accessible(website.frames[1], "the widget in the commune's website")
