"""Accounts, login sessions, CSRF on session writes, role checks and the append-only audit log."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.domain import accounts, audit
from controller.domain.access import Permission, Role
from controller.storage.db import MIGRATIONS, connect, migrate, transaction
from controller.web.context import get_db
from tests.support import user_token

PASSWORD = "correct horse battery"
# Over HTTPS, Flask-WTF also checks that a form comes from a page of this site, as browsers say.
HTTPS_LOGIN = "https://localhost/login"


@pytest.fixture
def accounts_app(app: Flask) -> Flask:
    with app.app_context():
        db = get_db()
        with transaction(db):
            accounts.create_user(db, "mairie-bourg", "commune-editor", PASSWORD, "01053")
            accounts.create_user(db, "technicien", "technician", PASSWORD)
    return app


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def _log_in(client: FlaskClient, name: str, password: str = PASSWORD) -> str:
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return token


def test_a_user_logs_in_and_the_cookie_is_httponly_and_samesite(accounts_app: Flask) -> None:
    client = accounts_app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"name": "mairie-bourg", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    panels = client.get("/api/v1/panels")
    assert panels.status_code == 200


def test_a_wrong_password_says_so_without_telling_which_part_was_wrong(accounts_app: Flask) -> None:
    client = accounts_app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"name": "mairie-bourg", "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)
    assert 'value="mairie-bourg"' in response.get_data(as_text=True), "the form keeps the name typed"
    assert client.get("/api/v1/panels").status_code == 401


def test_a_login_form_without_its_csrf_token_is_refused(accounts_app: Flask) -> None:
    client = accounts_app.test_client()
    response = client.post("/login", data={"name": "mairie-bourg", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/api/v1/panels").status_code == 401


def test_logins_are_rate_limited(accounts_app: Flask) -> None:
    client = accounts_app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post(
            "/login", data={"name": "mairie-bourg", "password": "guess", "csrf_token": token}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_a_session_write_to_the_api_needs_the_csrf_header(accounts_app: Flask) -> None:
    client = accounts_app.test_client()
    token = _log_in(client, "mairie-bourg")
    body = {"text": "Marché de Noël", "panels": ["bourg-entree-nord"]}
    refused = client.post("/api/v1/messages", json=body)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf"
    accepted = client.post("/api/v1/messages", json=body, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.get_json()


def test_logout_ends_the_session(accounts_app: Flask) -> None:
    client = accounts_app.test_client()
    token = _log_in(client, "mairie-bourg")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/v1/panels").status_code == 401


def test_logging_out_ends_the_session_for_every_copy_of_its_cookie(accounts_app: Flask) -> None:
    """A cookie copied before logging out (another tab, a shared computer, a thief) reads and writes
    nothing after: the session is ended on the server, not only forgotten by one browser."""
    browser = accounts_app.test_client()
    token = _log_in(browser, "mairie-bourg")
    copy = accounts_app.test_client()
    cookie = browser.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    assert copy.get("/api/v1/panels").status_code == 200, "the copy works while the session lasts"

    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert copy.get("/api/v1/panels").status_code == 401
    body = {"text": "Marché de Noël", "panels": ["bourg-entree-nord"]}
    assert copy.post("/api/v1/messages", json=body, headers={"X-CSRFToken": token}).status_code == 401
    page = copy.get("/messages")
    assert (page.status_code, page.headers["Location"]) == (302, "/login?next=%2Fmessages")
    with accounts_app.app_context():
        assert get_db().execute("select count(*) from messages").fetchone()[0] == 0
    # Logging in again opens a new session, which works.
    _log_in(browser, "mairie-bourg")
    assert browser.get("/api/v1/panels").status_code == 200


def test_a_role_without_the_permission_gets_403_naming_it(accounts_app: Flask) -> None:
    with accounts_app.app_context():
        token = user_token(get_db(), "technicien")
    response = accounts_app.test_client().post(
        "/api/v1/messages",
        json={"text": "x", "panels": ["bourg-entree-nord"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert "messages.edit" in response.get_json()["error"]["message"]


def test_a_disabled_user_can_no_longer_log_in_nor_use_tokens(accounts_app: Flask) -> None:
    with accounts_app.app_context():
        db = get_db()
        token = user_token(db, "mairie-bourg")
        with transaction(db):
            db.execute("update users set disabled_at = 1 where name = 'mairie-bourg'")
        assert accounts.authenticate(db, "mairie-bourg", PASSWORD) is None
    response = accounts_app.test_client().get("/api/v1/panels", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "commune", "field"),
    [
        ("commune-editor", None, "commune"),
        ("technician", "01053", "commune"),
        ("mayor", None, "role"),
        ("admin", "0105", "commune"),
    ],
)
def test_users_are_checked_field_by_field(app: Flask, role: str, commune: str | None, field: str) -> None:
    with app.app_context(), pytest.raises(ValueError) as refused:
        accounts.create_user(get_db(), "someone", role, PASSWORD, commune)
    assert refused.value.field == field  # type: ignore[attr-defined]


def test_short_passwords_are_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValueError, match="at least 12"):
        accounts.create_user(get_db(), "someone", "viewer", "short")


def test_commune_users_belong_to_their_commune_organisation(accounts_app: Flask) -> None:
    with accounts_app.app_context():
        actor = accounts.authenticate(get_db(), "mairie-bourg", PASSWORD)
    assert actor is not None
    assert (actor.role, actor.organisation, actor.commune_insee) == (
        Role.COMMUNE_EDITOR,
        "commune-01053",
        "01053",
    )
    assert actor.can(Permission.MESSAGES_EDIT) and not actor.can(Permission.PANELS_COMMAND)
    assert actor.sees_commune("01053") and not actor.sees_commune("01004")


def test_the_audit_log_refuses_updates_and_deletes(app: Flask) -> None:
    with app.app_context():
        db = get_db()
        with transaction(db):
            audit.record(db, None, "user.create", "user", 1, after={"name": "x"})
        for statement in ("update audit_log set action = 'forged'", "delete from audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)
        assert [row["action"] for row in db["audit_log"].rows] == ["user.create"]


def test_tokens_of_a_database_from_before_accounts_belong_to_an_administrator(tmp_path: Path) -> None:
    db = connect(tmp_path / "relais.db")
    db["_migrations"].create({"name": str, "applied_at": int}, pk="name")
    for name, migration in MIGRATIONS:
        if name == "0006_accounts":
            break
        migration(db)
        db["_migrations"].insert({"name": name, "applied_at": 0})
    db["api_tokens"].insert(
        {"name": "old script", "token_hash": accounts._hash_token("rls_old"), "created_at": 0}
    )
    db.conn.commit()
    assert migrate(db)[0] == "0006_accounts"
    actor = accounts.token_actor(db, "rls_old")
    assert actor is not None and actor.role == Role.ADMIN
    app = create_app({"DATA_DIR": tmp_path, "DATABASE": tmp_path / "relais.db", "TESTING": True})
    try:
        response = app.test_client().get("/api/v1/panels", headers={"Authorization": "Bearer rls_old"})
        assert response.status_code == 200
    finally:
        shutdown_app(app)


def test_behind_an_https_proxy_cookies_are_secure_and_limits_count_the_forwarded_client(
    tmp_path: Path,
) -> None:
    app = create_app({"DATA_DIR": tmp_path, "TESTING": True, "BEHIND_HTTPS_PROXY": True})
    try:
        client = app.test_client()
        token = _csrf(client.get("/login").get_data(as_text=True))

        def attempt(address: str) -> int:
            form = {"name": "x1", "password": "guess", "csrf_token": token}
            headers = {"X-Forwarded-For": address, "X-Forwarded-Proto": "https", "Referer": HTTPS_LOGIN}
            return client.post("/login", data=form, headers=headers).status_code

        assert [attempt("203.0.113.7") for _ in range(11)][-1] == 429
        assert attempt("198.51.100.2") == 401, "another client is not held back"
        with app.app_context(), transaction(get_db()):
            accounts.create_user(get_db(), "viewer1", "viewer", PASSWORD)
        response = client.post(
            "/login",
            data={"name": "viewer1", "password": PASSWORD, "csrf_token": token},
            headers={"X-Forwarded-For": "192.0.2.1", "X-Forwarded-Proto": "https", "Referer": HTTPS_LOGIN},
        )
        assert response.status_code == 302
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        shutdown_app(app)


def test_a_password_change_or_a_disabling_logs_out_every_browser_for_good(accounts_app: Flask) -> None:
    browser, other_browser = accounts_app.test_client(), accounts_app.test_client()
    _log_in(browser, "mairie-bourg")
    _log_in(other_browser, "mairie-bourg")
    with accounts_app.app_context():
        db = get_db()
        user_id = accounts.user_by_name(db, "mairie-bourg")["id"]
        with transaction(db):
            accounts.set_password(db, user_id, "another long passphrase")
    assert browser.get("/api/v1/panels").status_code == 401
    assert other_browser.get("/api/v1/panels").status_code == 401

    _log_in(browser, "mairie-bourg", "another long passphrase")
    with accounts_app.app_context():
        db = get_db()
        with transaction(db):
            accounts.update_user(db, user_id, {"disabled": True})
        with transaction(db):
            accounts.update_user(db, user_id, {"disabled": False})
    assert browser.get("/api/v1/panels").status_code == 401, "re-enabling does not revive an old session"
    _log_in(browser, "mairie-bourg", "another long passphrase")
    assert browser.get("/api/v1/panels").status_code == 200
