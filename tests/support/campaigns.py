"""A campaign as the indicators' tests need it: running now, accepted by Bourg-en-Bresse, with plays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from controller.web.context import get_db
from panel_agent.agent.play_hours import PlayTally
from relais.wire import EVENT_PLAY, EVENT_PLAY_HOURS, PanelEvent
from tests.support import DEMO_LED, client_as, record_report

# Monday 1 December 2026, 9 h in Paris: week 49, before the tests' « today ».
FIRST_PLAY = datetime(2026, 12, 1, 8, 0, tzinfo=UTC).timestamp()
PLAY_S = 3000  # each display 50 minutes: three of them make « 2 h 30 »


def played_campaign(app: Flask, plays: list[float], *, summed: bool = False) -> int:
    """« Sécurité routière » by the prefecture, running from an hour ago for a fortnight, Bourg-en-Bresse's
    acceptance and launch by the administrator, and its message shown on the Bourg LED panel at each
    start in ``plays`` for PLAY_S seconds, reported one play event each (older agents) or, ``summed``,
    summed per hour by the agent's own code; its id."""
    now = datetime.now(UTC)
    created = client_as(app, "prefecture", "campaign-manager").post(
        "/api/v1/campaigns",
        json={
            "name": "Sécurité routière",
            "organisation": "prefecture-ain",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=14)).isoformat(),
            "share": 0.3,
            "communes": ["01053"],
            "messages": [{"text": "Au volant, zéro alcool"}],
        },
    )
    assert created.status_code == 201, created.json
    campaign_id = int(created.json["id"])
    admin = client_as(app, "admin")
    answer = {"commune": "01053", "status": "accepted"}
    assert admin.post(f"/api/v1/campaigns/{campaign_id}/answers", json=answer).status_code == 200
    assert admin.post(f"/api/v1/campaigns/{campaign_id}/launch").status_code == 200
    with app.app_context():
        db = get_db()
        [(message_id,)] = db.execute("select id from messages where campaign_id = ?", [campaign_id])
        tally = PlayTally(DEMO_LED["id"])
        for started in plays:
            if summed:
                tally.add(f"msg-{message_id}", None, started, started + PLAY_S)
                continue
            play = {"item_id": f"msg-{message_id}", "started_at": started, "ended_at": started + PLAY_S}
            record_report(db, PanelEvent(DEMO_LED["id"], EVENT_PLAY, int(started), play), started + PLAY_S)
        for hour in tally.take(max(plays, default=0) + PLAY_S, None, open_hours=True):
            sent_at = hour["last_end"]
            record_report(db, PanelEvent(DEMO_LED["id"], EVENT_PLAY_HOURS, int(sent_at), hour), sent_at)
    return campaign_id
