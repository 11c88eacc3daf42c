"""The audit log through the API: administrators only, filters, pages, the CSV export, and no way to
change or delete an entry."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import client_as

# 2026-12-21 17:00 UTC is 18 h in Paris.
WINTER_EVENING = datetime.fromisoformat("2026-12-21T17:00:00+00:00").timestamp()
DAY = 86400.0


@pytest.fixture
def logged(app: Flask) -> Flask:
    """Four entries a day apart, as the app writes them: the oldest first."""
    entries = [
        ("mairie-bourg", "message.create", "message", "1", None, {"text": "Fête de Noël « place Bernard »"}),
        (
            "valideur-bourg",
            "message.approve",
            "message",
            "1",
            {"status": "pending-approval"},
            {"status": "scheduled"},
        ),
        ("tests", "user.create", "user", "7", None, {"name": "lecteur"}),
        ("technicien", "command.send", "panel", "bourg-entree-nord", None, {"command": "refresh"}),
    ]
    with app.app_context():
        db = get_db()
        with transaction(db):
            for day, (user, action, kind, object_id, before, after) in enumerate(entries):
                db["audit_log"].insert(
                    {
                        "at": WINTER_EVENING + day * DAY,
                        "user_name": user,
                        "action": action,
                        "object_type": kind,
                        "object_id": object_id,
                        "before": None if before is None else json.dumps(before, ensure_ascii=False),
                        "after": json.dumps(after, ensure_ascii=False),
                        "ip": "192.0.2.7",
                    }
                )
    return app


def actions(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/audit{query}")
    assert response.status_code == 200, response.get_json()
    return [entry["action"] for entry in response.get_json()["entries"]]


@pytest.mark.parametrize(
    ("name", "role", "commune"),
    [
        ("prefecture", "campaign-manager", None),
        ("mairie-bourg", "commune-editor", "01053"),
        ("valideur-bourg", "commune-approver", "01053"),
        ("technicien", "technician", None),
        ("lecteur", "viewer", None),
    ],
)
def test_only_administrators_read_the_audit_log(
    logged: Flask, name: str, role: str, commune: str | None
) -> None:
    someone = client_as(logged, name, role, commune)
    for url in ("/api/v1/audit", "/api/v1/audit?format=csv", "/api/v1/audit/1"):
        response = someone.get(url)
        assert response.status_code == 403
        assert "audit.view" in response.get_json()["error"]["message"]
    assert logged.test_client().get("/api/v1/audit").status_code == 401


def test_entries_come_newest_first_with_who_what_when_before_and_after(
    logged: Flask, client: FlaskClient
) -> None:
    page = client.get("/api/v1/audit").get_json()
    assert page["total"] == 4 and (page["limit"], page["offset"]) == (50, 0)
    assert [e["action"] for e in page["entries"]] == [
        "command.send",
        "user.create",
        "message.approve",
        "message.create",
    ]
    approve = page["entries"][2]
    assert approve["user"] == "valideur-bourg" and approve["at"] == "2026-12-22T17:00:00Z"
    assert (approve["object_type"], approve["object_id"]) == ("message", "1")
    assert page["entries"][0]["object_name"] == "Bourg-en-Bresse — entrée nord"  # the panel by its name
    assert (approve["before"], approve["after"]) == ({"status": "pending-approval"}, {"status": "scheduled"})
    assert client.get(f"/api/v1/audit/{approve['id']}").get_json() == approve
    assert client.get("/api/v1/audit/999").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?user=mairie-bourg", ["message.create"]),
        ("?action=message.approve", ["message.approve"]),
        ("?action=message", ["message.approve", "message.create"]),
        ("?action=mess", []),
        ("?object_type=panel", ["command.send"]),
        ("?object_type=message&object_id=1", ["message.approve", "message.create"]),
        ("?since=2026-12-22", ["command.send", "user.create", "message.approve"]),
        ("?since=2026-12-22&until=2026-12-23", ["message.approve"]),
        ("?until=2026-12-22T17:00:00Z", ["message.create"]),
        ("?since=2026-12-22T18:00:00+01:00", ["command.send", "user.create", "message.approve"]),
        ("?since=2026-12-22T18:00:01 01:00", ["command.send", "user.create"]),
    ],
)
def test_the_log_is_filtered(logged: Flask, client: FlaskClient, query: str, expected: list[str]) -> None:
    assert actions(client, query) == expected


@pytest.mark.parametrize(("query", "field"), [("?since=hier", "since"), ("?until=2026-12-22T08:00", "until")])
def test_a_wrong_filter_is_refused_naming_it(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/v1/audit{query}")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == field


def test_an_entry_names_the_user_campaign_or_panel_it_is_about(app: Flask, client: FlaskClient) -> None:
    made = client.post("/api/v1/users", json={"name": "agnes.martin", "role": "viewer", "password": "x" * 12})
    assert made.status_code == 201, made.get_json()
    [entry] = client.get("/api/v1/audit?action=user.create").get_json()["entries"]
    assert (entry["object_id"], entry["object_name"]) == (str(made.get_json()["id"]), "agnes.martin")
    assert client.get(f"/api/v1/audit/{entry['id']}").get_json()["object_name"] == "agnes.martin"
    text = client.get("/api/v1/audit?format=csv&action=user.create").get_data(as_text=True)
    [row] = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))[1:]
    assert row[6:8] == [entry["object_id"], "agnes.martin"]


def test_the_log_comes_a_page_at_a_time(logged: Flask, client: FlaskClient) -> None:
    page = client.get("/api/v1/audit?limit=2&offset=1").get_json()
    assert [e["action"] for e in page["entries"]] == ["user.create", "message.approve"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert client.get("/api/v1/audit?offset=-1").get_json()["error"]["field"] == "offset"


def test_the_csv_export_opens_in_a_french_spreadsheet(logged: Flask, client: FlaskClient) -> None:
    response = client.get("/api/v1/audit?format=csv&object_type=message")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="journal-audit.csv"' in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode()), "a BOM, so that the spreadsheet reads UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "numéro",
        "date (UTC)",
        "date (heure de Paris)",
        "utilisateur",
        "action",
        "type d'objet",
        "objet",
        "nom de l'objet",
        "avant",
        "après",
        "adresse IP",
    ]
    assert [row[4] for row in rows[1:]] == ["message.approve", "message.create"]
    created = rows[2]
    assert created[1:4] == ["2026-12-21T17:00:00Z", "21/12/2026 18:00:00", "mairie-bourg"]
    assert json.loads(created[9]) == {"text": "Fête de Noël « place Bernard »"}
    assert created[7] == created[8] == "" and created[10] == "192.0.2.7"


def test_the_csv_export_never_hands_a_formula_to_the_spreadsheet(logged: Flask, client: FlaskClient) -> None:
    with logged.app_context(), transaction(get_db()):
        get_db()["audit_log"].insert(
            {
                "at": WINTER_EVENING,
                "user_name": "=HYPERLINK(1)",
                "action": "user.update",
                "object_type": "user",
            }
        )
    text = client.get("/api/v1/audit?format=csv&action=user.update").get_data(as_text=True)
    [row] = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))[1:]
    assert row[3] == "'=HYPERLINK(1)"


def test_every_matching_entry_is_exported_whatever_the_page(logged: Flask, client: FlaskClient) -> None:
    text = client.get("/api/v1/audit?format=csv&limit=1").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))) == 1 + 4


def test_nobody_can_change_or_delete_an_entry_through_the_app(logged: Flask, client: FlaskClient) -> None:
    before = client.get("/api/v1/audit").get_json()
    for method in ("put", "patch", "delete", "post"):
        for url in ("/api/v1/audit", "/api/v1/audit/1"):
            response = getattr(client, method)(url, json={"action": "forged"})
            assert response.status_code == 405, (method, url)
            assert response.get_json()["error"]["code"] == "method-not-allowed"
    assert client.get("/api/v1/audit").get_json() == before


def test_the_database_refuses_to_rewrite_the_log(logged: Flask) -> None:
    with logged.app_context():
        db = get_db()
        for statement in (
            "update audit_log set user_name = 'personne'",
            "delete from audit_log where id = 1",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)
        assert db["audit_log"].count == 4
        assert db["audit_log"].get(1)["user_name"] == "mairie-bourg"


def test_changes_made_through_the_admin_api_appear_in_the_log(client: FlaskClient) -> None:
    user = client.post("/api/v1/users", json={"name": "lecteur", "role": "viewer"}).get_json()
    client.patch(f"/api/v1/users/{user['id']}", json={"disabled": True})
    assert actions(client, "?object_type=user") == ["user.disable", "user.create"]
    entry = client.get("/api/v1/audit?action=user.disable").get_json()["entries"][0]
    assert entry["user"] == "tests" and entry["ip"] == "127.0.0.1"
    assert (entry["before"]["disabled"], entry["after"]["disabled"]) == (False, True)
