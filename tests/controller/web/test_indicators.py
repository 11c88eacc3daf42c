"""The steering indicators through the API: a campaign's weekly figures add up to its report, the public
channels' openings land on its commune's weeks, the department's panels online per day, the CSV a
spreadsheet opens, and filters refused by name."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.dates import PARIS
from controller.domain.indicators import week_of
from controller.publishing.public_hooks import PublicHooks
from controller.storage.db import transaction
from controller.web.context import get_db
from relais.wire import PanelState
from tests.support import DEMO_LED, record_report
from tests.support.campaigns import FIRST_PLAY, PLAY_S, played_campaign
from tests.support.webhooks import LOOPBACK, webhook_receiver


@pytest.mark.parametrize("summed", [False, True], ids=["plays", "hourly sums"])
def test_weekly_figures_match_the_report_and_count_the_public_channels(
    app: Flask, client: FlaskClient, summed: bool
) -> None:
    campaign_id = played_campaign(
        app, [FIRST_PLAY + turn * PLAY_S for turn in range(3)] + [time.time() - 7200], summed=summed
    )
    visitor = app.test_client()
    for path in ("/c/01053", "/c/01053", "/c/01053/widget", "/c/01053/feed.atom", "/c/01053/feed.json"):
        assert visitor.get(path).status_code == 200
    assert visitor.get("/c/01053/calendar.ics").status_code == 200
    [message_id] = client.get(f"/api/v1/campaigns/{campaign_id}").json["messages"]
    assert client.get(f"/api/v1/messages/{message_id}/poster.pdf").status_code == 200
    with webhook_receiver() as receiver:  # the town hall's website hears of the campaign's message
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url, "commune": "01053"})
        assert hook.status_code == 201, hook.json
        receiver.trust(receiver.url, hook.json["secret"])
        hooks = PublicHooks(Path(app.config["DATABASE"]), "https://relais.example", destinations=LOOPBACK)
        hooks.tick(time.time())
        assert [body["event"] for body in receiver.bodies] == ["message.published"]

    answer = client.get(f"/api/v1/indicators?campaign={campaign_id}")
    assert answer.status_code == 200, answer.json
    report = client.get(f"/api/v1/campaigns/{campaign_id}/report").json["totals"]
    [summary] = answer.json["campaigns"]
    for figure in ("displays", "seconds_on_air", "hours_on_air", "panels_reached"):
        assert summary[figure] == report[figure if figure != "panels_reached" else "panels"], figure
    assert summary["communes_invited"] == 1 and summary["communes_accepting"] == 1
    weeks = {row["week"]: row for row in answer.json["weeks"]}
    assert weeks["2026-W49"]["displays"] == 3 and weeks["2026-W49"]["seconds_on_air"] == 9000
    this_week = weeks[week_of(time.time())]
    assert this_week["displays"] == 1 and this_week["panels_reached"] == 1 and this_week["accepted"]
    assert (this_week["page_views"], this_week["widget_views"]) == (2, 1)
    assert (this_week["feed_fetches"], this_week["calendar_fetches"], this_week["posters"]) == (2, 1, 1)
    assert this_week["webhook_deliveries"] == 1
    assert weeks["2026-W49"]["page_views"] == 0
    [showing] = answer.json["department"]["showing"]
    assert (showing["panels_showing"], showing["panels"], showing["share"]) == (1, 2, 0.5)

    only_w49 = client.get(f"/api/v1/indicators?campaign={campaign_id}&from=2026-W49&to=2026-W49").json
    assert [row["week"] for row in only_w49["weeks"]] == ["2026-W49"]
    assert only_w49["campaigns"][0]["displays"] == 3

    exported = client.get(f"/api/v1/indicators?campaign={campaign_id}&format=csv")
    assert exported.mimetype == "text/csv" and exported.data.startswith("\ufeff".encode())
    lines = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig")), delimiter=";"))
    w49 = next(line for line in lines if line["semaine"] == "2026-W49")
    assert (w49["nom de la commune"], w49["affichages"], w49["temps d'antenne"]) == (
        "Bourg-en-Bresse",
        "3",
        "2\u00a0h\u00a030",
    )
    assert w49["acceptée"] == "oui" and w49["heures d'antenne"] == "2,5"


def test_panels_online_per_day_are_read_back_from_their_changes(app: Flask, client: FlaskClient) -> None:
    today = datetime.now(PARIS).date()
    days = [today - timedelta(days=2), today - timedelta(days=1)]
    came, left = (datetime(day.year, day.month, day.day, 10, tzinfo=PARIS).timestamp() for day in days)
    with app.app_context(), transaction(get_db()):  # both panels registered before
        get_db().execute("update panels set created_at = ?", [int(came) - 86400])
    with app.app_context():
        record_report(get_db(), PanelState(DEMO_LED["id"], True, int(came)), came)
        record_report(get_db(), PanelState(DEMO_LED["id"], False, int(left)), left)
    online = client.get("/api/v1/indicators").json["department"]["online"]
    assert [(day["day"], day["panels"], day["online"]) for day in online] == [
        (days[0].isoformat(), 2, 1),
        (days[1].isoformat(), 2, 0),
        (today.isoformat(), 2, 0),
    ]
    exported = client.get("/api/v1/indicators?format=csv&table=online").data.decode("utf-8-sig")
    assert exported.splitlines()[1] == f"{days[0].strftime('%d/%m/%Y')};2;1"


def test_filters_are_refused_by_name(client: FlaskClient) -> None:
    for query, field, status in (
        ("from=2026-W60", "from", 400),
        ("to=semaine", "to", 400),
        ("from=2026-W50&to=2026-W49", "to", 400),
        ("commune=Bourg", "commune", 400),
        ("campaign=abc", "campaign", 400),
        ("campaign=999", "campaign", 404),
        ("table=panels", "table", 400),
    ):
        answer = client.get(f"/api/v1/indicators?{query}")
        assert (answer.status_code, answer.json["error"]["field"]) == (status, field), query
