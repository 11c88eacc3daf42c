"""The prefecture reads a campaign's report as a French office does: communes by name, time on air
« 2 h 30 », and a CSV download a spreadsheet opens with Paris times; the invited commune sees who invites it and its own name."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from controller.web.context import get_db
from relais.wire import EVENT_PLAY, PanelEvent
from tests.support import client_as, record_report
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NBSP = "\u00a0"
# 1 December 2026, 08:00 UTC: 9 h in Paris. Three displays of 50 minutes, the last ending at 11 h 30.
FIRST_PLAY = datetime(2026, 12, 1, 8, 0, tzinfo=UTC).timestamp()


def played_campaign(site: Site) -> int:
    """A campaign invited in Bourg-en-Bresse whose message a panel there showed for 2 h 30 in all."""
    start = datetime.now(UTC) + timedelta(days=1)
    created = client_as(site.live.app, "prefecture", "campaign-manager").post(
        "/api/v1/campaigns",
        json={
            "name": "Sécurité routière",
            "organisation": "Préfecture de l’Ain",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=18)).isoformat(),
            "share": 0.3,
            "communes": ["01053"],
            "messages": [{"text": "Au volant, zéro alcool"}],
        },
    )
    assert created.status_code == 201, created.json
    campaign = created.json
    with site.live.app.app_context():
        db = get_db()
        [item] = [
            f"msg-{row[0]}"
            for row in db.execute("select id from messages where campaign_id = ?", [campaign["id"]])
        ]
        for turn in range(3):
            started = FIRST_PLAY + turn * 3000
            event = PanelEvent(
                "bourg-entree-nord",
                EVENT_PLAY,
                int(started),
                {"item_id": item, "started_at": started, "ended_at": started + 3000},
            )
            record_report(db, event, started + 3000)
    return int(campaign["id"])


def test_the_campaign_report_reads_in_names_hours_and_paris_times(site: Site, chromium: object) -> None:
    site.add_user("prefecture", "campaign-manager")
    site.add_user("mairie-bourg", "commune-editor", "01053")
    campaign_id = played_campaign(site)

    manager = site.log_in(chromium, "prefecture")
    manager.locator(f'#campaigns tr[data-campaign="{campaign_id}"]').get_by_role("link").click()
    commune = manager.locator('#communes tr[data-commune="01053"]')
    commune.get_by_text("Bourg-en-Bresse (01053)").wait_for()  # a name, not a bare INSEE code
    totals = manager.locator("#totals")
    totals.get_by_text(f"2{NBSP}h{NBSP}30 d’antenne", exact=False).wait_for()
    row = manager.locator("#report tbody tr", has_text="Bourg-en-Bresse")
    assert f"2{NBSP}h{NBSP}30" in row.inner_text()
    assert "0.0" not in totals.inner_text()
    assert "mardi 1er décembre 2026, 9" in row.inner_text()
    # Panels sum their displays per hour: the report says how fresh it is.
    manager.get_by_text("le bilan va jusqu’à la dernière heure pleine", exact=False).wait_for()
    site.shot(manager, "1-report-on-the-page")

    with manager.expect_download() as download:
        manager.get_by_role("link", name="Télécharger le bilan (CSV)").click()
    raw = download.value.path().read_bytes()
    assert raw.startswith("\ufeff".encode())
    header, line = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    cells = dict(zip(header, line, strict=True))
    assert cells["nom de la commune"] == "Bourg-en-Bresse" and cells["affichages"] == "3"
    assert cells["temps d'antenne"] == f"2{NBSP}h{NBSP}30"
    assert cells["premier affichage (heure de Paris)"] == "01/12/2026 09:00:00"
    assert cells["dernier affichage (heure de Paris)"] == "01/12/2026 11:30:00"

    editor = site.log_in(chromium, "mairie-bourg")
    editor.get_by_role("link", name="Invitations").click()
    invitation = editor.locator(f'#invitations tr[data-campaign="{campaign_id}"]')
    invitation.get_by_text("Préfecture de l’Ain").wait_for()  # who invites, by name
    invitation.get_by_role("link", name="Sécurité routière").click()
    editor.get_by_role("heading", name="Votre réponse pour Bourg-en-Bresse (01053)").wait_for()
    site.shot(editor, "2-commune-sees-its-name")
