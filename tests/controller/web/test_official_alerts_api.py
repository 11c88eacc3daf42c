"""Official alert sources, rules and documents through the API, without a broker: each bad field named,
the default rules seeded, rules reordered, the folder pick-up, the read cap, approval's refusals."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.publishing.official_feeds import MAX_BACKOFF_S, backoff_s, clock_tick
from tests.support import client_as
from tests.support.cap_feeds import WRITTEN_FOR, document, feed_server

ORANGE = "meteo-france-orange-snow-ice-ain.xml"
FLOOD = "prefecture-flood-polygon-cap11.xml"
RULE = {
    "name": "Crues",
    "match": {"events": ["crue"]},
    "deployment": {"mode": "automatic", "priority": "emergency"},
    "wording": {"led": "{headline}"},
}


def poll(app: Flask) -> None:
    jobs = app.extensions["relais.jobs"]
    for started in jobs.sources.poll_due(jobs.feeds, time.time() + 86400):
        started.result(timeout=60)


def source(client: FlaskClient, **fields: object) -> dict:
    body = {"name": "MeteoAlarm", "kind": "atom", "location": "http://127.0.0.1:9/feed"} | fields
    response = client.post("/api/v1/alert-sources", json=body)
    assert response.status_code == 201, response.json
    return response.json


def drop_and_poll(
    app: Flask, client: FlaskClient, tmp_path: Path, files: dict[str, bytes]
) -> tuple[Path, dict]:
    """Files dropped in a folder source's folder, then one poll."""
    folder = tmp_path / "depot"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    created = source(client, name="Dépôt", kind="folder", location=str(folder))
    poll(app)
    return folder, created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "atom", "location": "http://127.0.0.1/feed"}, "name"),
        ({"name": "x", "kind": "rss", "location": "http://127.0.0.1/feed"}, "kind"),
        ({"name": "x", "kind": "cap", "location": "file:///etc/passwd"}, "location"),
        ({"name": "x", "kind": "folder", "location": "relative/folder"}, "location"),
        ({"name": "x", "kind": "folder", "location": "/no/such/folder"}, "location"),
        (
            {"name": "x", "kind": "cap", "location": "http://127.0.0.1/a", "poll_interval_s": 5},
            "poll_interval_s",
        ),
        ({"name": "x", "kind": "cap", "location": "http://127.0.0.1/a", "test_mode": "yes"}, "test_mode"),
        ({"name": "x", "kind": "cap", "location": "http://127.0.0.1/a", "every": 60}, "every"),
        (
            {"name": "x", "kind": "cap", "location": "http://127.0.0.1/a", "organisation": "nowhere"},
            "organisation",
        ),
    ],
)
def test_a_bad_source_is_refused_naming_its_field(client: FlaskClient, body: dict, field: str) -> None:
    response = client.post("/api/v1/alert-sources", json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == field, response.json
    assert client.get("/api/v1/alert-sources").json["alert_sources"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deployment": {"mode": "approval_timeout", "priority": "emergency"}}, "deployment.timeout_minutes"),
        ({"deployment": {"mode": "now", "priority": "emergency"}}, "deployment.mode"),
        ({"wording": {"led": "{headline} {colour}"}}, "wording.led"),
        ({"match": {"awareness_levels": ["orange"]}}, "match.awareness_levels"),
        ({"targets": {"alert_area": False}}, "targets"),
        ({"name": ""}, "name"),
        ({"position": 0}, "position"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(client: FlaskClient, change: dict, field: str) -> None:
    response = client.post("/api/v1/alert-rules", json=RULE | change)
    assert response.status_code == 400 and response.json["error"]["field"] == field, response.json


def test_the_first_source_brings_the_default_rules_which_may_be_reordered(client: FlaskClient) -> None:
    source(client)
    [default] = client.get("/api/v1/alert-rules").json["alert_rules"]
    assert default["name"] == "Vigilance Météo-France orange ou rouge"
    assert default["deployment"] == {
        "mode": "approval_timeout",
        "timeout_minutes": 15,
        "priority": "emergency",
    }
    flood = client.post("/api/v1/alert-rules", json=RULE).json
    assert flood["position"] == 2
    moved = client.patch(f"/api/v1/alert-rules/{flood['id']}", json={"position": 1}).json
    assert moved["position"] == 1 and moved["changed_at"]
    assert [rule["name"] for rule in client.get("/api/v1/alert-rules").json["alert_rules"]] == [
        "Crues",
        default["name"],
    ]
    # A second source brings nothing more; deleting a rule closes the ranks.
    source(client, name="Autre")
    assert client.delete(f"/api/v1/alert-rules/{flood['id']}").status_code == 204
    assert [(r["name"], r["position"]) for r in client.get("/api/v1/alert-rules").json["alert_rules"]] == [
        (default["name"], 1)
    ]


def test_a_folder_source_picks_up_dropped_files_and_sets_refused_ones_aside(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    folder, created = drop_and_poll(
        app,
        client,
        tmp_path,
        {"vigilance.xml": document(ORANGE), "garbage.xml": b"<alert>", "notes.txt": b"notes"},
    )
    assert (folder / "processed" / "vigilance.xml").exists() and (folder / "refused" / "garbage.xml").exists()
    assert (folder / "notes.txt").exists()
    [received] = client.get("/api/v1/official-alerts").json["official_alerts"]
    assert received["status"] == "pending" and received["panels"] == ["amberieu-mairie", "bourg-entree-nord"]
    # What the page lists without reading the raw CAP: who, how serious, what, where, from when.
    assert (received["sender_name"], received["awareness_level"], received["awareness_type"]) == (
        "METEO-FRANCE",
        3,
        2,
    )
    assert received["area"] == "Ain, Haute Savoie" and received["onset_at"].endswith("Z"), received
    health = client.get(f"/api/v1/alert-sources/{created['id']}").json["health"]
    assert health["status"] == "error" and health["last_error"].startswith(
        "garbage.xml: the CAP document is not well-formed"
    )
    # The same error, as a French page reads it.
    french = client.get(f"/api/v1/alert-sources/{created['id']}", headers={"Accept-Language": "fr"})
    assert french.json["health"]["last_error"].startswith(
        "garbage.xml: Le document n’est pas du XML bien formé"
    )
    full = client.get(f"/api/v1/official-alerts/{received['id']}").json
    assert full["raw"].startswith("<?xml") and "vigilance@meteo.fr" in full["raw"]


def test_approval_refuses_unknown_profiles_and_what_is_not_pending(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    drop_and_poll(app, client, tmp_path, {"vigilance.xml": document(ORANGE)})
    [pending] = client.get("/api/v1/official-alerts?status=pending").json["official_alerts"]
    wrong = client.post(
        f"/api/v1/official-alerts/{pending['id']}/approve", json={"texts": {"led-red-96x16": "x"}}
    )
    assert wrong.status_code == 400 and wrong.json["error"]["field"] == "texts"
    unexplained = client.post(f"/api/v1/official-alerts/{pending['id']}/reject", json={"reason": " "})
    assert unexplained.status_code == 400 and unexplained.json["error"]["field"] == "reason"
    rejected = client.post(f"/api/v1/official-alerts/{pending['id']}/reject", json={"reason": "déjà signalé"})
    assert rejected.json["status"] == "rejected" and rejected.json["reason"] == "déjà signalé"
    again = client.post(f"/api/v1/official-alerts/{pending['id']}/approve")
    assert again.status_code == 409 and again.json["error"]["field"] == "official_alert_id"
    assert client.get("/api/v1/official-alerts?status=soon").json["error"]["field"] == "status"


def test_a_document_past_the_read_cap_is_a_source_error(app: Flask, client: FlaskClient) -> None:
    with feed_server() as feeds:
        url = feeds.serve("/huge.xml", b"<alert>" + b" " * 1_000_001 + b"</alert>")
        created = source(client, kind="cap", location=url)
        poll(app)
    health = client.get(f"/api/v1/alert-sources/{created['id']}").json["health"]
    assert health["status"] == "error" and "more than the 1000000 allowed" in health["last_error"]


def test_backoff_doubles_with_jitter_up_to_an_hour() -> None:
    assert 48 <= backoff_s(60, 0) <= 72
    assert 96 <= backoff_s(60, 1) <= 144
    assert backoff_s(60, 30) <= MAX_BACKOFF_S * 1.2


def test_a_deployed_alert_takes_its_next_phase_wording_at_onset(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    drop_and_poll(app, client, tmp_path, {"vigilance.xml": document(ORANGE)})
    [pending] = client.get("/api/v1/official-alerts?status=pending").json["official_alerts"]
    deployed = client.post(f"/api/v1/official-alerts/{pending['id']}/approve").json
    assert deployed["worded_by"] is None and deployed["texts"]["led-amber-192x64"].startswith(
        "Vigilance orange neige-verglas à partir de"
    )
    onset = datetime.fromisoformat("2026-12-08T06:00:00+01:00") + (datetime.now(UTC) - WRITTEN_FOR)
    clock_tick(app.extensions["relais.jobs"].feeds, onset.timestamp() + 3600)
    later = client.get(f"/api/v1/official-alerts/{pending['id']}").json
    assert later["texts"]["led-amber-192x64"].startswith("Vigilance orange neige-verglas jusqu’à")
    # Each kind of panel plays its own wording of the one alert.
    for panel_id, profile in (
        ("bourg-entree-nord", "led-amber-192x64"),
        ("amberieu-mairie", "epaper-bw-800x480"),
    ):
        items = client.get(f"/api/v1/panels/{panel_id}/playlist").json["items"]
        assert items[0]["item_id"] == f"alert-{deployed['alert_id']}"
        assert items[0]["text"].replace("\n", " ") == later["texts"][profile].replace("\n", " ")


def test_a_stuck_source_delays_neither_another_source_nor_a_manual_alert(
    app: Flask, client: FlaskClient
) -> None:
    with feed_server() as feeds:
        feeds.delays["/stuck.xml"] = 4
        source(client, name="Bloquée", kind="cap", location=feeds.serve("/stuck.xml", document(ORANGE)))
        source(client, name="Vive", kind="cap", location=feeds.serve("/ok.xml", document(FLOOD)))
        jobs = app.extensions["relais.jobs"]
        started = time.monotonic()
        stuck, quick = jobs.sources.poll_due(jobs.feeds)
        quick.result(timeout=10)
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        sent = client.post(
            "/api/v1/alerts", json={"text": "Crue", "panels": ["bourg-entree-nord"], "expires_at": expires}
        )
        assert sent.status_code == 201 and time.monotonic() - started < 3 and not stuck.done()
        stuck.result(timeout=30)
    assert len(client.get("/api/v1/official-alerts").json["official_alerts"]) == 2


def test_only_an_administrator_names_a_folder_on_the_controller(app: Flask, tmp_path: Path) -> None:
    manager = client_as(app, "prefecture", "campaign-manager")
    response = manager.post(
        "/api/v1/alert-sources", json={"name": "Dépôt", "kind": "folder", "location": str(tmp_path)}
    )
    assert response.status_code == 403 and response.json["error"]["field"] == "kind"
    assert (
        manager.post(
            "/api/v1/alert-sources", json={"name": "Flux", "kind": "atom", "location": "http://127.0.0.1/f"}
        ).status_code
        == 201
    )
