"""The prefecture creates a campaign in its browser; a commune editor, in another browser, accepts it; the
prefecture's page shows the acceptance."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import Site, fill_campaign_form

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_a_campaign_manager_creates_a_campaign_that_a_commune_accepts(site: Site, chromium: object) -> None:
    site.add_user("prefecture", "campaign-manager")
    site.add_user("mairie-bourg", "commune-editor", "01053")

    manager = site.log_in(chromium, "prefecture")
    manager.get_by_role("heading", name="Nouvelle campagne").wait_for()
    fill_campaign_form(
        manager,
        "Sécurité routière — fêtes de fin d’année",
        days=18,
        share=30,
        commune="Bourg-en-Bresse (01053)",
        text="Au volant, zéro alcool : un conducteur désigné",
    )
    site.shot(manager, "1-manager-new-campaign")
    manager.get_by_role("button", name="Créer et inviter les communes").click()
    manager.wait_for_url(re.compile(r"/campagnes/\d+$"))
    commune_row = manager.locator('#communes tr[data-commune="01053"]')
    commune_row.get_by_text("en attente de réponse").wait_for()
    site.shot(manager, "2-manager-campaign-invited")

    editor = site.log_in(chromium, "mairie-bourg", phone=True)
    editor.goto(manager.url)  # the link the commune was sent
    editor.get_by_label("Part maximale du temps d’antenne (%)").fill("20")
    editor.get_by_label("Heures de diffusion (facultatif)").fill("07:00-20:00")
    site.shot(editor, "3-editor-invitation")
    editor.get_by_role("button", name="Accepter").click()
    editor.get_by_text("Réponse enregistrée.").wait_for()
    site.shot(editor, "4-editor-accepted")

    commune_row.get_by_text("acceptée").wait_for()  # the prefecture's page follows the answers by itself
    assert "au plus 20" in commune_row.inner_text()
    site.shot(manager, "5-manager-sees-acceptance")
