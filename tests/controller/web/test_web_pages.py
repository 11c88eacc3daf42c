"""The browser app's pages without a browser: who lands where, what the navigation offers, the language
switch, the live fleet feed's checks, and the English catalogue that ships compiled."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from controller.domain import accounts
from controller.domain.panels import MAX_SEARCH
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import REPO, user_token

PASSWORD = "correct horse battery"
CATALOGUES = REPO / "controller" / "web" / "translations"
USERS = [
    ("admin", "admin", None),
    ("prefecture", "campaign-manager", None),
    ("mairie-bourg", "commune-editor", "01053"),
    ("valideur-bourg", "commune-approver", "01053"),
    ("mairie-amberieu", "commune-editor", "01004"),
    ("technicien", "technician", None),
    ("lecteur", "viewer", None),
]


def _log_in(app: Flask, name: str) -> FlaskClient:
    """A client logged in as one of ``USERS``, made on first use (hashing a password takes a while)."""
    with app.app_context():
        db = get_db()
        if accounts.user_by_name(db, name) is None:
            _name, role, commune = next(user for user in USERS if user[0] == name)
            with transaction(db):
                accounts.create_user(db, name, role, PASSWORD, commune)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def _nav(page: str) -> list[str]:
    menu = page.split("<nav ", 1)[1].split("</nav>", 1)[0]
    return re.findall(r">([^<>]+)</a>", menu)


def test_pages_send_a_visitor_to_the_login_page(app: Flask) -> None:
    response = app.test_client().get("/parc")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("name", "lands_on", "menu"),
    [
        (
            "admin",
            "/parc",
            [
                "Messages",
                "À valider",
                "Invitations",
                "Campagnes",
                "Indicateurs",
                "Alerte",
                "Parc",
                "Utilisateurs",
                "Journal",
                "Notifications",
                "Webhooks",
                "Mes jetons",
            ],
        ),
        (
            "prefecture",
            "/campagnes",
            ["Messages", "Campagnes", "Indicateurs", "Alerte", "Parc", "Notifications", "Mes jetons"],
        ),
        (
            "mairie-bourg",
            "/messages",
            ["Messages", "Invitations", "Parc", "Notifications", "Webhooks", "Mes jetons"],
        ),
        (
            "valideur-bourg",
            "/validation",
            ["Messages", "À valider", "Invitations", "Parc", "Notifications", "Webhooks", "Mes jetons"],
        ),
        ("technicien", "/parc", ["Parc", "Notifications", "Mes jetons"]),
        ("lecteur", "/parc", ["Messages", "Parc", "Notifications", "Mes jetons"]),
    ],
)
def test_each_role_lands_on_its_job_and_sees_only_what_it_may_do(
    app: Flask, name: str, lands_on: str, menu: list[str]
) -> None:
    client = _log_in(app, name)
    landing = client.get("/")
    assert landing.headers["Location"] == lands_on
    page = client.get(lands_on).get_data(as_text=True)
    assert _nav(page) == menu
    assert '<html lang="fr">' in page
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("technicien", "/messages"),
        ("mairie-bourg", "/admin/utilisateurs"),
        ("mairie-bourg", "/alertes"),
        ("lecteur", "/validation"),
        ("prefecture", "/admin/journal"),
        ("mairie-bourg", "/indicateurs"),
        ("lecteur", "/indicateurs"),
    ],
)
def test_a_page_the_role_may_not_use_says_so(app: Flask, name: str, path: str) -> None:
    response = _log_in(app, name).get(path)
    assert response.status_code == 403
    assert "Votre rôle ne permet pas d’ouvrir cette page." in response.get_data(as_text=True)


def test_another_communes_panel_page_does_not_exist_for_a_commune_user(app: Flask) -> None:
    client = _log_in(app, "mairie-bourg")
    assert client.get("/parc/bourg-entree-nord").status_code == 200
    assert client.get("/parc/amberieu-mairie").status_code == 404


def test_the_commune_editor_is_offered_the_form_and_the_viewer_only_the_list(app: Flask) -> None:
    assert 'id="message-form"' in _log_in(app, "mairie-bourg").get("/messages").get_data(as_text=True)
    assert 'id="message-form"' not in _log_in(app, "lecteur").get("/messages").get_data(as_text=True)


def test_english_is_one_click_away_and_stays_chosen(app: Flask) -> None:
    client = _log_in(app, "technicien")
    switch = client.get("/langue/en?next=/parc")
    assert switch.headers["Location"] == "/parc"
    page = client.get("/parc").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "The panel fleet" in page and "Offline only" in page
    assert _nav(page) == ["Fleet", "Notifications", "My tokens"]
    assert json.loads(re.search(r'id="strings">(.*?)</script>', page).group(1))["offline"] == "offline"
    login = client.get("/login").get_data(as_text=True)
    assert "User name" in login and "Password" in login
    client.get("/langue/fr")
    assert "Le parc de panneaux" in client.get("/parc").get_data(as_text=True)


def test_the_language_switch_only_goes_back_to_this_site(app: Flask) -> None:
    response = app.test_client().get("/langue/en?next=//evil.example/")
    assert response.headers["Location"] == "/"


def _events(
    client: FlaskClient, count: int = 1, between: Callable[[], None] = lambda: None, **kwargs: object
) -> list[dict]:
    """The first ``count`` updates of the live feed, each with its ``id``; ``between`` runs after the first."""
    response = client.get("/live/panels", **kwargs)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events: list[dict] = []
    try:
        for chunk in response.response:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if text.startswith("id: "):
                head, data = text.split("\n", 1)
                events.append({"id": int(head[len("id: ") :]), **json.loads(data[len("data: ") :])})
                if len(events) == count:
                    return events
                between()
    finally:
        response.close()
    raise AssertionError("no event")


def test_the_live_feed_starts_with_the_fleet_summary_and_no_rows(client: FlaskClient) -> None:
    (first,) = _events(client)
    assert first["panels"] == []  # the page asks its rows of the API, a page at a time
    assert first["summary"] == {"total": 2, "unknown": 2, "online": 0, "offline": 0, "faulty": 0, "late": 0}


def test_the_live_feed_sends_the_panels_changed_not_the_fleet(app: Flask, client: FlaskClient) -> None:
    def report() -> None:
        with app.app_context():
            db = get_db()
            with transaction(db):
                db.execute(
                    "insert into panel_status (panel_id, online, last_seen) values (?, 1, 1700000000)",
                    ["amberieu-mairie"],
                )

    first, second = _events(client, 2, report)
    assert [panel["id"] for panel in second["panels"]] == ["amberieu-mairie"]
    assert (
        second["panels"][0]["online"] is True and second["panels"][0]["last_seen"] == "2023-11-14T22:13:20Z"
    )
    assert second["id"] > first["id"]
    # Reconnected with the last version it had, a page is sent what changed since, and only that.
    (again,) = _events(client, headers={"Last-Event-ID": str(first["id"])})
    assert [panel["id"] for panel in again["panels"]] == ["amberieu-mairie"]
    (up_to_date,) = _events(client, headers={"Last-Event-ID": str(second["id"])})
    assert up_to_date["panels"] == []
    # A page opens its stream from the version it was drawn at: what changed since is sent at once.
    assert f'data-version="{second["id"]}"' in _log_in(app, "technicien").get("/parc").get_data(as_text=True)
    (opened,) = _events(client, query_string={"since": str(first["id"])})
    assert [panel["id"] for panel in opened["panels"]] == ["amberieu-mairie"]
    # A version this database never had (a backup restored): the page asks its rows again.
    (restored,) = _events(client, headers={"Last-Event-ID": str(second["id"] + 100)})
    assert restored["panels"] is None


def test_the_search_boxes_take_no_longer_search_than_the_api(app: Flask) -> None:
    """A longer search is a 400: typed in a box that took it, the list would stay as it was, unexplained."""
    client = _log_in(app, "prefecture")
    for path in ("/parc", "/alertes"):
        page = client.get(path).get_data(as_text=True)
        boxes = re.findall(r'<input[^>]*type="search"[^>]*>', page)
        assert boxes and all(f'maxlength="{MAX_SEARCH}"' in box for box in boxes), path


@pytest.mark.parametrize("version", ["²", "9" * 5000, "-" + "9" * 30, "hier"])
def test_the_live_feed_starts_afresh_from_a_version_it_cannot_read(client: FlaskClient, version: str) -> None:
    (first,) = _events(client, headers={"Last-Event-ID": version})
    assert first["panels"] in ([], None) and first["summary"]["total"] == 2


def test_the_live_feed_shows_a_commune_user_only_its_commune(app: Flask) -> None:
    def report() -> None:
        with app.app_context():
            db = get_db()
            with transaction(db):
                for panel_id in ("bourg-entree-nord", "amberieu-mairie"):
                    db.execute("insert into panel_status (panel_id, online) values (?, 1)", [panel_id])

    first, second = _events(_log_in(app, "mairie-amberieu"), 2, report)
    assert first["summary"]["total"] == 1
    assert [panel["id"] for panel in second["panels"]] == ["amberieu-mairie"]


def test_the_live_feed_needs_a_login(app: Flask) -> None:
    assert app.test_client().get("/live/panels").status_code == 401


def test_the_live_feed_accepts_a_token_with_the_role_checked(app: Flask) -> None:
    with app.app_context():
        token = user_token(get_db(), "tech-script", "technician")
    (first,) = _events(app.test_client(), headers={"Authorization": f"Bearer {token}"})
    assert first["summary"]["total"] == 2


@pytest.mark.parametrize(
    ("language", "domain"),
    [("en", "messages"), ("fr", "errors")],  # the pages' English; the API errors' French
)
def test_each_compiled_catalogue_matches_its_source(language: str, domain: str) -> None:
    folder = CATALOGUES / language / "LC_MESSAGES"
    with (folder / f"{domain}.po").open("rb") as po, (folder / f"{domain}.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    expected = {message.id: message.string for message in source if message.id and not message.fuzzy}
    shipped = {message.id: message.string for message in compiled if message.id}
    assert shipped == expected, f"run: pybabel compile -D {domain} -d controller/web/translations"
    assert all(expected.values()), "every string has its translation"


def test_the_indicators_page_draws_its_charts_and_names_a_wrong_filter(app: Flask) -> None:
    client = _log_in(app, "prefecture")
    page = client.get("/indicateurs").get_data(as_text=True)
    for chart in ("chart-hours", "chart-public", "chart-online"):
        assert f'<svg id="{chart}"' in page and f'<desc id="{chart}-desc">' in page
    assert 'href="/api/v1/indicators?format=csv&amp;table=online"' in page
    refused = client.get("/indicateurs?from=2026-W60")
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert 'id="from-error"' in text and "Doit être une semaine ISO" in text
