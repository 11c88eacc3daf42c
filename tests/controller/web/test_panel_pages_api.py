"""GET /api/v1/panels pages a large fleet in the database: walked page by page, with or without filters,
as the prefecture or as a commune, it gives the rows the whole list gave, cut in the same places; sorted
and searched as the fleet page asks; bad paging, sorting or searching is a 400 naming its field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.domain.panels import BrokerWatch, panel_statuses, register_panel
from controller.storage.db import folded, transaction
from controller.web.context import get_db
from tests.support import client_as

COMMUNES = [("01004", "Ambérieu-en-Bugey"), ("01053", "Bourg-en-Bresse"), ("01283", "Oyonnax")]
PANELS = 61


@pytest.fixture
def clients(app: Flask) -> dict[str, FlaskClient]:
    """61 panels beside the demo's two, some online, some with a fault, some behind (set-up in SQL)."""
    with app.app_context():
        db = get_db()
        with transaction(db):
            for number in range(PANELS):
                insee, commune = COMMUNES[number % len(COMMUNES)]
                register_panel(
                    db,
                    {
                        "id": f"panneau-{number:03d}",
                        "name": f"{'Église' if number % 5 == 0 else 'Rue'} {number:03d}",
                        "commune_insee": insee,
                        "commune_name": commune,
                        "profile": "led-amber-192x64" if number % 2 else "epaper-bw-800x480",
                    },
                )
                if number % 4:
                    db.execute(
                        "insert into panel_status (panel_id, online, last_seen, faults, applied_seq)"
                        " values (?, ?, ?, ?, 0)",
                        [
                            f"panneau-{number:03d}",
                            int(number % 3 == 0),
                            1_700_000_000 + number,
                            json.dumps(["fan"] if number % 7 == 0 else []),
                        ],
                    )
    return {
        "prefecture": client_as(app, "admin"),
        "bourg": client_as(app, "technicien-bourg", "commune-editor", "01053"),
    }


def whole_list(app: Flask, commune: str | None = None, **filters: Any) -> list[dict[str, Any]]:
    """The rows as the API gave them before it paged in SQL: every panel, then the person's, in id order."""
    with app.app_context():
        rows = panel_statuses(get_db(), watch=BrokerWatch(False), **filters)  # no broker here
    return [row for row in rows if commune in (None, row["commune"]["insee"])]


def walk(client: FlaskClient, query: str, limit: int) -> tuple[list[dict[str, Any]], set[int]]:
    """Every page of a query, in turn: its rows without what is on air now, and the totals said."""
    rows: list[dict[str, Any]] = []
    totals = set()
    offset = 0
    while True:
        answer = client.get(f"/api/v1/panels?limit={limit}&offset={offset}{query}")
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert all("on_air" in row for row in body["panels"])
        rows.extend({key: value for key, value in row.items() if key != "on_air"} for row in body["panels"])
        totals.add(body["total"])
        offset += limit
        if offset >= body["total"]:
            return rows, totals


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("", {}),
        ("&online=0", {"online": False}),
        ("&online=1&kind=led", {"online": True, "kind": "led"}),
        ("&commune=01283", {"commune": "01283"}),
    ],
)
def test_pages_give_the_rows_of_the_whole_list_across_their_boundaries(
    app: Flask, clients: dict[str, FlaskClient], query: str, filters: dict[str, Any]
) -> None:
    expected = whole_list(app, **filters)
    for limit in (7, 50, 200):
        rows, totals = walk(clients["prefecture"], query, limit)
        assert totals == {len(expected)}
        assert rows == expected


def test_a_commune_sees_its_own_panels_only_page_by_page(app: Flask, clients: dict[str, FlaskClient]) -> None:
    expected = whole_list(app, "01053")
    assert len(expected) > 10
    rows, totals = walk(clients["bourg"], "", 4)
    assert totals == {len(expected)} and rows == expected
    rows, totals = walk(clients["bourg"], "&online=0", 4)
    assert rows == whole_list(app, "01053", online=False) and totals == {len(rows)}
    assert clients["bourg"].get("/api/v1/panels?commune=01283").get_json()["total"] == 0
    named = clients["bourg"].get("/api/v1/panels?id=panneau-002&id=panneau-001").get_json()
    assert [row["id"] for row in named["panels"]] == ["panneau-001"]  # 002 is Oyonnax's


def test_the_fleet_page_sorts_and_searches_in_the_database(
    app: Flask, clients: dict[str, FlaskClient]
) -> None:
    every = whole_list(app)
    found, totals = walk(clients["prefecture"], "&search=EGLISE%20&sort=name", 5)
    assert [row["name"] for row in found] == sorted(
        row["name"] for row in every if row["name"].startswith("Église")
    )
    assert totals == {len(found)}
    by_commune, _totals = walk(clients["prefecture"], "&search=amberieu&sort=name&dir=desc", 10)
    assert {row["commune"]["insee"] for row in by_commune} == {"01004"}
    # By name as people read it: « Église » among the E, not after Z.
    assert [row["name"] for row in by_commune] == sorted(
        (row["name"] for row in by_commune), key=folded, reverse=True
    )
    assert by_commune[0]["name"].startswith("Rue")
    faulty, _totals = walk(clients["prefecture"], "&sort=faults&dir=desc", 9)
    assert [row["faults"] for row in faulty[:3]] == [["fan"]] * 3
    assert all(not row["faults"] for row in faulty[sum(1 for row in every if row["faults"]) :])
    seen, _totals = walk(clients["prefecture"], "&sort=last_seen", 200)
    stamps = [row["last_seen"] or "" for row in seen]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=colour", "sort"),
        ("sort=name&dir=up", "dir"),
        ("search=" + "a" * 101, "search"),
        ("limit=0", "limit"),
    ],
)
def test_bad_paging_sorting_or_searching_is_a_400_naming_the_field(
    clients: dict[str, FlaskClient], query: str, field: str
) -> None:
    answer = clients["prefecture"].get(f"/api/v1/panels?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == field
