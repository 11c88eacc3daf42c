"""The prefecture sends an emergency alert from a phone: it pre-empts the commune's message on the panel,
the page counts the panels that confirmed it; cancelled, the panel goes back to the message."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from controller.domain.alerts import alert_item_id
from tests.support import DEMO_LED, first_page, same_pixels, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

MESSAGE = "Marché couvert samedi matin"
ALERT = "Crue de la Reyssouze : route de Jasseron fermée"


def test_an_alert_pre_empts_the_panel_and_is_cancelled(site: Site, chromium: object) -> None:
    site.add_user("prefecture", "campaign-manager")
    site.live.start_agent(DEMO_LED["id"])
    site.live.post(MESSAGE, [DEMO_LED["id"]])
    message = first_page(MESSAGE, DEMO_LED["profile"])
    wait_for(
        lambda: same_pixels(site.live.screen(DEMO_LED["id"]), message), "the panel shows the message", 30
    )

    page = site.log_in(chromium, "prefecture", phone=True)
    page.get_by_role("link", name="Alerte", exact=True).click()
    page.get_by_label("Texte de l’alerte").fill(ALERT)
    page.get_by_label("Expire le").fill((datetime.now() + timedelta(hours=6)).strftime("%Y-%m-%dT%H:00"))
    page.get_by_label("Bourg-en-Bresse (01053)").check()
    site.shot(page, "1-manager-writes-the-alert")
    page.get_by_role("button", name="Envoyer l’alerte").click()
    dialog = page.get_by_role("dialog", name="Envoyer l’alerte à 2 panneaux dans 1 commune ?")
    dialog.get_by_role("img").nth(1).wait_for()  # both kinds of panel in Bourg
    site.shot(page, "1b-manager-confirms-on-a-phone")
    dialog.get_by_role("button", name="Envoyer", exact=True).click()
    page.get_by_text("Alerte n° 1 envoyée.").wait_for()
    row = page.locator('#alerts tr[data-alert="1"]')
    row.get_by_text("à l’antenne").wait_for()

    # Bourg has two panels; the one running confirms, and shows the alert instead of the message.
    row.get_by_text("1 panneau(x) sur 2").wait_for()
    wait_for(
        lambda: site.live.panel(DEMO_LED["id"])["showing"]["item_id"] == alert_item_id(1),
        "the panel reports the alert on air",
        30,
    )
    wait_for(lambda: not same_pixels(site.live.screen(DEMO_LED["id"]), message), "the message is gone", 30)
    site.shot(page, "2-alert-confirmed-by-the-panel")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Annuler").click()
    row.get_by_text("annulée").wait_for()
    wait_for(
        lambda: same_pixels(site.live.screen(DEMO_LED["id"]), message), "the panel is back to the message", 30
    )
    site.shot(page, "3-alert-cancelled-message-back")
