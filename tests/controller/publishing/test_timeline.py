"""A panel's week, segment by segment, from the same resolver as its signed schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient

from tests.support import client_as

PARIS = ZoneInfo("Europe/Paris")


def paris(days: int, hour: int) -> datetime:
    today = datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=days)).replace(hour=hour)


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_week_shows_each_window_of_a_recurring_message(client: FlaskClient) -> None:
    message = client.post(
        "/api/v1/messages",
        json={
            "text": "Sortie d'école : ralentissez",
            "title": "Prudence",
            "panels": ["bourg-entree-nord"],
            "recurrence": {"windows": ["16:00-17:00"]},
            "priority": "prevention",
        },
    ).json
    start = paris(1, 0)
    answer = client.get(
        "/api/v1/panels/bourg-entree-nord/timeline", query_string={"from": start.isoformat(), "days": 7}
    ).json
    assert (answer["panel"], answer["from"], answer["until"]) == (
        "bourg-entree-nord",
        z(start),
        z(start + timedelta(days=7)),
    )
    showing = [segment for segment in answer["segments"] if segment["items"]]
    assert [(segment["start"], segment["end"]) for segment in showing] == [
        (z(paris(day, 16)), z(paris(day, 17))) for day in range(1, 8)
    ]
    (item,) = showing[0]["items"]
    assert (item["message_id"], item["item_id"], item["title"], item["priority"]) == (
        message["id"],
        message["item_id"],
        "Prudence",
        "prevention",
    )
    assert item["campaign_id"] is None and item["alert_id"] is None and item["dwell_s"] > 0
    gaps = [segment for segment in answer["segments"] if not segment["items"]]
    assert gaps and not any(segment["blank"] for segment in gaps) and answer["fallback"] == "Bourg-en-Bresse"
    assert answer["segments"][0]["start"] == z(start) and answer["segments"][-1]["end"] == answer["until"]


def test_a_paused_message_leaves_the_timeline_and_days_are_checked(client: FlaskClient) -> None:
    message = client.post("/api/v1/messages", json={"text": "Marché", "panels": ["bourg-entree-nord"]}).json
    client.patch(f"/api/v1/messages/{message['id']}", json={"paused": True})
    answer = client.get("/api/v1/panels/bourg-entree-nord/timeline?days=2").json
    assert all(not segment["items"] for segment in answer["segments"])
    for days in ("0", "15", "sept"):
        bad = client.get(f"/api/v1/panels/bourg-entree-nord/timeline?days={days}")
        assert bad.status_code == 400 and bad.json["error"]["field"] == "days"
    bad = client.get("/api/v1/panels/bourg-entree-nord/timeline?from=demain")
    assert bad.status_code == 400 and bad.json["error"]["field"] == "from"


def test_another_communes_timeline_does_not_exist_for_a_commune_user(app: Flask) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    assert editor.get("/api/v1/panels/bourg-entree-nord/timeline").status_code == 200
    assert editor.get("/api/v1/panels/amberieu-mairie/timeline").status_code == 404
