"""Every page, as every role, in French and in English, on a desktop and on a phone: the page draws what
the API answers without a JavaScript error or an unexpected 4xx/5xx, and every field has a label."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest

from controller.domain import accounts
from controller.storage.db import transaction
from controller.web.context import get_db
from programs.demo import DEMO_ACCOUNTS
from tests.support import DEMO_LED, client_as, wait_for
from tests.support.browser import DESKTOP, PHONE, Site, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ROLES = [(name, role, commune) for name, role, commune, _organisation in DEMO_ACCOUNTS]

# Inputs, selects and textareas with no accessible name: a label, aria-label or aria-labelledby.
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(node => !node.labels.length && !node.getAttribute('aria-label') && !node.getAttribute('aria-labelledby'))
  .map(node => node.outerHTML)"""
# A phone screen scrolls down, never sideways: what sticks out to the right (inside a scrolling box is fine).
TOO_WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(node => node.getBoundingClientRect().right > window.innerWidth + 1 && !node.closest('.table-wrap'))
  .map(node => node.outerHTML.slice(0, 120))"""
# Once a page's script has drawn what the API answered, no table body and no list area is empty.
DRAWN = """() => [...document.querySelectorAll('main tbody, #pending, #week')]
  .every(node => node.children.length > 0)"""


# Each role in one of the four views in turn (each view seen by two roles or more); RELAIS_WALK_ALL=1: every
# role in all four.
VIEWS = [("fr", False), ("en", True), ("fr", True), ("en", False)]


def _seed(site: Site) -> int:
    """A message, a campaign inviting Bourg-en-Bresse, a message waiting for approval: what pages show."""
    app = site.live.app
    for name, role, commune in ROLES:
        site.add_user(name, role, commune)
    editor = client_as(app, "mairie-bourg")
    assert (
        editor.post(
            "/api/v1/messages", json={"text": "Conseil municipal jeudi 19 h", "panels": [DEMO_LED["id"]]}
        ).status_code
        == 201
    )
    start = datetime.now().astimezone() + timedelta(days=1)
    campaign = client_as(app, "prefecture").post(
        "/api/v1/campaigns",
        json={
            "name": "Sécurité routière",
            "organisation": "prefecture-ain",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=10)).isoformat(),
            "share": 0.25,
            "communes": ["01053"],
            "messages": [{"text": "Au volant, zéro alcool"}],
        },
    )
    assert campaign.status_code == 201, campaign.json
    with app.app_context(), transaction(get_db()):
        accounts.update_organisation(get_db(), "commune-01053", {"messages_need_approval": True})
    assert (
        editor.post(
            "/api/v1/messages", json={"text": "Vide-grenier dimanche", "panels": [DEMO_LED["id"]]}
        ).status_code
        == 201
    )
    return campaign.json["id"]


def test_every_page_draws_for_every_role(site: Site, chromium: object) -> None:
    site.live.start_agent(DEMO_LED["id"])
    campaign_id = _seed(site)
    wait_for(lambda: site.live.panel(DEMO_LED["id"])["online"], "the agent is online", 30)
    for index, (name, role, commune) in enumerate(ROLES):
        page = site.log_in(chromium, name)
        views = VIEWS if os.environ.get("RELAIS_WALK_ALL") else [VIEWS[index % len(VIEWS)]]
        for lang, phone in views:
            page.set_viewport_size(PHONE if phone else DESKTOP)
            page.goto(f"{site.url}/langue/{lang}?next=/")
            paths = [page.url.removeprefix(site.url)]
            paths += [link.get_attribute("href") for link in page.locator("nav a").all()]
            if commune != "01004":  # Ambérieu sees neither Bourg's panel nor a campaign it is not asked to
                paths.append(f"/parc/{DEMO_LED['id']}")
                if role != "technician":
                    paths.append(f"/campagnes/{campaign_id}")
            for number, path in enumerate(dict.fromkeys(paths)):
                page.goto(site.url + path)
                wait_until(page, DRAWN)
                view = f"{lang}-{'phone' if phone else 'desktop'}"
                site.shot(page, f"{name}-{view}-{number}-{path.strip('/').replace('/', '-')}")
                unlabelled = page.evaluate(UNLABELLED)
                assert not unlabelled, f"{name} {view} {path}: fields without a label: {unlabelled}"
                too_wide = page.evaluate(TOO_WIDE)
                assert not too_wide, f"{name} {view} {path} is wider than the screen: {too_wide}"
        page.context.close()
