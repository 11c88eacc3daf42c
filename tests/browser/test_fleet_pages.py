"""A technician finds panels in a large fleet: a summary of the whole fleet on top, 50 rows a page, a
search by panel or commune that ignores accents, and a URL that keeps the view through a reload or a link;
axe-core finds no serious or critical violation on a page of a fleet that needs paging."""

from __future__ import annotations

import re

import pytest

from controller.domain.panels import register_panel
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

COMMUNES = [("01034", "Belley"), ("01283", "Oyonnax"), ("01173", "Gex")]


def register_many(site: Site, count: int) -> None:
    """Set-up, not the user's job: panels in the database, without agents (so all offline)."""
    with site.live.app.app_context():
        db = get_db()
        with transaction(db):
            for number in range(1, count + 1):
                insee, commune = COMMUNES[number % len(COMMUNES)]
                register_panel(
                    db,
                    {
                        "id": f"essai-{number:03d}",
                        "name": f"Essai {number:03d}",
                        "commune_insee": insee,
                        "commune_name": commune,
                        "profile": "led-amber-192x64" if number % 2 else "epaper-bw-800x480",
                    },
                )


def names(page: object) -> list[str]:
    return page.locator("#fleet tbody tr td:first-child a").all_text_contents()  # type: ignore[attr-defined]


def test_a_technician_searches_without_accents_and_shares_the_view(site: Site, chromium: object) -> None:
    site.add_user("technicien", "technician")
    page = site.log_in(chromium, "technicien")
    page.get_by_role("link", name="Parc").click()
    page.locator(f'tr[data-panel="{DEMO_EPAPER["id"]}"]').wait_for()
    page.get_by_text("3 panneau(x) : 0 en ligne, 3 hors ligne").wait_for()
    assert not page.get_by_role("button", name="suivant »").is_visible(), "one page needs no paging"

    page.get_by_label("Rechercher (panneau ou commune)").fill("amberieu")
    page.locator(f'tr[data-panel="{DEMO_LED["id"]}"]').wait_for(state="detached")
    assert names(page) == [DEMO_EPAPER["name"]]
    page.get_by_label("Rechercher (panneau ou commune)").fill("BRESSE")
    page.locator(f'tr[data-panel="{DEMO_EPAPER["id"]}"]').wait_for(state="detached")
    page.get_by_role("button", name=re.compile(r"^Panneau")).click()
    page.get_by_role("button", name=re.compile(r"^Panneau")).click()  # the second click sorts from Z to A
    page.locator(f'tr[data-panel="{DEMO_RGB["id"]}"] + tr[data-panel="{DEMO_LED["id"]}"]').wait_for()
    assert names(page) == [DEMO_RGB["name"], DEMO_LED["name"]]
    page.get_by_label("Type").select_option("LED")
    site.shot(page, "1-fleet-searched-sorted")
    assert re.search(r"q=BRESSE.*kind=led.*sort=name.*dir=desc", page.url), page.url

    shared = site.log_in(chromium, "technicien")  # a colleague opens the link
    shared.goto(page.url)
    shared.locator(f'tr[data-panel="{DEMO_RGB["id"]}"]').wait_for()
    assert shared.get_by_label("Rechercher (panneau ou commune)").input_value() == "BRESSE"
    assert shared.get_by_label("Type").input_value() == "led"
    assert names(shared) == [DEMO_RGB["name"], DEMO_LED["name"]]
    assert shared.locator('th[aria-sort="descending"]').text_content() == "Panneau"
    site.shot(shared, "2-fleet-link-opened")


def test_a_technician_pages_through_a_fleet_of_123_panels(site: Site, chromium: object) -> None:
    register_many(site, 120)  # beside the three demo panels
    site.add_user("technicien", "technician")
    page = site.log_in(chromium, "technicien")
    page.get_by_role("link", name="Parc").click()
    page.get_by_text("123 panneau(x) : 0 en ligne, 123 hors ligne, 0 en panne").wait_for()
    assert page.locator("#fleet tbody tr").count() == 50
    assert page.get_by_role("button", name="« précédent").is_disabled()
    first_page = names(page)
    assert first_page[:3] == [DEMO_EPAPER["name"], DEMO_LED["name"], DEMO_RGB["name"]]
    site.shot(page, "1-fleet-first-page")
    site.assert_accessible(page, "technicien /parc, 123 panels, page 1 of 3")

    page.get_by_role("button", name="suivant »").click()
    page.get_by_text("Page 2 sur 3").wait_for()
    second_page = names(page)
    assert len(second_page) == 50 and second_page[0] == "Essai 048"
    assert re.search(r"[?&]page=2\b", page.url), page.url

    page.get_by_label("Type").select_option("e-paper")  # a new filter starts again at page 1
    page.get_by_text("Page 1 sur 2").wait_for()
    page.get_by_text("61 panneau(x) correspondent sur 123").wait_for()
    page.get_by_role("button", name="suivant »").click()
    page.get_by_text("Page 2 sur 2").wait_for()
    assert page.get_by_role("button", name="suivant »").is_disabled()
    last_page = names(page)
    assert len(last_page) == 11
    site.shot(page, "2-fleet-epaper-second-page")
    site.assert_accessible(page, "technicien /parc, 123 panels, e-paper, page 2 of 2")

    page.reload()
    page.get_by_text("Page 2 sur 2").wait_for()
    assert page.get_by_label("Type").input_value() == "epaper"
    assert names(page) == last_page
    page.get_by_text("123 panneau(x) : 0 en ligne, 123 hors ligne").wait_for()
    site.shot(page, "3-fleet-reloaded")
