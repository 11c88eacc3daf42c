"""A technician watches the fleet page while the controller's broker goes away and comes back: the page
says it cannot know the panels' state meanwhile, rather than showing them online."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relais.brokers.mosquitto import MosquittoBroker
from tests.support import DEMO_LED, wait_for
from tests.support.browser import Site
from tests.support.live import Live, live_controller

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def live_mosquitto(own_broker: MosquittoBroker, tmp_path: Path) -> Iterator[Live]:
    """The site on a broker of this test's own, which it kills and starts again."""
    with live_controller(own_broker, tmp_path) as harness:
        yield harness


def test_the_fleet_page_says_the_state_is_unknown_while_the_broker_is_away(
    site: Site, chromium: object, own_broker: MosquittoBroker
) -> None:
    site.add_user("technicien", "technician")
    site.live.start_agent(DEMO_LED["id"])
    wait_for(lambda: site.live.panel(DEMO_LED["id"])["online"], "the agent online", 30)

    page = site.log_in(chromium, "technicien")
    page.get_by_role("link", name="Parc").click()
    row = page.locator(f'tr[data-panel="{DEMO_LED["id"]}"]')
    row.get_by_text("en ligne").wait_for()

    own_broker.kill()
    unknown = row.get_by_text("état inconnu")
    unknown.wait_for()
    assert (
        unknown.get_attribute("title")
        == "Le contrôleur est coupé du courtier ; dernier état connu : en ligne"
    )
    page.get_by_text("3 panneau(x) : état inconnu pour 3 (le contrôleur est coupé du courtier)").wait_for()
    site.shot(page, "1-fleet-state-unknown")

    own_broker.start()
    row.get_by_text("en ligne").wait_for()
    page.get_by_text("3 panneau(x) : 1 en ligne, 2 hors ligne").wait_for()
    site.shot(page, "2-fleet-state-known-again")
