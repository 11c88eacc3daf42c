"""A technician watches the fleet page; a panel's agent dies; the page says so without being reloaded."""

from __future__ import annotations

import pytest

from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_a_technician_sees_a_panel_go_offline_live(site: Site, chromium: object) -> None:
    site.add_user("technicien", "technician")
    for spec in (DEMO_LED, DEMO_RGB):
        site.live.start_agent(spec["id"])
    site.live.post("Travaux rue de la Paix : circulation alternée", [DEMO_LED["id"], DEMO_RGB["id"]])
    wait_for(
        lambda: all(site.live.panel(s["id"])["online"] for s in (DEMO_LED, DEMO_RGB)), "agents online", 30
    )

    page = site.log_in(chromium, "technicien", phone=True)
    page.get_by_role("link", name="Parc").click()
    led_row = page.locator(f'tr[data-panel="{DEMO_LED["id"]}"]')
    led_row.get_by_text("en ligne").wait_for()
    thumbnail = led_row.locator("img.shot")
    thumbnail.wait_for()
    # Fetched only when scrolled near, its space kept before it arrives: a long fleet does not load at once.
    assert (thumbnail.get_attribute("loading"), thumbnail.get_attribute("width")) == ("lazy", "192")
    marker = page.evaluate("() => { window.notReloaded = true; return window.notReloaded; }")
    # The e-paper panel has no agent here and nothing to show but its commune: its row never changes.
    still_row = f'tr[data-panel="{DEMO_EPAPER["id"]}"]'
    page.evaluate(f"() => {{ document.querySelector('{still_row}').untouched = true; }}")
    page.get_by_text("3 panneau(x) : 2 en ligne, 1 hors ligne").wait_for()
    site.shot(page, "1-fleet-all-online")

    site.live.agents[DEMO_LED["id"]].kill()  # by its PID: the broker sends the agent's last will
    led_row.get_by_text("hors ligne").wait_for()
    page.get_by_text("3 panneau(x) : 1 en ligne, 2 hors ligne").wait_for()
    assert page.evaluate("() => window.notReloaded") == marker, "the page changed without a reload"
    # Only the rows of panels that changed are drawn again: the stream sent that panel, not the fleet.
    assert page.evaluate(f"() => document.querySelector('{still_row}').untouched") is True
    site.shot(page, "2-fleet-panel-offline")

    page.get_by_label("Hors ligne seulement").check()
    page.locator(f'tr[data-panel="{DEMO_RGB["id"]}"]').wait_for(state="detached")
    assert page.locator(f'tr[data-panel="{DEMO_LED["id"]}"]').is_visible(), (
        "the panel that went offline stays"
    )
    site.shot(page, "3-fleet-offline-only")

    page.get_by_label("Hors ligne seulement").uncheck()
    page.get_by_role("link", name=DEMO_RGB["name"]).click()
    page.get_by_role("button", name="Régler la luminosité").wait_for()
    page.get_by_label("Luminosité (%)").fill("40")
    page.get_by_role("button", name="Régler la luminosité").click()
    page.locator("#commands tbody tr").first.get_by_text("acquittée").wait_for()
    page.get_by_text("40\u00a0%").first.wait_for()  # the panel reports the level it is at
    site.shot(page, "4-panel-command-acknowledged")
