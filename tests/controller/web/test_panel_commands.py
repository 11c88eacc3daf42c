"""What a technician sees of a panel: the fleet filtered, each command with its acknowledgement, the history."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.domain.panels import register_panel
from controller.web.context import get_db
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import DEMO_LED, client_as, record_report, wait_for
from tests.support.live import Live

PANEL = DEMO_LED["id"]


@pytest.fixture
def technician(live_mosquitto: Live) -> FlaskClient:
    """A technician's client on a controller with a real broker, and the amber panel's real agent."""
    live_mosquitto.start_agent(PANEL)
    wait_for(lambda: live_mosquitto.panel(PANEL)["online"], "the panel online")
    return client_as(live_mosquitto.app, "technicien", "technician")


def ack(app: Flask, panel_id: str, details: dict) -> None:
    """An acknowledgement as the MQTT link records it, for the cases a healthy agent never sends."""
    with app.app_context():
        record_report(
            get_db(), wire.PanelEvent(panel_id, wire.EVENT_ACK, 1_800_000_000, details), 1_800_000_001
        )


def test_each_command_shows_whether_the_panel_acknowledged_it(
    live_mosquitto: Live, technician: FlaskClient
) -> None:
    url = f"/api/v1/panels/{PANEL}/commands"
    first = technician.post(url, json={"command": "brightness", "args": {"level": 40}})
    assert first.status_code == 202 and first.json["id"] and first.json["seq"]
    second = technician.post(url, json={"command": "blank", "args": {"seconds": 30}})
    assert second.status_code == 202

    def listed() -> list[dict]:
        return technician.get(url).json["commands"]

    wait_for(lambda: all(c["acked_at"] for c in listed()), "both commands acknowledged by the agent")
    answer = technician.get(url).json
    assert answer["total"] == 2 and [c["id"] for c in answer["commands"]] == [
        second.json["id"],
        first.json["id"],
    ]
    assert all(c["result"] == {"ok": True} for c in answer["commands"])
    assert answer["commands"][1]["sent_by"] == "technicien" and answer["commands"][1]["args"] == {"level": 40}
    wait_for(
        lambda: live_mosquitto.panel(PANEL)["brightness_now"] == 40, "the panel reports its new brightness"
    )

    # A resent acknowledgement, and another panel's with the same sequence number, change nothing.
    acked_at = {c["id"]: c["acked_at"] for c in answer["commands"]}
    ack(
        live_mosquitto.app,
        PANEL,
        {"command": "brightness", "seq": first.json["seq"], "ok": False, "reason": "late"},
    )
    ack(live_mosquitto.app, "amberieu-mairie", {"command": "refresh", "seq": first.json["seq"], "ok": True})
    again = {c["id"]: c for c in listed()}
    assert len(again) == 2 and {i: c["acked_at"] for i, c in again.items()} == acked_at
    assert again[first.json["id"]]["result"] == {"ok": True}
    with live_mosquitto.app.app_context():
        sent = [
            row["after"]
            for row in get_db().query("select after from audit_log where action = 'command.send'")
        ]
    assert len(sent) == 2 and '"brightness"' in sent[0]


def test_a_command_while_the_broker_is_down_leaves_no_trace(tmp_path: Path) -> None:
    own = MosquittoBroker(tmp_path / "mosquitto").start()
    app = create_app(
        {"DATA_DIR": tmp_path / "data", "BROKER_URL": own.url, "MQTT_CLIENT_ID": "commands-down"}
    )
    try:
        with app.app_context():
            register_panel(get_db(), DEMO_LED)
        link = app.extensions["relais.mqtt_link"]
        wait_for(link.connected.is_set, "controller connected")
        own.kill()
        wait_for(lambda: not link.connected.is_set(), "the controller sees the broker gone")
        technician = client_as(app, "technicien", "technician")
        response = technician.post(f"/api/v1/panels/{PANEL}/commands", json={"command": "refresh"})
        assert response.status_code == 503
        assert response.json["error"]["code"] == "broker-unavailable"
        assert technician.get(f"/api/v1/panels/{PANEL}/commands").json["total"] == 0
        with app.app_context():
            assert (
                get_db().execute("select count(*) from audit_log where action = 'command.send'").fetchone()[0]
                == 0
            )
    finally:
        shutdown_app(app)
        own.stop()


def test_the_history_shows_outages_and_faults_but_not_every_display(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db = get_db()
        record_report(db, wire.PanelState("bourg-entree-nord", True, 100, agent_version="1.2"), 100)
        record_report(db, wire.PanelState("bourg-entree-nord", True, 150), 150)  # still online: no entry
        record_report(
            db, wire.PanelEvent("bourg-entree-nord", wire.EVENT_FAULT, 160, {"code": "SignError"}), 160
        )
        record_report(
            db, wire.PanelEvent("bourg-entree-nord", wire.EVENT_PLAY, 170, {"item_id": "msg-1"}), 170
        )
        record_report(db, wire.PanelState("bourg-entree-nord", False, 200), 200)
    answer = client.get("/api/v1/panels/bourg-entree-nord/history").json
    assert [entry["event"] for entry in answer["history"]] == ["offline", "fault", "online"]
    assert answer["history"][2] == {
        "at": "1970-01-01T00:01:40Z",
        "received_at": "1970-01-01T00:01:40Z",
        "event": "online",
        "details": {"agent_version": "1.2"},
        "label": None,
    }
    assert answer["total"] == 3
    page = client.get("/api/v1/panels/bourg-entree-nord/history?limit=1&offset=1").json
    assert [entry["event"] for entry in page["history"]] == ["fault"] and page["total"] == 3


def test_the_fleet_filters_by_online_commune_and_kind(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        record_report(get_db(), wire.PanelState("amberieu-mairie", True, 100), 100)

    def ids(query: str) -> list[str]:
        answer = client.get(f"/api/v1/panels?{query}").json
        assert answer["total"] == len(answer["panels"])
        return [panel["id"] for panel in answer["panels"]]

    assert ids("online=1") == ["amberieu-mairie"]
    assert ids("online=0") == ["bourg-entree-nord"]
    assert ids("commune=01053") == ["bourg-entree-nord"]
    assert ids("kind=epaper") == ["amberieu-mairie"]
    assert ids("kind=led&online=1") == []
    assert client.get("/api/v1/panels?online=peut-etre").json["error"]["field"] == "online"


def test_what_a_panel_shows_reads_as_a_title_an_alert_or_the_commune_fallback(
    app: Flask, client: FlaskClient
) -> None:
    """The fleet names the item on air as people do; the id stays beside it for technicians."""
    long_text = "Travaux rue de la République du lundi au vendredi, circulation alternée par feux tricolores"
    queued = client.post("/api/v1/messages", json={"text": long_text, "panels": ["bourg-entree-nord"]})
    assert queued.status_code == 201, queued.json

    def showing(item_id: str) -> dict:
        with app.app_context():
            record_report(get_db(), wire.PanelState("bourg-entree-nord", True, 100, item_id=item_id), 100)
        return client.get("/api/v1/panels/bourg-entree-nord").json["showing"]

    by_text = showing(queued.json["item_id"])
    assert by_text["item_id"] == queued.json["item_id"]
    assert by_text["label"]["kind"] == "message"
    assert (
        by_text["label"]["text"].startswith("Travaux rue de la République")
        and len(by_text["label"]["text"]) == 60
    )
    assert by_text["label"]["text"].endswith("…")
    assert showing("commune-01053")["label"] == {"kind": "fallback", "text": "Bourg-en-Bresse"}
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
    alert = client.post(
        "/api/v1/alerts",
        json={"title": "Crue", "text": "Crue de la Reyssouze", "communes": ["01053"], "expires_at": expires},
    )
    assert alert.status_code == 201, alert.json
    assert showing(alert.json["item_id"])["label"] == {"kind": "alert", "text": "Crue"}
    assert showing("alert-999")["label"] is None  # unknown to the controller: the page shows the id
