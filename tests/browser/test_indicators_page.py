"""The prefecture reads how far its campaign went on the « Indicateurs » page: the displays and time on air
of the campaign report, the commune's public page views and the poster its town hall printed, week by week,
with charts that have their figures in words and in a CSV file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from controller.domain.indicators import week_of
from tests.support import DEMO_LED, client_as
from tests.support.browser import Site
from tests.support.campaigns import FIRST_PLAY, PLAY_S, played_campaign

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NBSP = "\u00a0"


def _running_campaign(site: Site) -> int:
    """The campaign shown three times in week 49 (2 h 30), and a message of Bourg's town hall."""
    app = site.live.app
    campaign_id = played_campaign(app, [FIRST_PLAY + turn * PLAY_S for turn in range(3)])
    town_hall = client_as(app, "mairie-bourg", "commune-editor", "01053")
    message = {"text": "Marché de Noël samedi", "panels": [DEMO_LED["id"]]}
    assert town_hall.post("/api/v1/messages", json=message).status_code == 201
    return campaign_id


def test_the_indicators_page_shows_the_campaign_report_and_the_public_reach(
    site: Site, chromium: object
) -> None:
    site.add_user("prefecture", "campaign-manager")
    site.add_user("mairie-bourg", "commune-editor", "01053")
    campaign_id = _running_campaign(site)
    this_week = week_of(datetime.now(UTC).timestamp())

    for _visitor in range(2):  # two people, each browser its own cache (the page is fresh for a minute)
        visitor = chromium.new_context(locale="fr-FR")  # type: ignore[attr-defined]
        public = visitor.new_page()
        site.watch(public)
        public.goto(f"{site.url}/c/01053")
        public.get_by_role("heading", level=1).wait_for()
        visitor.close()
    town_hall = site.log_in(chromium, "mairie-bourg")
    row = town_hall.locator("#messages tbody tr", has_text="Marché de Noël")
    with town_hall.expect_download():  # type: ignore[attr-defined]
        row.get_by_role("link", name="Affiche A4").click()

    manager = site.log_in(chromium, "prefecture")
    manager.get_by_role("link", name="Indicateurs").click()
    manager.get_by_label("Campagne", exact=True).select_option(str(campaign_id))
    manager.get_by_role("button", name="Afficher").click()
    manager.wait_for_url(f"**/indicateurs?campaign={campaign_id}*")
    summary = manager.locator(f'#campaign-figures tr[data-campaign="{campaign_id}"]')
    assert summary.locator(".displays").inner_text() == "3"
    assert summary.locator(".on-air").inner_text() == f"2{NBSP}h{NBSP}30"
    week_49 = manager.locator('#weekly tr[data-week="2026-W49"]')
    assert "Bourg-en-Bresse (01053)" in week_49.inner_text()
    assert week_49.locator(".on-air").inner_text() == f"2{NBSP}h{NBSP}30"
    now = manager.locator(f'#weekly tr[data-week="{this_week}"]')
    assert now.locator(".page-views").inner_text() == "2"
    assert now.locator(".posters").inner_text() == "1"
    hours = manager.get_by_role("img", name="Temps d’antenne par semaine")
    assert f"2026-W49 — 2{NBSP}h{NBSP}30" in hours.locator("desc").text_content()
    assert f"{this_week} — 2 ;" in (manager.locator("#chart-public desc").text_content() or "")
    site.shot(manager, "1-indicators")

    with manager.expect_download() as download:  # type: ignore[attr-defined]
        manager.get_by_role("link", name="Télécharger le tableau (CSV)").click()
    raw = download.value.path().read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    [w49] = [line for line in lines if line["semaine"] == "2026-W49"]
    assert (w49["affichages"], w49["temps d'antenne"]) == ("3", f"2{NBSP}h{NBSP}30")

    summary.get_by_role("link", name="Sécurité routière").click()  # the campaign's own report agrees
    manager.locator("#totals").get_by_text(
        f"3 affichage(s), 2{NBSP}h{NBSP}30 d’antenne", exact=False
    ).wait_for()
    site.shot(manager, "2-the-campaign-report-agrees")
