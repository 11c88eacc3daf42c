"""Security headers on every response (pages, API, static files, errors), and pages that keep to the
Content-Security-Policy: scripts and styles from /static only, no inline code a browser would refuse."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient

from controller.domain import accounts
from controller.storage.db import transaction
from controller.web.context import get_db

LED = "bourg-entree-nord"
PASSWORD = "correct horse battery"
EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PATH_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")
SAMPLES = {"panel_id": LED, "filename": "app.js", "lang": "fr", "action": "launch"}


def _assert_secured(response: object, what: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (what, name, headers.get(name))
    directives = [part.partition(" ") for part in headers.get("Content-Security-Policy", "").split("; ")]
    policy = {name: value for name, _, value in directives}
    assert policy.get("frame-ancestors") == "'none'", what
    assert policy.get("script-src") == "'self'" and policy.get("style-src") == "'self'", what
    assert "unsafe" not in headers["Content-Security-Policy"], what


def _logged_in(app: Flask) -> FlaskClient:
    with app.app_context():
        db = get_db()
        with transaction(db):
            accounts.create_user(db, "admin-web", "admin", PASSWORD)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    form = {"name": "admin-web", "password": PASSWORD, "csrf_token": token.group(1)}
    assert browser.post("/login", data=form).status_code == 302
    return browser


def _get_routes(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint != "web.live_panels":  # a stream that lasts
            paths.append(PATH_ARGUMENT.sub(lambda found: SAMPLES.get(found.group(1), "1"), rule.rule))
    return paths


def test_every_response_carries_the_security_headers(app: Flask, client: FlaskClient) -> None:
    browser = _logged_in(app)
    anonymous = app.test_client()
    routes = _get_routes(app)
    assert {"/messages", "/api/v1/panels", "/static/app.js", "/login"} <= set(routes)
    for path in routes:
        for who, requester in (("session", browser), ("token", client), ("anonymous", anonymous)):
            _assert_secured(requester.get(path), f"{who} GET {path}")
    errors = {
        "404 page": anonymous.get("/nulle-part"),
        "404 api": client.get("/api/v1/messages/999"),
        "405": client.put("/api/v1/messages"),
        "401": anonymous.get("/api/v1/panels"),
        "400": client.post("/api/v1/messages", data="{", content_type="application/json"),
        "413": client.post(
            "/api/v1/messages",
            data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
            content_type="application/json",
        ),
        "screenshot 404": client.get(f"/api/v1/panels/{LED}/screenshot.png"),
    }
    for what, response in errors.items():
        assert response.status_code == (int(what[:3]) if what[0].isdigit() else 404), what
        _assert_secured(response, what)


class _InlineCode(HTMLParser):
    """What a strict Content-Security-Policy refuses in a page: scripts without ``src`` that would run,
    ``style`` elements and attributes, ``on…`` handlers, ``javascript:`` links."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self.found.append(f"inline <script {attrs}>")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")


def test_no_page_has_code_the_policy_would_refuse(app: Flask) -> None:
    browser = _logged_in(app)
    pages = [path for path in _get_routes(app) if not path.startswith(("/api/", "/static/"))]
    drawn = 0
    for path in pages:
        response = browser.get(path)
        if response.mimetype != "text/html":
            continue
        parser = _InlineCode()
        parser.feed(response.get_data(as_text=True))
        assert parser.found == [], (path, parser.found)
        drawn += 1
    assert drawn >= 10, pages
    scripts = "\n".join(
        browser.get(f"/static/{name}").get_data(as_text=True)
        for name in ("app.js", "messages.js", "panel.js", "timeline.js", "fleet.js", "admin.js")
    )
    # Style attributes set from scripts are refused too; properties set one by one are not.
    assert not re.search(r"setAttribute\(\s*[\"']style|\bstyle:\s*`|innerHTML|eval\(|new Function", scripts)
