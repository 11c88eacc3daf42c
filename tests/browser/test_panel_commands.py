"""A technician identifies a running panel from its page (the duration the page shows goes with the
command), then sends a command to a panel that went offline: the page says it waits for the panel, and
the panel applies it once back."""

from __future__ import annotations

import pytest

from tests.support import DEMO_LED, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_a_technician_identifies_a_panel_and_is_told_when_it_is_offline(site: Site, chromium: object) -> None:
    site.add_user("technicien", "technician")
    site.live.start_agent(DEMO_LED["id"])
    wait_for(lambda: site.live.panel(DEMO_LED["id"])["online"], "agent online", 30)

    page = site.log_in(chromium, "technicien")
    page.get_by_role("link", name="Parc").click()
    page.get_by_role("link", name=DEMO_LED["name"]).click()
    page.locator("#state").get_by_text("en ligne").wait_for()
    assert page.get_by_label("Durée (secondes)").input_value() == "30"
    page.get_by_role("button", name="Identifier").click()
    page.get_by_text("Commande « identifier » envoyée (n° ").wait_for()
    identify = page.locator("#commands tbody tr", has_text="identifier · secondes 30")
    identify.get_by_text("par technicien").wait_for()
    identify.get_by_text("acquittée").wait_for()
    assert page.locator(".field-error").count() == 0
    site.shot(page, "1-identify-acknowledged")

    agent = site.live.agents[DEMO_LED["id"]]
    agent.kill()  # by its PID: the broker sends the agent's last will
    agent.wait()
    page.locator("#state").get_by_text("hors ligne").wait_for()
    page.get_by_role("button", name="Rafraîchir").click()
    warning = page.locator("#command-form .status.warning")
    warning.get_by_text("le panneau est hors ligne, il l’appliquera à son retour").wait_for()
    assert "envoyée" not in warning.inner_text()
    refresh = page.locator("#commands tbody tr", has_text="rafraîchir")
    refresh.get_by_text("en attente d’acquittement").wait_for()
    site.shot(page, "2-command-waits-for-the-offline-panel")

    site.live.start_agent(DEMO_LED["id"])  # back within the command's lifetime: its session hands it over
    page.locator("#state").get_by_text("en ligne").wait_for()
    refresh.get_by_text("acquittée").wait_for()
    site.shot(page, "3-panel-back-command-applied")
