"""A queued message is edited, paused, resumed and cancelled; each change re-signs its panels' schedules
and is written to the audit log with the state before and after."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.domain.panels import register_panel
from controller.web.context import get_db
from tests.support import DEMO_RGB, client_as, on_panel


@pytest.fixture(autouse=True)
def second_bourg_panel(app: Flask) -> None:
    with app.app_context():
        register_panel(get_db(), DEMO_RGB)


def audit_entries(app: Flask, message_id: int) -> list[dict]:
    with app.app_context():
        return list(
            get_db().query(
                "select * from audit_log where object_type = 'message' and object_id = ? order by id",
                [str(message_id)],
            )
        )


def test_pause_resume_edit_and_cancel_change_what_the_panel_gets(app: Flask) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    queued = editor.post("/api/v1/messages", json={"text": "Marché samedi", "panels": ["bourg-entree-nord"]})
    assert queued.status_code == 201 and queued.json["status"] == "on-air"
    message = f"/api/v1/messages/{queued.json['id']}"
    assert "Marché samedi" in on_panel(app, "bourg-entree-nord")

    paused = editor.patch(message, json={"paused": True})
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    assert "Marché samedi" not in on_panel(app, "bourg-entree-nord")
    assert editor.patch(message, json={"paused": False}).json["status"] == "on-air"
    assert "Marché samedi" in on_panel(app, "bourg-entree-nord")

    edited = editor.patch(message, json={"text": "Marché dimanche", "panels": ["bourg-place-bernard"]})
    assert edited.status_code == 200, edited.json
    assert (edited.json["text"], edited.json["panels"]) == ("Marché dimanche", ["bourg-place-bernard"])
    assert "Marché samedi" not in on_panel(app, "bourg-entree-nord")
    assert "Marché dimanche" in on_panel(app, "bourg-place-bernard")

    cancelled = editor.delete(message)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert "Marché dimanche" not in on_panel(app, "bourg-place-bernard")
    assert editor.patch(message, json={"paused": True}).status_code == 409
    assert editor.delete(message).status_code == 200  # cancelling twice changes nothing

    entries = audit_entries(app, queued.json["id"])
    assert [entry["action"] for entry in entries] == [
        "message.create",
        "message.pause",
        "message.resume",
        "message.update",
        "message.cancel",
    ]
    assert all(entry["user_name"] == "mairie-bourg" for entry in entries)
    update = entries[3]
    assert json.loads(update["before"])["text"] == "Marché samedi"
    assert json.loads(update["after"])["text"] == "Marché dimanche"


def test_a_commune_cannot_move_its_message_to_another_commune(app: Flask) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    message_id = editor.post("/api/v1/messages", json={"text": "Fête", "panels": ["bourg-entree-nord"]}).json[
        "id"
    ]
    moved = editor.patch(f"/api/v1/messages/{message_id}", json={"communes": ["01004"]})
    assert moved.status_code == 403 and moved.json["error"]["field"] == "communes"
    by_tag = editor.patch(f"/api/v1/messages/{message_id}", json={"departments": ["01"]})
    assert by_tag.status_code == 403 and by_tag.json["error"]["field"] == "departments"
    assert editor.get(f"/api/v1/messages/{message_id}").json["panels"] == ["bourg-entree-nord"]


def test_edits_are_checked_field_by_field(app: Flask, client: FlaskClient) -> None:
    message_id = client.post("/api/v1/messages", json={"text": "Fête", "panels": ["bourg-entree-nord"]}).json[
        "id"
    ]
    for body, field in (
        ({"text": ""}, "text"),
        ({"colour": "red"}, "colour"),
        ({"paused": "oui"}, "paused"),
        ({"priority": "capitale"}, "priority"),
    ):
        response = client.patch(f"/api/v1/messages/{message_id}", json=body)
        assert response.status_code == 400 and response.json["error"]["field"] == field
    assert client.get(f"/api/v1/messages/{message_id}").json["text"] == "Fête"


def test_the_list_filters_by_status_and_commune_and_pages(app: Flask, client: FlaskClient) -> None:
    ids = [
        client.post("/api/v1/messages", json={"text": f"Annonce {n}", "panels": [panel]}).json["id"]
        for n, panel in enumerate(["bourg-entree-nord", "amberieu-mairie", "bourg-entree-nord"])
    ]
    client.patch(f"/api/v1/messages/{ids[2]}", json={"paused": True})
    paused = client.get("/api/v1/messages?status=paused").json
    assert [message["id"] for message in paused["messages"]] == [ids[2]] and paused["total"] == 1
    amberieu = client.get("/api/v1/messages?commune=01004").json
    assert [message["id"] for message in amberieu["messages"]] == [ids[1]]
    page = client.get("/api/v1/messages?limit=2&offset=1").json
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [message["id"] for message in page["messages"]] == [ids[1], ids[0]]
    assert client.get("/api/v1/messages?status=lost").json["error"]["field"] == "status"


def test_an_edit_clears_the_start_with_null_and_the_message_starts_now(
    app: Flask, client: FlaskClient
) -> None:
    queued = client.post(
        "/api/v1/messages",
        json={"text": "Fête", "panels": ["bourg-entree-nord"], "starts_at": "2099-06-21T18:00:00+02:00"},
    )
    message = f"/api/v1/messages/{queued.json['id']}"
    assert client.get(message).json["status"] == "scheduled"
    before = datetime.now(UTC) - timedelta(seconds=5)
    cleared = client.patch(message, json={"starts_at": None})
    assert cleared.status_code == 200, cleared.json
    assert (
        before
        <= datetime.fromisoformat(cleared.json["starts_at"])
        <= datetime.now(UTC) + timedelta(seconds=5)
    )
    assert cleared.json["status"] == "on-air"
    assert "Fête" in on_panel(app, "bourg-entree-nord")
