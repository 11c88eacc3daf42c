"""A technician watches what a rotating panel has on air, on the fleet page and the panel's page: the
item and its page turn with the signed schedule while nothing is published again, beside what the
panel itself last reported; a test pattern sent from the page is said to be up instead."""

from __future__ import annotations

import pytest

from tests.support import DEMO_LED, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LED = DEMO_LED["id"]


def test_on_air_follows_the_rotation_without_anything_published_again(site: Site, chromium: object) -> None:
    site.add_user("technicien", "technician")
    site.live.start_agent(LED)
    # A round of 6 s: the two pages of the first message, then the second message, 2 s each.
    for body in (
        {"text": "Fermeture de la mairie[np]Réouverture lundi 9 h", "markup": "multi"},
        {"text": "Marché de Noël place Bernard"},
    ):
        response = site.live.client.post("/api/v1/messages", json={**body, "panels": [LED], "dwell_s": 2})
        assert response.status_code == 201, response.json
    wait_for(
        lambda: site.live.panel(LED)["online"] and site.live.panel(LED)["up_to_date"], "schedule applied", 30
    )
    published = site.live.panel(LED)["desired_seq"]

    page = site.log_in(chromium, "technicien")
    page.get_by_role("link", name="Parc").click()
    row = page.locator(f'tr[data-panel="{LED}"]')
    on_air = row.locator(".on-air-now")
    row.get_by_text("d’après le programme signé").wait_for()
    row.get_by_text("Signalé par le panneau le ").wait_for()  # the panel's own report, with its time
    on_air.filter(has_text="Fermeture de la mairie").filter(has_text="page 2 sur 2").wait_for()
    picture = row.locator("img.frame")
    second_page = picture.get_attribute("src")
    site.shot(page, "1-fleet-page-2-on-air")
    on_air.filter(has_text="Marché de Noël").wait_for()
    assert "page" not in on_air.inner_text()  # a one-page message
    wait_for(lambda: picture.get_attribute("src") != second_page, "the picture of the next item")
    site.shot(page, "2-fleet-next-item-on-air")

    page.get_by_role("link", name=DEMO_LED["name"]).click()
    now = page.locator("#on-air .on-air-now")
    # In the order they come on air: the second message, then the first's page 1, 2 s later.
    now.filter(has_text="Marché de Noël").wait_for()
    now.filter(has_text="Fermeture de la mairie").filter(has_text="page 1 sur 2").wait_for()
    assert page.locator("#on-air-picture img").is_visible()
    page.locator("#reported").get_by_text("Signalé par le panneau le ").wait_for()
    site.shot(page, "3-panel-page-on-air")
    assert site.live.panel(LED)["desired_seq"] == published, "nothing was published again"

    page.get_by_role("button", name="Afficher la mire").click()
    page.locator("#on-air").get_by_text("Le panneau affiche à la place « mire » jusqu’à ").wait_for()
    site.shot(page, "4-panel-page-test-pattern-instead")
