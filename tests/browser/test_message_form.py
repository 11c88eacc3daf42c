"""A commune editor's message form: clearing the start of a message being edited starts it now, a saved
message leaves an empty form behind; a long text shows, panel by panel, its pages and seconds, a warning
on the narrow banner, and what refusing paging does; a title the chosen layout has no zone for is said
under the preview."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from controller.domain.panels import register_panel
from controller.web.context import get_db
from tests.support import DEMO_LED, DEMO_RGB, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PARIS = ZoneInfo("Europe/Paris")
BANNER = {
    "id": "bourg-bandeau-gare",
    "name": "Bourg-en-Bresse — bandeau gare",
    "commune_insee": "01053",
    "commune_name": "Bourg-en-Bresse",
    "profile": "led-amber-96x16",
}
# Two sentences: 2 pages on the 192x64 panels, 5 (20 s) on the 96x16 banner.
LONG = "Réunion publique sur le plan local d’urbanisme jeudi à 20 h à la salle des fêtes. " * 2
DATE_FIELDS = ("Texte du message", "À partir du", "Jusqu’au", "Heures (facultatif)")


def _empty_new_form(page: object) -> None:
    page.get_by_role("heading", name="Programmer un message").wait_for()
    assert [page.get_by_label(field).input_value() for field in DATE_FIELDS] == ["", "", "", ""]


def test_clearing_the_start_of_an_edit_starts_it_now_and_the_form_empties(
    site: Site, chromium: object
) -> None:
    site.add_user("mairie-bourg", "commune-editor", "01053")
    page = site.log_in(chromium, "mairie-bourg")
    tomorrow = (datetime.now(PARIS) + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    next_week = (datetime.now(PARIS) + timedelta(days=7)).strftime("%Y-%m-%dT18:00")

    page.get_by_label("Texte du message").fill("Vide-grenier dimanche")
    page.get_by_label("À partir du").fill(tomorrow)
    page.get_by_label("Jusqu’au").fill(next_week)
    page.get_by_role("button", name="Programmer", exact=True).click()
    done = page.locator("#message-form .status.ok")
    done.wait_for()
    message_id = re.search(r"Message n° (\d+)", done.inner_text()).group(1)
    row = page.locator(f'#messages tr[data-message="{message_id}"]')
    row.get_by_text("programmé").wait_for()
    _empty_new_form(page)  # the next message inherits none of its dates
    site.shot(page, "1-queued-for-tomorrow-form-empty")

    row.get_by_role("button", name="Modifier").click()
    page.get_by_role("heading", name=f"Modifier le message n° {message_id}").wait_for()
    assert page.get_by_label("À partir du").input_value() == tomorrow
    page.get_by_label("À partir du").fill("")
    page.get_by_role("button", name="Enregistrer les modifications").click()
    done.get_by_text(f"Message n° {message_id} modifié.").wait_for()
    row.get_by_text("à l’antenne").wait_for()  # it starts now, not tomorrow
    _empty_new_form(page)
    site.shot(page, "2-start-cleared-on-air-form-empty")

    row.get_by_role("button", name="Modifier").click()
    page.get_by_role("heading", name=f"Modifier le message n° {message_id}").wait_for()
    started = page.get_by_label("À partir du").input_value()
    assert started.startswith(datetime.now(PARIS).strftime("%Y-%m-%dT")), started
    assert page.get_by_label("Jusqu’au").input_value() == next_week
    site.shot(page, "3-the-new-start-is-today")
    page.get_by_role("button", name="Abandonner la modification").click()
    _empty_new_form(page)


def test_a_long_text_shows_pages_and_seconds_per_panel_and_paging_can_be_refused(
    site: Site, chromium: object
) -> None:
    with site.live.app.app_context():
        register_panel(get_db(), BANNER)
    site.add_user("mairie-bourg", "commune-editor", "01053")
    page = site.log_in(chromium, "mairie-bourg")
    previews = page.locator("#previews")

    page.get_by_label("Texte du message").fill(LONG)
    banner = previews.locator(f'figure[data-panel="{BANNER["id"]}"]')
    banner.locator("figcaption").get_by_text(re.compile(r"5 pages, \d+ s")).wait_for()
    banner.get_by_text(f"Trop long pour {BANNER['name']}").wait_for()
    for panel in (DEMO_LED, DEMO_RGB):
        wide = previews.locator(f'figure[data-panel="{panel["id"]}"]')
        wide.locator("figcaption").get_by_text(re.compile(r"2 pages, \d+ s")).wait_for()
        assert wide.locator(".field-error").count() == 0  # two pages in under 30 s: no warning
    site.shot(page, "1-pages-and-seconds-banner-warned")

    site.expect(r"/api/v1/preview\.png$")  # refused on purpose: the text needs pages
    page.get_by_label("Découper en pages un texte trop long").uncheck()
    previews.get_by_text(f"{BANNER['name']} : le texte ne tient pas").wait_for()
    previews.get_by_text("il faudrait 5 pages").wait_for()
    site.shot(page, "2-paging-refused-text-does-not-fit")

    page.get_by_label("Texte du message").fill("Vide-grenier dimanche")
    for panel in (DEMO_LED, DEMO_RGB, BANNER):
        figure = previews.locator(f'figure[data-panel="{panel["id"]}"]')
        figure.locator("figcaption").get_by_text(re.compile(r"1 page, \d+ s")).wait_for()
    site.shot(page, "3-a-short-text-on-one-page")


def test_a_title_the_chosen_layout_has_no_place_for_is_said_under_the_preview(
    site: Site, chromium: object
) -> None:
    site.add_user("mairie-bourg", "commune-editor", "01053")
    page = site.log_in(chromium, "mairie-bourg")
    previews = page.locator("#previews")
    led = previews.locator(f'figure[data-panel="{DEMO_LED["id"]}"] figcaption')
    dropped = "le titre n'est pas affiché : la mise en page « text » n'a pas de zone de titre"

    page.get_by_label("Mise en page", exact=True).select_option(label="Texte seul")
    page.get_by_label("Titre (selon la mise en page)").fill("Mairie de Bourg")
    page.get_by_label("Texte du message").fill("Vide-grenier dimanche")
    led.get_by_text(dropped).wait_for()
    site.shot(page, "1-the-title-is-not-shown-says-the-preview")

    page.get_by_label("Mise en page", exact=True).select_option(label="Titre et texte")
    wait_for(lambda: dropped not in led.inner_text(), "the note to go with a layout that has a title")
    led.get_by_text(re.compile(r"1 page, \d+ s")).wait_for()
    site.shot(page, "2-a-layout-with-a-title-no-note")
