"""The prefecture checks an alert before sending it: its preview on each kind of panel it reaches and the
count of panels and communes; it goes back (nothing is sent), then confirms, and follows commune by
commune, panel by panel, which real simulated panels confirmed it and which are offline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from controller.domain.panels import register_panel
from controller.rendering.profiles import get_profile
from controller.storage.db import transaction
from controller.web.context import get_db
from programs.department import COMMUNES, fleet_panel_specs
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, wait_for
from tests.support.browser import Site, in_french

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ALERT = "Crue de la Reyssouze : évacuez les berges"
KINDS = [get_profile(panel["profile"]).label for panel in (DEMO_LED, DEMO_RGB, DEMO_EPAPER)]


def test_an_alert_is_previewed_confirmed_and_followed_panel_by_panel(site: Site, chromium: object) -> None:
    site.add_user("prefecture", "campaign-manager")
    site.live.start_agent(DEMO_LED["id"])
    wait_for(lambda: site.live.panel(DEMO_LED["id"])["online"], "the Bourg entrance panel is online", 30)

    page = site.log_in(chromium, "prefecture")
    page.get_by_role("link", name="Alerte", exact=True).click()
    page.get_by_label("Texte de l’alerte").fill(ALERT)
    page.get_by_label("Expire le").fill((datetime.now() + timedelta(hours=6)).strftime("%Y-%m-%dT%H:00"))
    page.get_by_label("Bourg-en-Bresse (01053)").check()
    page.get_by_label("Ambérieu-en-Bugey (01004)").check()
    page.get_by_role("button", name="Envoyer l’alerte").click()

    # Before anything is sent: the question names the panels and communes, a preview per kind of panel.
    dialog = page.get_by_role("dialog", name="Envoyer l’alerte à 3 panneaux dans 2 communes ?")
    dialog.wait_for()
    for kind in KINDS:
        dialog.get_by_role("img", name=f"Aperçu sur {kind}").wait_for()
        dialog.get_by_text(f"{kind} · 1 panneau", exact=True).wait_for()
    site.shot(page, "1-the-alert-previewed-on-each-kind-of-panel")

    dialog.get_by_role("button", name="Revenir").click()
    dialog.wait_for(state="hidden")
    assert page.get_by_label("Texte de l’alerte").input_value() == ALERT
    assert site.live.client.get("/api/v1/alerts").json["total"] == 0, "going back sent nothing"
    assert not page.locator("#alerts tr[data-alert]").count()

    page.get_by_role("button", name="Envoyer l’alerte").click()
    dialog.get_by_role("button", name="Envoyer", exact=True).click()
    page.get_by_text("Alerte n° 1 envoyée.").wait_for()

    # The live list: the running panel confirms, the two others have never been heard from.
    follow = page.get_by_role("region", name="Suivi de l’alerte n° 1")
    follow.get_by_text("Sur 3 panneaux : 1 confirmé(s), 0 pas encore, 2 hors ligne.").wait_for()
    bourg = follow.locator('details[data-commune="01053"]')
    bourg.get_by_text("1 confirmé(s) · 0 pas encore · 1 hors ligne").wait_for()
    bourg.get_by_text("Bourg-en-Bresse", exact=True).click()
    bourg.get_by_role("row", name=DEMO_LED["name"]).get_by_text("confirmé", exact=True).wait_for()
    bourg.get_by_role("row", name=DEMO_RGB["name"]).get_by_text("hors ligne", exact=True).wait_for()

    amberieu = follow.locator('details[data-commune="01004"]')
    amberieu.get_by_text("Ambérieu-en-Bugey", exact=True).click()
    epaper = amberieu.get_by_role("row", name=DEMO_EPAPER["name"])
    epaper.get_by_text("hors ligne", exact=True).wait_for()
    site.shot(page, "2-one-panel-confirmed-two-offline")

    # Ambérieu's panel comes online: it takes the alert and the list turns it to confirmed by itself.
    site.live.start_agent(DEMO_EPAPER["id"])
    epaper.get_by_text("confirmé", exact=True).wait_for(timeout=30_000)
    follow.get_by_text("Sur 3 panneaux : 2 confirmé(s), 0 pas encore, 1 hors ligne.").wait_for()
    assert epaper.get_by_role("cell").nth(2).inner_text() != "—", "the time it confirmed is shown"
    site.shot(page, "3-the-late-panel-confirmed")

    # Back later, the sender finds the alert in the list and follows it again.
    page.reload()
    page.get_by_role("button", name="Suivre l’alerte n° 1").click()
    follow.get_by_text("Sur 3 panneaux : 2 confirmé(s), 0 pas encore, 1 hors ligne.").wait_for()
    follow.locator('details[data-commune="01053"]').get_by_text("Bourg-en-Bresse", exact=True).click()
    follow.get_by_role("row", name=DEMO_RGB["name"]).get_by_text("hors ligne", exact=True).wait_for()


def test_an_alert_to_the_whole_department_counts_its_1000_panels(site: Site, chromium: object) -> None:
    """At department scale the question names 1,000 panels in 65 communes, and the live list starts
    with the 65 communes' counts, each unfolding to its panels."""
    with site.live.app.app_context():
        db = get_db()
        with transaction(db):
            for spec in fleet_panel_specs(1000 - 3):  # and the demo's three, in two of its communes
                register_panel(db, spec)
    site.add_user("prefecture", "campaign-manager")
    page = site.log_in(chromium, "prefecture")
    page.get_by_role("link", name="Alerte", exact=True).click()
    page.get_by_label("Texte de l’alerte").fill(ALERT)
    page.get_by_label("Expire le").fill((datetime.now() + timedelta(hours=6)).strftime("%Y-%m-%dT%H:00"))
    page.get_by_label("Tout le département (01)").check()  # not 65 boxes, one by one
    page.locator("#targets-count").get_by_text(f"{in_french(1000)} panneaux dans 65 communes").wait_for()
    page.get_by_role("button", name="Envoyer l’alerte").click()
    dialog = page.get_by_role("dialog", name="Envoyer l’alerte à 1 000 panneaux dans 65 communes ?")
    dialog.wait_for()
    assert dialog.get_by_role("img").count() == len(
        {spec["profile"] for spec in fleet_panel_specs(1000)}
        | {DEMO_LED["profile"], DEMO_RGB["profile"], DEMO_EPAPER["profile"]}
    )
    site.shot(page, "1-a-department-wide-alert-to-confirm")
    dialog.get_by_role("button", name="Envoyer", exact=True).click()

    follow = page.get_by_role("region", name="Suivi de l’alerte n° 1")
    totals = follow.get_by_role("status")
    wait_for(lambda: totals.inner_text(), "the live list's first totals", 20)
    assert totals.inner_text() == (
        f"Sur {in_french(1000)} panneaux : 0 confirmé(s), 0 pas encore, {in_french(1000)} hors ligne."
    ), "French thousands, as Intl writes them"
    assert follow.locator("details").count() == len(COMMUNES)
    oyonnax = follow.locator('details[data-commune="01283"]')
    oyonnax.get_by_text("Oyonnax", exact=True).click()
    oyonnax.get_by_role("row", name="Oyonnax — panneau simulé").first.get_by_text("hors ligne").wait_for()
    site.shot(page, "2-the-communes-counts-one-unfolded")
