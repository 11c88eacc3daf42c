"""What a technician sees of a panel: the fleet filtered, each command with its acknowledgement, the history."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.context import get_db
from controller.status import record_event, record_state
from relais import wire
from tests.helpers import client_as


class RecordingLink:
    """An MQTT link that is always connected and keeps what it is handed (``accept`` False: refuses)."""

    def __init__(self, accept: bool = True) -> None:
        self.connected = threading.Event()
        self.connected.set()
        self.accept = accept
        self.sent: list[str] = []

    def send_command(self, panel_id: str, payload: bytes) -> bool:
        self.sent.append(panel_id)
        return self.accept

    def flush(self) -> int:
        return 0


@pytest.fixture
def technician(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setitem(app.extensions, "relais.mqtt_link", RecordingLink())
    return client_as(app, "technicien", "technician")


def ack(app: Flask, panel_id: str, details: dict) -> None:
    with app.app_context():
        record_event(
            get_db(), wire.PanelEvent(panel_id, wire.EVENT_ACK, 1_800_000_000, details), 1_800_000_001
        )


def test_each_command_shows_whether_the_panel_acknowledged_it(app: Flask, technician: FlaskClient) -> None:
    url = "/api/v1/panels/bourg-entree-nord/commands"
    first = technician.post(url, json={"command": "brightness", "args": {"level": 40}})
    assert first.status_code == 202 and first.json["id"] and first.json["seq"]
    second = technician.post(url, json={"command": "blank", "args": {"seconds": 30}})
    listed = technician.get(url).json
    assert listed["total"] == 2 and [c["id"] for c in listed["commands"]] == [
        second.json["id"],
        first.json["id"],
    ]
    assert all(c["acked_at"] is None and c["result"] is None for c in listed["commands"])
    assert listed["commands"][1]["sent_by"] == "technicien" and listed["commands"][1]["args"] == {"level": 40}

    ack(app, "bourg-entree-nord", {"command": "brightness", "seq": first.json["seq"], "ok": True})
    ack(app, "bourg-entree-nord", {"command": "brightness", "seq": first.json["seq"], "ok": True})  # resent
    ack(
        app,
        "bourg-entree-nord",
        {"command": "blank", "seq": second.json["seq"], "ok": False, "reason": "display-failed"},
    )
    ack(
        app, "amberieu-mairie", {"command": "refresh", "seq": first.json["seq"], "ok": True}
    )  # another panel's
    by_id = {c["id"]: c for c in technician.get(url).json["commands"]}
    assert by_id[first.json["id"]]["result"] == {"ok": True}
    assert by_id[first.json["id"]]["acked_at"] == "2027-01-15T08:00:01Z"
    assert by_id[second.json["id"]]["result"] == {"ok": False, "reason": "display-failed"}
    assert len(by_id) == 2
    with app.app_context():
        sent = [
            row["after"]
            for row in get_db().query("select after from audit_log where action = 'command.send'")
        ]
    assert len(sent) == 2 and '"brightness"' in sent[0]


def test_a_command_the_broker_refuses_leaves_no_trace(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.extensions, "relais.mqtt_link", RecordingLink(accept=False))
    response = client.post("/api/v1/panels/bourg-entree-nord/commands", json={"command": "refresh"})
    assert response.status_code == 503
    assert client.get("/api/v1/panels/bourg-entree-nord/commands").json["total"] == 0


def test_the_history_shows_outages_and_faults_but_not_every_display(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db = get_db()
        record_state(db, wire.PanelState("bourg-entree-nord", True, 100, agent_version="1.2"), 100)
        record_state(db, wire.PanelState("bourg-entree-nord", True, 150), 150)  # still online: no entry
        record_event(
            db, wire.PanelEvent("bourg-entree-nord", wire.EVENT_FAULT, 160, {"code": "SignError"}), 160
        )
        record_event(
            db, wire.PanelEvent("bourg-entree-nord", wire.EVENT_PLAY, 170, {"item_id": "msg-1"}), 170
        )
        record_state(db, wire.PanelState("bourg-entree-nord", False, 200), 200)
    answer = client.get("/api/v1/panels/bourg-entree-nord/history").json
    assert [entry["event"] for entry in answer["history"]] == ["offline", "fault", "online"]
    assert answer["history"][2] == {
        "at": "1970-01-01T00:01:40Z",
        "received_at": "1970-01-01T00:01:40Z",
        "event": "online",
        "details": {"agent_version": "1.2"},
    }
    assert answer["total"] == 3
    page = client.get("/api/v1/panels/bourg-entree-nord/history?limit=1&offset=1").json
    assert [entry["event"] for entry in page["history"]] == ["fault"] and page["total"] == 3


def test_the_fleet_filters_by_online_commune_and_kind(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        record_state(get_db(), wire.PanelState("amberieu-mairie", True, 100), 100)

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
