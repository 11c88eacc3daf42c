"""The prefecture creates a campaign in its browser; a commune editor, in another browser, reads the
invitation (who asks, what, when, drawn on each of its own panels) and accepts it; the prefecture's page
shows the acceptance."""

from __future__ import annotations

import re

import pytest

from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB
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
    manager.get_by_label("Organisme").fill("Préfecture de l’Ain")
    site.shot(manager, "1-manager-new-campaign")
    manager.get_by_role("button", name="Créer et inviter les communes").click()
    manager.wait_for_url(re.compile(r"/campagnes/\d+$"))
    commune_row = manager.locator('#communes tr[data-commune="01053"]')
    commune_row.get_by_text("en attente de réponse").wait_for()
    assert not manager.get_by_label("Bourg-en-Bresse (01053)").is_visible(), (
        "an invited commune is offered again"
    )
    manager.get_by_label("Ambérieu-en-Bugey (01004)").check()  # one more commune, by its name
    manager.get_by_role("button", name="Inviter").click()
    manager.locator('#communes tr[data-commune="01004"]').get_by_text("Ambérieu-en-Bugey (01004)").wait_for()
    assert not manager.get_by_label("Ambérieu-en-Bugey (01004)").is_visible()
    site.shot(manager, "2-manager-campaign-invited")

    editor = site.log_in(chromium, "mairie-bourg", phone=True)
    editor.goto(site.url + "/invitations")
    invitation = editor.locator("#invitations tbody tr")
    invitation.get_by_text("Au volant, zéro alcool : un conducteur désigné").wait_for()
    assert "Préfecture de l’Ain" in invitation.inner_text() and "toute la journée" in invitation.inner_text()
    site.shot(editor, "3-editor-invitations")
    invitation.get_by_role("link", name="Sécurité routière — fêtes de fin d’année").click()
    asked = editor.get_by_role("region", name="Ce que la campagne demande")
    asked.get_by_text("Proposée par Préfecture de l’Ain.").wait_for()
    asked.locator("blockquote").get_by_text("Au volant, zéro alcool : un conducteur désigné").wait_for()
    # One drawing per kind of panel of the commune (an amber LED, an RGB matrix), none of another commune's.
    captions = asked.locator("figcaption")
    captions.nth(1).wait_for()
    assert sorted(captions.all_text_contents()) == [
        f"Sur 1 panneau(x) : {DEMO_LED['name']}",
        f"Sur 1 panneau(x) : {DEMO_RGB['name']}",
    ]
    assert DEMO_EPAPER["name"] not in editor.content()
    site.shot(editor, "4-editor-reads-the-invitation")
    editor.get_by_label("Part maximale du temps d’antenne (%)").fill("20")
    editor.get_by_label("Heures de diffusion (facultatif)").fill("07:00-20:00")
    site.shot(editor, "5-editor-answers")
    editor.get_by_role("button", name="Accepter").click()
    editor.get_by_text("Réponse enregistrée.").wait_for()
    site.shot(editor, "6-editor-accepted")

    commune_row.get_by_text("acceptée").wait_for()  # the prefecture's page follows the answers by itself
    assert "au plus 20" in commune_row.inner_text()
    site.shot(manager, "7-manager-sees-acceptance")
