"""Organisations that want a second person: messages and alerts wait, on no panel, until approved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.domain import accounts
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import client_as, on_panel


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
        "second-approver": client_as(app, "adjoint-bourg", "commune-approver", "01053"),
    }
    require_approval(app, "commune-01053")
    return people


def queued_on_bourg(client: FlaskClient, text: str) -> str:
    """Queue a message on Bourg's north entrance panel; its API path."""
    queued = client.post("/api/v1/messages", json={"text": text, "panels": ["bourg-entree-nord"]})
    assert queued.status_code == 201, queued.json
    return f"/api/v1/messages/{queued.json['id']}"


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


def audit_trail(app: Flask, message: str) -> list[tuple[str, str, Any, Any]]:
    """The message's audit entries, oldest first: (action, by whom, text before, text after)."""
    with app.app_context():
        rows = get_db().execute(
            "select action, user_name, before, after from audit_log where object_type = 'message' "
            "and object_id = ? order by id",
            [message.rsplit("/", 1)[1]],
        )
        return [
            (action, user, before and json.loads(before)["text"], after and json.loads(after)["text"])
            for action, user, before, after in rows
        ]


def test_an_approver_who_changed_the_words_cannot_approve_them(
    app: Flask, bourg: dict[str, FlaskClient]
) -> None:
    message = queued_on_bourg(bourg["editor"], "Collecte des encombrants")
    changed = bourg["approver"].patch(message, json={"text": "Le maire vous salue"})
    assert (changed.json["status"], changed.json["changed_by"]) == ("pending-approval", "valideur-bourg")

    refused = bourg["approver"].post(f"{message}/approve")
    assert refused.status_code == 403, refused.json
    assert refused.json["error"]["message"] == (
        "you last changed this message, so you cannot approve it: a member of commune-01053 other than "
        "mairie-bourg (its author) and valideur-bourg (who last changed it) must"
    )
    assert bourg["approver"].post(f"{message}/reject", json={"reason": "Non"}).status_code == 403
    assert "Le maire vous salue" not in on_panel(app, "bourg-entree-nord")

    approved = bourg["second-approver"].post(f"{message}/approve")
    assert (approved.json["status"], approved.json["approved_by"]) == ("on-air", "adjoint-bourg")
    assert "Le maire vous salue" in on_panel(app, "bourg-entree-nord")
    assert audit_trail(app, message) == [
        ("message.create", "mairie-bourg", None, "Collecte des encombrants"),
        ("message.update", "valideur-bourg", "Collecte des encombrants", "Le maire vous salue"),
        ("message.approve", "adjoint-bourg", "Le maire vous salue", "Le maire vous salue"),
    ]


def test_a_changed_schedule_needs_another_approver_but_a_pause_does_not(
    app: Flask, bourg: dict[str, FlaskClient]
) -> None:
    """Moving a message's dates or panels is a change a second person checks; pausing or resuming puts
    no new words and no new time on air, so the one who paused may still approve."""
    message = queued_on_bourg(bourg["editor"], "Fête de la musique")
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    bourg["approver"].patch(message, json={"ends_at": later})
    assert bourg["approver"].post(f"{message}/approve").status_code == 403
    bourg["second-approver"].patch(message, json={"paused": True})
    bourg["second-approver"].patch(message, json={"paused": False})
    shown = bourg["second-approver"].get(message).json
    assert (shown["changed_by"], shown["status"]) == ("valideur-bourg", "pending-approval")
    approved = bourg["second-approver"].post(f"{message}/approve")
    assert (approved.status_code, approved.json["approved_by"]) == (200, "adjoint-bourg")


def test_a_rejected_message_says_why_and_an_edit_sends_it_back(
    app: Flask, bourg: dict[str, FlaskClient]
) -> None:
    message = queued_on_bourg(bourg["editor"], "Brocante dimache")
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
    message = queued_on_bourg(bourg["editor"], "Marché samedi")
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
