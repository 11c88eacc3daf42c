"""Each role's everyday job on a department of 1,000 panels in 65 communes, by clicks, asserting what the
user sees: the technician finds panels, a commune's editor and approver work on their own commune only,
the prefecture runs a campaign that a commune accepts after reading it, the administrator manages users.

One controller serves the whole module (tests/browser/conftest.py, ``department``): the fleet is the
set-up, not the user's job; each test logs in its roles in browser contexts of their own."""

from __future__ import annotations

from collections import Counter

import pytest

from programs.department import fleet_panel_specs
from tests.support import DEMO_PANELS
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Panels per commune name, as the module's controller has them: the demo's three and 997 simulated ones.
PER_COMMUNE = Counter(str(spec["commune_name"]) for spec in [*DEMO_PANELS, *fleet_panel_specs(997)])
BOURG = PER_COMMUNE["Bourg-en-Bresse"]  # its simulated panels run: they are the ones online


def rows(page: object) -> list[str]:
    return page.locator("#fleet tbody tr td:first-child").all_inner_texts()  # type: ignore[attr-defined]


def test_the_technician_finds_a_panel_among_a_thousand(department: Site, chromium: object) -> None:
    page = department.log_in(chromium, "technicien")
    page.get_by_role("link", name="Parc").click()
    total = sum(PER_COMMUNE.values())
    bourg_sim = BOURG - 2  # the two demo panels of Bourg have no agent here
    page.get_by_text(
        f"{total} panneau(x) : {bourg_sim} en ligne, {total - bourg_sim} hors ligne, 0 en panne"
    ).wait_for()
    page.get_by_text("Page 1 sur 20").wait_for()
    assert len(rows(page)) == 50
    department.shot(page, "1-fleet-first-page", full_page=False)

    page.get_by_role("button", name="suivant »").click()
    page.get_by_text("Page 2 sur 20").wait_for()
    assert len(rows(page)) == 50

    page.get_by_label("Rechercher (panneau ou commune)").fill("bourg")
    page.get_by_text(f"{BOURG} panneau(x) correspondent sur {total}").wait_for()
    assert not page.get_by_role("button", name="suivant »").is_visible(), "one page needs no paging"
    found = rows(page)
    assert len(found) == BOURG and all(name.startswith("Bourg-en-Bresse") for name in found), found
    department.shot(page, "2-fleet-searched-by-commune", full_page=False)

    online = page.locator("#fleet tbody tr", has_text="panneau simulé").first
    name = online.locator("td:first-child a").inner_text()
    online.get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name).wait_for()
    page.get_by_text("Bourg-en-Bresse (01053)").wait_for()
    page.locator("#state").get_by_text("en ligne").wait_for()
    department.shot(page, "3-panel-page", full_page=False)
