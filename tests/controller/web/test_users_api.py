"""The administration API for people: /me, users (create, change, disable) and organisations."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.domain.access import Role
from controller.web.context import get_db
from tests.support import client_as

PASSWORD = "correct horse battery"
NOT_ADMIN = [
    ("prefecture", "campaign-manager", None),
    ("mairie-bourg", "commune-editor", "01053"),
    ("valideur-bourg", "commune-approver", "01053"),
    ("technicien", "technician", None),
    ("lecteur", "viewer", None),
]


def log_in(app: Flask, name: str, password: str = PASSWORD) -> FlaskClient:
    """A browser that logged in with the form, as a person would."""
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found
    response = browser.post("/login", data={"name": name, "password": password, "csrf_token": found.group(1)})
    assert response.status_code == 302, f"{name} could not log in"
    return browser


def audit_rows(app: Flask, action: str) -> list[dict]:
    with app.app_context():
        return list(get_db()["audit_log"].rows_where("action = ?", [action], order_by="id"))


def create(client: FlaskClient, **fields: object) -> dict:
    response = client.post("/api/v1/users", json=fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_me_tells_each_role_who_they_are_and_what_they_may_do(app: Flask) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053").get("/api/v1/me").get_json()
    assert editor["name"] == "mairie-bourg"
    assert (editor["role"], editor["commune"], editor["organisation"]) == (
        "commune-editor",
        "01053",
        "commune-01053",
    )
    assert "messages.edit" in editor["permissions"] and "users.manage" not in editor["permissions"]
    viewer = client_as(app, "lecteur", "viewer").get("/api/v1/me").get_json()
    assert viewer["commune"] is None and "messages.edit" not in viewer["permissions"]
    assert app.test_client().get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(("name", "role", "commune"), NOT_ADMIN)
def test_only_an_administrator_manages_users(app: Flask, name: str, role: str, commune: str | None) -> None:
    someone = client_as(app, name, role, commune)
    for method, url, body in (
        ("get", "/api/v1/users", None),
        ("post", "/api/v1/users", {"name": "x-user", "role": "viewer"}),
        ("get", "/api/v1/users/1", None),
        ("patch", "/api/v1/users/1", {"disabled": True}),
        ("patch", "/api/v1/organisations/commune-01053", {"messages_need_approval": True}),
    ):
        response = getattr(someone, method)(url, json=body)
        assert response.status_code == 403, (method, url)
        assert "users.manage" in response.get_json()["error"]["message"]


def test_an_administrator_creates_a_user_who_can_then_log_in(app: Flask, client: FlaskClient) -> None:
    user = create(client, name="mairie-bourg", role="commune-editor", commune="01053", password=PASSWORD)
    assert user["name"] == "mairie-bourg" and user["role"] == "commune-editor"
    assert (user["commune"], user["organisation"]) == ("01053", "commune-01053")
    assert user["password_set"] is True and user["disabled"] is False
    assert "password" not in json.dumps(user).replace("password_set", "")
    assert client.get(f"/api/v1/users/{user['id']}").get_json() == user
    me = log_in(app, "mairie-bourg").get("/api/v1/me").get_json()
    assert me["name"] == "mairie-bourg"
    [entry] = audit_rows(app, "user.create")
    assert entry["user_name"] == "tests" and entry["object_id"] == str(user["id"])
    assert json.loads(entry["after"])["role"] == "commune-editor"
    assert PASSWORD not in entry["after"] and "scrypt" not in entry["after"]


def test_a_user_without_a_password_works_with_tokens_only(client: FlaskClient) -> None:
    user = create(client, name="script-agenda", role="viewer")
    assert user["password_set"] is False
    token = client.post("/api/v1/tokens", json={"user": "script-agenda", "label": "agenda"}).get_json()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"}).get_json()
    assert me["name"] == "script-agenda"


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"role": "viewer"}, "name", 400),
        ({"name": "a b", "role": "viewer"}, "name", 400),
        ({"name": "x-user", "role": "mayor"}, "role", 400),
        ({"name": "x-user", "role": "commune-editor"}, "commune", 400),
        ({"name": "x-user", "role": "technician", "commune": "01053"}, "commune", 400),
        ({"name": "x-user", "role": "commune-editor", "commune": "1053"}, "commune", 400),
        ({"name": "x-user", "role": "viewer", "password": "short"}, "password", 400),
        ({"name": "x-user", "role": "viewer", "password": 123456789012}, "password", 400),
        ({"name": "x-user", "role": "viewer", "organisation": "un nom avec espaces"}, "organisation", 400),
        ({"name": "x-user", "role": "viewer", "is_admin": True}, "is_admin", 400),
        ({"name": "tests", "role": "viewer"}, "name", 409),
    ],
)
def test_a_wrong_user_is_refused_naming_the_field(
    app: Flask, client: FlaskClient, body: dict, field: str, status: int
) -> None:
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["field"] == field
    with app.app_context():
        assert get_db()["users"].count == 1, "nothing was created"
    assert audit_rows(app, "user.create") == []


def test_users_are_listed_by_name_a_page_at_a_time(client: FlaskClient) -> None:
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        create(client, name=name, role="viewer")
    page = client.get("/api/v1/users?limit=2&offset=2").get_json()
    assert [user["name"] for user in page["users"]] == ["charlie", "delta"]
    assert (page["total"], page["limit"], page["offset"]) == (6, 2, 2)
    assert [u["name"] for u in client.get("/api/v1/users").get_json()["users"]] == [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "tests",
    ]
    refused = client.get("/api/v1/users?limit=500")
    assert refused.status_code == 400 and refused.get_json()["error"]["field"] == "limit"


def test_an_unknown_user_answers_404(client: FlaskClient) -> None:
    for response in (
        client.get("/api/v1/users/999"),
        client.patch("/api/v1/users/999", json={"disabled": True}),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["field"] == "user_id"


def test_moving_a_commune_user_to_another_commune_moves_their_organisation(
    app: Flask, client: FlaskClient
) -> None:
    user = create(client, name="mairie-bourg", role="commune-editor", commune="01053")
    moved = client.patch(f"/api/v1/users/{user['id']}", json={"commune": "01004"}).get_json()
    assert (moved["commune"], moved["organisation"]) == ("01004", "commune-01004")
    refused = client.patch(f"/api/v1/users/{user['id']}", json={"role": "technician"})
    assert refused.status_code == 400 and refused.get_json()["error"]["field"] == "commune"
    technician = client.patch(f"/api/v1/users/{user['id']}", json={"role": "technician", "commune": None})
    assert technician.status_code == 200
    assert (technician.get_json()["commune"], technician.get_json()["organisation"]) == (None, None)
    entries = audit_rows(app, "user.update")
    assert [json.loads(e["before"])["commune"] for e in entries] == ["01053", "01004"]
    assert [json.loads(e["after"])["role"] for e in entries] == ["commune-editor", "technician"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"disabled": "yes"}, "disabled"),
        ({"role": "chief"}, "role"),
        ({"password": "short"}, "password"),
        ({"name": "renamed"}, "name"),
        ({"organisation": ""}, "organisation"),
    ],
)
def test_a_wrong_change_is_refused_naming_the_field(client: FlaskClient, body: dict, field: str) -> None:
    user = create(client, name="lecteur", role="viewer")
    response = client.patch(f"/api/v1/users/{user['id']}", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field
    assert client.get(f"/api/v1/users/{user['id']}").get_json() == user


def test_a_new_password_replaces_the_old_one_and_is_never_logged(app: Flask, client: FlaskClient) -> None:
    user = create(client, name="lecteur", role="viewer", password=PASSWORD)
    new = "une autre phrase de passe"
    assert client.patch(f"/api/v1/users/{user['id']}", json={"password": new}).status_code == 200
    log_in(app, "lecteur", new)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    old = browser.post("/login", data={"name": "lecteur", "password": PASSWORD, "csrf_token": token})
    assert old.status_code == 401
    [entry] = audit_rows(app, "user.update")
    assert json.loads(entry["after"])["password_changed"] is True
    with app.app_context():
        log = json.dumps(list(get_db()["audit_log"].rows))
    assert new not in log and PASSWORD not in log and "scrypt" not in log


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(app: Flask, client: FlaskClient) -> None:
    user = create(client, name="mairie-bourg", role="commune-editor", commune="01053", password=PASSWORD)
    browser = log_in(app, "mairie-bourg")
    script = client_as(app, "mairie-bourg")
    assert browser.get("/api/v1/me").status_code == 200 and script.get("/api/v1/me").status_code == 200

    disabled = client.patch(f"/api/v1/users/{user['id']}", json={"disabled": True}).get_json()

    assert disabled["disabled"] is True and disabled["disabled_at"] is not None
    assert browser.get("/api/v1/me").status_code == 401
    assert script.get("/api/v1/me").status_code == 401
    tokens = client.get("/api/v1/tokens?user=mairie-bourg").get_json()["tokens"]
    assert tokens and all(token["revoked_at"] for token in tokens)
    [entry] = audit_rows(app, "user.disable")
    assert json.loads(entry["before"])["disabled"] is False
    assert json.loads(entry["after"])["tokens_revoked"] == [token["id"] for token in reversed(tokens)]

    enabled = client.patch(f"/api/v1/users/{user['id']}", json={"disabled": False}).get_json()
    assert enabled["disabled"] is False
    assert script.get("/api/v1/me").status_code == 401, "old tokens stay revoked"
    assert log_in(app, "mairie-bourg").get("/api/v1/me").status_code == 200


def test_the_last_enabled_administrator_can_be_neither_disabled_nor_demoted(
    app: Flask, client: FlaskClient
) -> None:
    me = client.get("/api/v1/me").get_json()
    for body, field in (({"disabled": True}, "disabled"), ({"role": "viewer"}, "role")):
        response = client.patch(f"/api/v1/users/{me['id']}", json=body)
        assert response.status_code == 409
        assert response.get_json()["error"]["field"] == field
    other = create(client, name="admin-2", role="admin")
    client.patch(f"/api/v1/users/{other['id']}", json={"disabled": True})
    assert client.patch(f"/api/v1/users/{me['id']}", json={"role": "viewer"}).status_code == 409, (
        "a disabled administrator does not count"
    )
    client.patch(f"/api/v1/users/{other['id']}", json={"disabled": False})
    demoted = client.patch(f"/api/v1/users/{me['id']}", json={"role": "viewer"})
    assert demoted.status_code == 200 and demoted.get_json()["role"] == Role.VIEWER


# --- organisations -----------------------------------------------------------------------------------


def test_an_administrator_sets_an_organisations_approval_settings(app: Flask, client: FlaskClient) -> None:
    create(client, name="mairie-bourg", role="commune-editor", commune="01053")
    response = client.patch(
        "/api/v1/organisations/commune-01053",
        json={"messages_need_approval": True, "name": "Mairie de Bourg-en-Bresse"},
    )
    assert response.status_code == 200
    org = response.get_json()
    assert org["name"] == "Mairie de Bourg-en-Bresse" and org["commune"] == "01053"
    assert (org["messages_need_approval"], org["alerts_need_approval"]) == (True, False)
    listed = client.get("/api/v1/organisations").get_json()
    assert listed["organisations"] == [org] and listed["total"] == 1
    [entry] = audit_rows(app, "organisation.update")
    assert json.loads(entry["before"])["messages_need_approval"] is False
    assert json.loads(entry["after"])["name"] == "Mairie de Bourg-en-Bresse"


def test_a_communes_organisation_takes_the_communes_name(app: Flask, client: FlaskClient) -> None:
    create(client, name="mairie-bourg", role="commune-editor", commune="01053")
    create(client, name="mairie-oyonnax", role="commune-editor", commune="01283")  # no panel yet
    names = {
        org["id"]: org["name"] for org in client.get("/api/v1/organisations").get_json()["organisations"]
    }
    assert names == {"commune-01053": "Bourg-en-Bresse", "commune-01283": "Commune 01283"}


def test_a_commune_user_sees_only_their_own_organisation(app: Flask, client: FlaskClient) -> None:
    create(client, name="mairie-bourg", role="commune-editor", commune="01053")
    create(client, name="mairie-amberieu", role="commune-editor", commune="01004")
    editor = client_as(app, "mairie-bourg").get("/api/v1/organisations").get_json()
    assert [org["id"] for org in editor["organisations"]] == ["commune-01053"] and editor["total"] == 1
    technician = client_as(app, "technicien", "technician").get("/api/v1/organisations").get_json()
    assert [org["id"] for org in technician["organisations"]] == ["commune-01004", "commune-01053"]


@pytest.mark.parametrize(
    ("org", "body", "status", "field"),
    [
        ("commune-01053", {"messages_need_approval": "oui"}, 400, "messages_need_approval"),
        ("commune-01053", {"name": " "}, 400, "name"),
        ("commune-01053", {"commune": "01004"}, 400, "commune"),
        ("commune-99999", {"name": "x"}, 404, "organisation_id"),
    ],
)
def test_a_wrong_organisation_change_is_refused_naming_the_field(
    app: Flask, client: FlaskClient, org: str, body: dict, status: int, field: str
) -> None:
    create(client, name="mairie-bourg", role="commune-editor", commune="01053")
    response = client.patch(f"/api/v1/organisations/{org}", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["field"] == field
    assert audit_rows(app, "organisation.update") == []
