"""Before an alert is sent, its dry run and previews tell the sender what it reaches; after, its per-panel
list tells who confirmed it, who has not yet and who is offline, commune by commune."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from controller.domain import alerts
from controller.domain.panels import register_panel
from controller.storage.db import transaction
from controller.web.context import get_db
from programs.department import COMMUNES, fleet_panel_specs
from relais import wire
from relais.wire import EVENT_ON_AIR, PanelEvent
from tests.support import DEMO_RGB, record_report, user_token

ALERT = {"text": "Crue de la Reyssouze", "departments": ["01"]}


def expires() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).isoformat()


@pytest.fixture
def panels(app: Flask) -> None:
    """Three panels of three kinds: two in Bourg-en-Bresse (01053), one in Ambérieu-en-Bugey (01004)."""
    with app.app_context():
        register_panel(get_db(), DEMO_RGB)


def commune_client(app: Flask, commune: str) -> FlaskClient:
    with app.app_context():
        token = user_token(get_db(), f"mairie-{commune}", "commune-editor", commune)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_a_dry_run_names_the_panels_communes_and_kinds_and_writes_nothing(
    app: Flask, client: FlaskClient, panels: None
) -> None:
    answer = client.post("/api/v1/alerts?dry_run=1", json={**ALERT, "expires_at": expires()})
    assert answer.status_code == 200, answer.json
    assert answer.json == {
        "dry_run": True,
        "panels": ["amberieu-mairie", "bourg-entree-nord", "bourg-place-bernard"],
        "communes": ["01004", "01053"],
        "profiles": [
            {"profile": "epaper-bw-800x480", "label": answer.json["profiles"][0]["label"], "panels": 1},
            {"profile": "led-amber-192x64", "label": answer.json["profiles"][1]["label"], "panels": 1},
            {"profile": "led-rgb-128x64", "label": answer.json["profiles"][2]["label"], "panels": 1},
        ],
    }
    assert all(profile["label"] for profile in answer.json["profiles"])
    with app.app_context():
        db = get_db()
        assert (db["alerts"].count, db["alert_panels"].count, db["audit_log"].count) == (0, 0, 0)
    assert client.get("/api/v1/alerts").json["total"] == 0


def test_a_dry_run_keeps_no_idempotency_key_so_the_send_that_follows_may_use_it(
    client: FlaskClient, panels: None
) -> None:
    body, key = {**ALERT, "expires_at": expires()}, {"Idempotency-Key": "alerte-crue-1"}
    checked = client.post("/api/v1/alerts?dry_run=1", json=body, headers=key)
    assert checked.status_code == 200 and "Idempotent-Replayed" not in checked.headers
    sent = client.post("/api/v1/alerts", json=body, headers=key)
    assert sent.status_code == 201, sent.json
    again = client.post("/api/v1/alerts", json=body, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == sent.json["id"]


def test_a_dry_run_refuses_what_sending_would_refuse(client: FlaskClient, panels: None) -> None:
    missing = client.post("/api/v1/alerts?dry_run=1", json=ALERT)
    assert missing.status_code == 400 and missing.json["error"]["field"] == "expires_at"
    nobody = client.post(
        "/api/v1/alerts?dry_run=1", json={**ALERT, "departments": ["74"], "expires_at": expires()}
    )
    assert nobody.status_code == 422 and nobody.json["error"]["field"] == "panels"


def test_the_preview_draws_the_alert_as_each_kind_of_panel_will(client: FlaskClient) -> None:
    for profile, size in (("led-amber-192x64", 192), ("epaper-bw-800x480", 800)):
        answer = client.post("/api/v1/alerts/preview.png", json={**ALERT, "profile": profile})
        assert answer.status_code == 200 and answer.mimetype == "image/png"
        assert Image.open(io.BytesIO(answer.data)).width >= size
    unknown = client.post("/api/v1/alerts/preview.png", json={**ALERT, "profile": "led-pink-1x1"})
    assert unknown.status_code == 422 and unknown.json["error"]["field"] == "profile"
    no_profile = client.post("/api/v1/alerts/preview.png", json=ALERT)
    assert no_profile.status_code == 400 and no_profile.json["error"]["field"] == "profile"
    no_text = client.post("/api/v1/alerts/preview.png", json={"text": " ", "profile": "led-amber-192x64"})
    assert no_text.status_code == 400 and no_text.json["error"]["field"] == "text"


def test_the_panel_list_tells_confirmed_waiting_and_offline_per_commune(
    app: Flask, client: FlaskClient, panels: None
) -> None:
    alert = client.post("/api/v1/alerts", json={**ALERT, "expires_at": expires()}).json
    with app.app_context():
        db = get_db()
        record_report(db, wire.PanelState("bourg-entree-nord", True, 1), 1.0)
        record_report(db, wire.PanelState("amberieu-mairie", True, 1), 1.0)
        record_report(
            db,
            PanelEvent("bourg-entree-nord", EVENT_ON_AIR, 0, {"item_id": alert["item_id"], "at": 2.0}),
            2.0,
        )
    folded = client.get(f"/api/v1/alerts/{alert['id']}/panels").json
    assert (folded["targeted"], folded["confirmed"], folded["waiting"], folded["offline"]) == (3, 1, 1, 1)
    assert [
        (commune["name"], commune["confirmed"], commune["waiting"], commune["offline"], "panels" in commune)
        for commune in folded["communes"]
    ] == [("Ambérieu-en-Bugey", 0, 1, 0, False), ("Bourg-en-Bresse", 1, 0, 1, False)]

    bourg = client.get(f"/api/v1/alerts/{alert['id']}/panels?commune=01053").json["communes"]
    assert "panels" not in bourg[0]
    assert [(panel["id"], panel["state"], bool(panel["confirmed_at"])) for panel in bourg[1]["panels"]] == [
        ("bourg-entree-nord", "confirmed", True),
        ("bourg-place-bernard", "offline", False),
    ]
    assert bourg[1]["panels"][0]["name"] == "Bourg-en-Bresse — entrée nord"


def test_the_panel_list_is_scoped_and_404s_for_unknown_alerts(
    app: Flask, client: FlaskClient, panels: None
) -> None:
    bourg_alert = client.post(
        "/api/v1/alerts", json={"text": "Crue", "communes": ["01053"], "expires_at": expires()}
    ).json
    everywhere = client.post("/api/v1/alerts", json={**ALERT, "expires_at": expires()}).json
    amberieu = commune_client(app, "01004")
    seen = amberieu.get(f"/api/v1/alerts/{everywhere['id']}/panels?commune=01004&commune=01053").json
    assert [commune["insee"] for commune in seen["communes"]] == ["01004"]
    assert [panel["id"] for panel in seen["communes"][0]["panels"]] == ["amberieu-mairie"]
    assert seen["targeted"] == 1
    not_theirs = amberieu.get(f"/api/v1/alerts/{bourg_alert['id']}/panels")
    assert not_theirs.status_code == 404 and not_theirs.json["error"]["field"] == "alert_id"
    unknown = client.get("/api/v1/alerts/999/panels")
    assert unknown.status_code == 404 and unknown.json["error"]["field"] == "alert_id"
    bad = client.get(f"/api/v1/alerts/{everywhere['id']}/panels?commune=Bourg")
    assert bad.status_code == 400 and bad.json["error"]["field"] == "commune"


def test_at_department_scale_the_sender_confirms_counts_and_polls_cheaply(
    app: Flask, client: FlaskClient
) -> None:
    """1,000 panels in 65 communes: the dry run counts them; what the page polls every 3 s is the alerts'
    counts and the 65 communes' counts, a few kilobytes, with the panels of the one commune unfolded."""
    specs = fleet_panel_specs(1000)
    with app.app_context():
        db = get_db()
        with transaction(db):
            for spec in specs:
                register_panel(db, spec)
    reach = client.post("/api/v1/alerts?dry_run=1", json={**ALERT, "expires_at": expires()}).json
    assert (len(reach["panels"]), len(reach["communes"])) == (1002, len(COMMUNES))
    assert sum(kind["panels"] for kind in reach["profiles"]) == 1002
    with app.app_context():
        db = get_db()
        with transaction(db):
            alert_id = alerts.record_alert(
                db,
                alerts.check_alert(db, {**ALERT, "expires_at": expires()}, now=time.time()),
                created_by="tests",
                organisation=None,
                now=time.time(),
            )
    listed = client.get("/api/v1/alerts?panels=0")
    assert "panels" not in listed.json["alerts"][0] and listed.json["alerts"][0]["targeted"] == 1002
    assert len(listed.data) < 2_000, "the alerts' counts, not their 1,000 panels each"
    assert len(client.get("/api/v1/alerts").json["alerts"][0]["panels"]) == 1002
    folded = client.get(f"/api/v1/alerts/{alert_id}/panels")
    assert folded.json["targeted"] == folded.json["offline"] == 1002
    assert len(folded.json["communes"]) == len(COMMUNES)
    assert len(folded.data) < 10_000, "the counts per commune, not 1,000 panels"
    bourg = client.get(f"/api/v1/alerts/{alert_id}/panels?commune=01053").json["communes"]
    in_bourg = 1 + sum(spec["commune_insee"] == "01053" for spec in specs)  # and the demo's LED panel
    assert [len(commune.get("panels", [])) for commune in bourg] == [
        in_bourg if commune["insee"] == "01053" else 0 for commune in bourg
    ]
