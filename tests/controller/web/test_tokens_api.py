"""API tokens through the API: everyone manages their own, an administrator anyone's; secrets shown once."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.web.context import get_db
from tests.support import client_as

ROLES = [
    ("admin-2", "admin", None),
    ("prefecture", "campaign-manager", None),
    ("mairie-bourg", "commune-editor", "01053"),
    ("valideur-bourg", "commune-approver", "01053"),
    ("technicien", "technician", None),
    ("lecteur", "viewer", None),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("name", "role", "commune"), ROLES)
def test_everyone_creates_lists_and_revokes_their_own_tokens(
    app: Flask, name: str, role: str, commune: str | None
) -> None:
    someone = client_as(app, name, role, commune)
    created = someone.post("/api/v1/tokens", json={"label": "script agenda"})
    assert created.status_code == 201
    new = created.get_json()
    assert new["token"].startswith("rls_") and new["label"] == "script agenda" and new["user"] == name
    assert someone.get("/api/v1/me", headers=bearer(new["token"])).get_json()["name"] == name

    listed = someone.get("/api/v1/tokens").get_json()
    assert listed["total"] == 2, "the fixture's token and the new one"
    assert listed["tokens"][0] == {key: value for key, value in new.items() if key != "token"}
    assert new["token"] not in json.dumps(listed), "the secret is shown only once"

    revoked = someone.delete(f"/api/v1/tokens/{new['id']}")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"] is not None
    assert someone.get("/api/v1/me", headers=bearer(new["token"])).status_code == 401
    assert someone.get("/api/v1/me").status_code == 200, "the other token still works"


def test_nobody_but_an_administrator_touches_anothers_tokens(app: Flask, client: FlaskClient) -> None:
    victim = client.post("/api/v1/tokens", json={"label": "admin script"}).get_json()
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")

    listed = editor.get("/api/v1/tokens?user=tests")
    assert listed.status_code == 403 and "users.manage" in listed.get_json()["error"]["message"]
    made = editor.post("/api/v1/tokens", json={"label": "sneaky", "user": "tests"})
    assert made.status_code == 403
    revoked = editor.delete(f"/api/v1/tokens/{victim['id']}")
    assert revoked.status_code == 404, "as if it did not exist"
    assert client.get("/api/v1/me", headers=bearer(victim["token"])).status_code == 200
    assert {t["user"] for t in editor.get("/api/v1/tokens").get_json()["tokens"]} == {"mairie-bourg"}


def test_an_administrator_manages_anyones_tokens(app: Flask, client: FlaskClient) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    made = client.post("/api/v1/tokens", json={"label": "agenda de la mairie", "user": "mairie-bourg"})
    assert made.status_code == 201
    token = made.get_json()
    assert token["user"] == "mairie-bourg"
    me = client.get("/api/v1/me", headers=bearer(token["token"])).get_json()
    assert (me["name"], me["role"]) == ("mairie-bourg", "commune-editor"), "it acts as that user"
    listed = client.get("/api/v1/tokens?user=mairie-bourg").get_json()
    assert [t["label"] for t in listed["tokens"]] == ["agenda de la mairie", "tests"]
    assert [t["label"] for t in editor.get("/api/v1/tokens").get_json()["tokens"]] == [
        "agenda de la mairie",
        "tests",
    ]
    assert client.delete(f"/api/v1/tokens/{token['id']}").status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token["token"])).status_code == 401
    by_query = client.post("/api/v1/tokens?user=mairie-bourg", json={"label": "affichage"}).get_json()
    assert client.get("/api/v1/me", headers=bearer(by_query["token"])).get_json()["name"] == "mairie-bourg"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "label"),
        ({"label": "  "}, 400, "label"),
        ({"label": "x", "user": "nobody"}, 404, "user"),
        ({"label": "x", "user": 3}, 400, "user"),
        (["label"], 400, "body"),
    ],
)
def test_a_wrong_token_request_is_refused_naming_the_field(
    client: FlaskClient, body: object, status: int, field: str
) -> None:
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["field"] == field


def test_a_disabled_user_gets_no_new_token(client: FlaskClient) -> None:
    user = client.post("/api/v1/users", json={"name": "ancien", "role": "viewer"}).get_json()
    client.patch(f"/api/v1/users/{user['id']}", json={"disabled": True})
    response = client.post("/api/v1/tokens", json={"label": "x", "user": "ancien"})
    assert response.status_code == 409 and response.get_json()["error"]["field"] == "user"


def test_revoking_twice_or_an_unknown_token(app: Flask, client: FlaskClient) -> None:
    token = client.post("/api/v1/tokens", json={"label": "x"}).get_json()
    first = client.delete(f"/api/v1/tokens/{token['id']}").get_json()
    assert client.delete(f"/api/v1/tokens/{token['id']}").get_json() == first
    with app.app_context():
        assert get_db()["audit_log"].count_where("action = 'token.revoke'") == 1
    assert client.delete("/api/v1/tokens/999").status_code == 404


def test_tokens_come_a_page_at_a_time(client: FlaskClient) -> None:
    for label in ("un", "deux", "trois"):
        client.post("/api/v1/tokens", json={"label": label})
    page = client.get("/api/v1/tokens?limit=2&offset=1").get_json()
    assert [t["label"] for t in page["tokens"]] == ["deux", "un"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)


def test_token_changes_are_audited_without_their_secret(app: Flask, client: FlaskClient) -> None:
    client_as(app, "mairie-bourg", "commune-editor", "01053")
    token = client.post("/api/v1/tokens", json={"label": "agenda", "user": "mairie-bourg"}).get_json()
    client.delete(f"/api/v1/tokens/{token['id']}")
    with app.app_context():
        db = get_db()
        rows = list(db["audit_log"].rows_where("object_type = 'token'", order_by="id"))
        stored_hash = db["api_tokens"].get(token["id"])["token_hash"]
    assert [(r["action"], r["user_name"], r["object_id"]) for r in rows] == [
        ("token.create", "tests", str(token["id"])),
        ("token.revoke", "tests", str(token["id"])),
    ]
    assert json.loads(rows[0]["after"])["user"] == "mairie-bourg"
    assert json.loads(rows[1]["before"])["revoked_at"] is None
    assert json.loads(rows[1]["after"])["revoked_at"] is not None
    log = json.dumps(rows)
    assert token["token"] not in log and stored_hash not in log
