"""The prefecture launches a campaign: the page asks first, naming how many communes accepted; saying
no leaves it a draft, saying yes puts it on air."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import Site, fill_campaign_form

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_launching_a_campaign_asks_first(site: Site, chromium: object) -> None:
    site.add_user("prefecture", "campaign-manager")
    page = site.log_in(chromium, "prefecture")
    fill_campaign_form(
        page,
        "Don du sang",
        days=7,
        share=20,
        commune="Bourg-en-Bresse (01053)",
        text="Collecte de sang samedi à la salle des fêtes",
    )
    page.get_by_role("button", name="Créer et inviter les communes").click()
    page.wait_for_url(re.compile(r"/campagnes/\d+$"))
    summary = page.locator("#summary")
    summary.get_by_text("pas encore lancée").wait_for()

    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.get_by_role("button", name="Lancer la campagne").click()
    assert questions == [
        "Lancer « Don du sang » ? Elle passe à l’antenne maintenant sur les panneaux des 0 commune(s) "
        "qui l’ont acceptée (1 sans réponse)."
    ]
    page.wait_for_timeout(500)
    assert not posts, "dismissing the question sends nothing"
    assert summary.get_by_text("pas encore lancée").is_visible()
    site.shot(page, "1-launch-dismissed-still-a-draft")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Lancer la campagne").click()
    summary.get_by_text("lancée le").wait_for()
    page.get_by_role("button", name="Arrêter la campagne").wait_for()
    site.shot(page, "2-launch-accepted-on-air")
