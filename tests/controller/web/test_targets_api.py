"""/targets: what the target picker offers and counts. The prefecture sees the department, its communes
with their names and counts and the tags; a commune's user only its own commune, panels and tags; a
choice's reach is counted per commune and kind; bad input is a 4xx naming the field."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.domain.panels import register_panel
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import DEMO_RGB, user_token

# Bourg-en-Bresse has an LED panel tagged « entree-de-ville » (shared with Oyonnax) and an RGB LED one
# tagged « centre-ville » (its own); Ambérieu-en-Bugey an e-paper one; Oyonnax an LED one.
OYONNAX = {
    "id": "oyonnax-gare",
    "name": "Oyonnax — gare",
    "commune_insee": "01283",
    "commune_name": "Oyonnax",
    "profile": "led-amber-192x64",
    "tags": ["entree-de-ville"],
}


@pytest.fixture
def clients(app: Flask) -> dict[str, FlaskClient]:
    with app.app_context():
        db = get_db()
        with transaction(db):
            for panel in (DEMO_RGB, OYONNAX):  # beside the demo's LED and e-paper panels, which the app has
                register_panel(db, panel)
        tokens = {
            "prefecture": user_token(db, "admin"),
            "bourg": user_token(db, "mairie-bourg", "commune-editor", "01053"),
        }
    made = {}
    for name, token in tokens.items():
        made[name] = app.test_client()
        made[name].environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return made


def test_the_prefecture_is_offered_the_department_its_communes_and_tags(
    clients: dict[str, FlaskClient],
) -> None:
    answer = clients["prefecture"].get("/api/v1/targets").get_json()
    assert answer["departments"] == [{"code": "01", "panels": 4}]
    assert answer["communes"] == [
        {"insee": "01004", "name": "Ambérieu-en-Bugey", "panels": 1},
        {"insee": "01053", "name": "Bourg-en-Bresse", "panels": 2},
        {"insee": "01283", "name": "Oyonnax", "panels": 1},
    ]
    assert {tag["name"]: tag["panels"] for tag in answer["tags"]} == {
        "centre-ville": 1,
        "entree-de-ville": 2,
        "mairie": 1,
    }
    assert answer["panels"] == 4


def test_a_commune_user_sees_only_its_own_choices(clients: dict[str, FlaskClient]) -> None:
    answer = clients["bourg"].get("/api/v1/targets").get_json()
    assert answer == {
        "departments": [],
        "communes": [{"insee": "01053", "name": "Bourg-en-Bresse", "panels": 2}],
        "tags": [{"name": "centre-ville", "panels": 1}],  # « entree-de-ville » would reach Oyonnax too
        "panels": 2,
    }
    found = clients["bourg"].get("/api/v1/targets/panels?search=").get_json()
    assert [panel["id"] for panel in found["panels"]] == ["bourg-entree-nord", "bourg-place-bernard"]
    assert clients["bourg"].get("/api/v1/targets/panels?search=oyonnax").get_json()["total"] == 0


def test_panels_are_found_by_name_or_commune_without_accents_a_page_at_a_time(
    clients: dict[str, FlaskClient],
) -> None:
    found = clients["prefecture"].get("/api/v1/targets/panels?search=AMBERIEU").get_json()
    assert [panel["id"] for panel in found["panels"]] == ["amberieu-mairie"]
    assert found["panels"][0]["commune"] == {"insee": "01004", "name": "Ambérieu-en-Bugey"}
    assert found["panels"][0]["kind"] == "epaper"
    page = clients["prefecture"].get("/api/v1/targets/panels?limit=1&offset=1").get_json()
    assert (page["total"], [panel["id"] for panel in page["panels"]]) == (4, ["bourg-entree-nord"])
    by_insee = clients["prefecture"].get("/api/v1/targets/panels?search=01283").get_json()
    assert [panel["id"] for panel in by_insee["panels"]] == ["oyonnax-gare"]


def test_a_choice_is_counted_per_commune_and_kind_with_a_panel_of_each_profile(
    clients: dict[str, FlaskClient],
) -> None:
    answer = clients["prefecture"].post(
        "/api/v1/targets/resolve", json={"tags": ["entree-de-ville"], "panels": ["amberieu-mairie"]}
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["panels"], body["communes"], body["kinds"]) == (3, 3, {"epaper": 1, "led": 2})
    assert [(p["profile"], p["panels"], p["example"]["id"]) for p in body["profiles"]] == [
        ("epaper-bw-800x480", 1, "amberieu-mairie"),
        ("led-amber-192x64", 2, "bourg-entree-nord"),
    ]
    assert [panel["name"] for panel in body["named"]] == ["Ambérieu-en-Bugey — mairie"]
    whole = clients["prefecture"].post("/api/v1/targets/resolve", json={"departments": ["01"]}).get_json()
    assert (whole["panels"], whole["communes"]) == (4, 3)


def test_a_commune_users_choice_stays_in_its_commune(clients: dict[str, FlaskClient]) -> None:
    own = clients["bourg"].post("/api/v1/targets/resolve", json={"communes": ["01053"]}).get_json()
    assert (own["panels"], own["communes"]) == (2, 1)
    for body, field, status in [
        ({"tags": ["entree-de-ville"]}, "tags", 403),
        ({"departments": ["01"]}, "departments", 403),
        ({"communes": ["01004"]}, "communes", 403),
        ({"panels": ["oyonnax-gare"]}, "panels", 422),
    ]:
        answer = clients["bourg"].post("/api/v1/targets/resolve", json=body)
        assert (answer.status_code, answer.get_json()["error"]["field"]) == (status, field), body


@pytest.mark.parametrize(
    ("request_args", "status", "field"),
    [
        (("post", "/api/v1/targets/resolve", {"json": {}}), 400, "panels"),
        (("post", "/api/v1/targets/resolve", {"json": {"communes": "01053"}}), 400, "communes"),
        (("post", "/api/v1/targets/resolve", {"json": {"departments": ["Ain"]}}), 400, "departments"),
        (("post", "/api/v1/targets/resolve", {"json": ["01053"]}), 400, "body"),
        (("post", "/api/v1/targets/resolve", {"json": {"panels": ["nowhere"]}}), 422, "panels"),
        (("get", "/api/v1/targets/panels?search=" + "x" * 101, {}), 400, "search"),
        (("get", "/api/v1/targets/panels?limit=0", {}), 400, "limit"),
    ],
)
def test_bad_input_names_the_field(
    clients: dict[str, FlaskClient], request_args: tuple[str, str, dict], status: int, field: str
) -> None:
    method, url, options = request_args
    answer = getattr(clients["prefecture"], method)(url, **options)
    assert (answer.status_code, answer.get_json()["error"]["field"]) == (status, field)
