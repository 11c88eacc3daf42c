"""Organisations that want a second person: messages and alerts wait, on no panel, until approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller import accounts
from controller.context import get_db
from controller.db import transaction
from tests.helpers import client_as, on_panel


def require_approval(app: Flask, org: str, what: str = "messages") -> None:
    with app.app_context():
        db = get_db()
        with transaction(db):
            db.execute(f"update organisations set {what}_need_approval = 1 where id = ?", [org])


@pytest.fixture
def bourg(app: Flask) -> dict[str, FlaskClient]:
    """Bourg-en-Bresse's editor and approver; the commune wants a second person for its messages."""
    people = {
        "editor": client_as(app, "mairie-bourg", "commune-editor", "01053"),
        "approver": client_as(app, "valideur-bourg", "commune-approver", "01053"),
        "approver-elsewhere": client_as(app, "valideur-amberieu", "commune-approver", "01004"),
    }
    require_approval(app, "commune-01053")
    return people


def test_a_message_waits_for_a_second_person_then_goes_on_air(
    app: Flask, bourg: dict[str, FlaskClient]
) -> None:
    queued = bourg["editor"].post(
        "/api/v1/messages", json={"text": "Conseil municipal lundi", "panels": ["bourg-entree-nord"]}
    )
    assert queued.status_code == 201 and queued.json["status"] == "pending-approval"
    assert queued.json["panels"] == {"bourg-entree-nord": None}  # nothing signed yet
    assert "Conseil municipal lundi" not in on_panel(app, "bourg-entree-nord")
    message = f"/api/v1/messages/{queued.json['id']}"
    assert bourg["approver"].get("/api/v1/messages?status=pending-approval").json["total"] == 1

    approved = bourg["approver"].post(f"{message}/approve")
    assert approved.status_code == 200, approved.json
    assert (approved.json["status"], approved.json["approved_by"]) == ("on-air", "valideur-bourg")
    assert "Conseil municipal lundi" in on_panel(app, "bourg-entree-nord")
    assert bourg["approver"].post(f"{message}/approve").status_code == 409


def test_nobody_approves_their_own_message_nor_another_organisations(
    app: Flask, bourg: dict[str, FlaskClient]
) -> None:
    own = bourg["approver"].post(
        "/api/v1/messages", json={"text": "Vœux du maire", "panels": ["bourg-entree-nord"]}
    )
    assert own.json["status"] == "pending-approval"  # an approver's own message needs someone else too
    refused = bourg["approver"].post(f"/api/v1/messages/{own.json['id']}/approve")
    assert refused.status_code == 403 and "author" in refused.json["error"]["message"]
    elsewhere = bourg["approver-elsewhere"].post(f"/api/v1/messages/{own.json['id']}/approve")
    assert elsewhere.status_code == 404  # another commune's message does not exist for them
    admin = client_as(app, "admin")
    assert admin.post(f"/api/v1/messages/{own.json['id']}/approve").json["approved_by"] == "admin"


def test_a_rejected_message_says_why_and_an_edit_sends_it_back(
    app: Flask, bourg: dict[str, FlaskClient]
) -> None:
    queued = bourg["editor"].post(
        "/api/v1/messages", json={"text": "Brocante dimache", "panels": ["bourg-entree-nord"]}
    )
    message = f"/api/v1/messages/{queued.json['id']}"
    assert bourg["approver"].post(f"{message}/reject", json={}).json["error"]["field"] == "reason"
    rejected = bourg["approver"].post(f"{message}/reject", json={"reason": "Coquille : dimanche"})
    assert (rejected.json["status"], rejected.json["rejected_reason"]) == ("rejected", "Coquille : dimanche")
    fixed = bourg["editor"].patch(message, json={"text": "Brocante dimanche"})
    assert fixed.json["status"] == "pending-approval" and fixed.json["rejected_reason"] is None
    assert "Brocante dimanche" not in on_panel(app, "bourg-entree-nord")
    with app.app_context():
        actions = [
            row[0] for row in get_db().execute("select action from audit_log where object_type = 'message'")
        ]
    assert actions == ["message.create", "message.reject", "message.update"]


def test_an_approved_message_edited_waits_again(app: Flask, bourg: dict[str, FlaskClient]) -> None:
    queued = bourg["editor"].post(
        "/api/v1/messages", json={"text": "Marché samedi", "panels": ["bourg-entree-nord"]}
    )
    message = f"/api/v1/messages/{queued.json['id']}"
    bourg["approver"].post(f"{message}/approve")
    assert bourg["editor"].patch(message, json={"paused": True}).json["status"] == "paused"  # no new content
    assert bourg["editor"].patch(message, json={"paused": False}).json["status"] == "on-air"
    assert (
        bourg["editor"].patch(message, json={"text": "Marché dimanche"}).json["status"] == "pending-approval"
    )
    assert not {"Marché samedi", "Marché dimanche"} & set(on_panel(app, "bourg-entree-nord"))


def test_an_alert_of_an_organisation_that_wants_a_second_person_waits(app: Flask) -> None:
    for name in ("prefecture", "prefecture-astreinte"):
        with app.app_context():
            db = get_db()
            with transaction(db):
                accounts.create_user(db, name, "campaign-manager", None, None, "prefecture-ain")
    require_approval(app, "prefecture-ain", "alerts")
    author = client_as(app, "prefecture")
    expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    alert = author.post(
        "/api/v1/alerts", json={"text": "Crue de la Reyssouze", "communes": ["01053"], "expires_at": expires}
    )
    assert alert.status_code == 201 and alert.json["status"] == "pending-approval"
    assert "Crue de la Reyssouze" not in on_panel(app, "bourg-entree-nord")
    assert author.post(f"/api/v1/alerts/{alert.json['id']}/approve").status_code == 403
    approved = client_as(app, "prefecture-astreinte").post(f"/api/v1/alerts/{alert.json['id']}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "on-air"
    assert approved.json["approved_by"] == "prefecture-astreinte"
    assert "Crue de la Reyssouze" in on_panel(app, "bourg-entree-nord")
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    refused = editor.post(
        "/api/v1/alerts", json={"text": "Crue", "communes": ["01053"], "expires_at": expires}
    )
    assert refused.status_code == 403 and "alerts.send" in refused.json["error"]["message"]
