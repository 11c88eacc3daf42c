"""A department on one machine: 1,100 simulated panels, each a real agent with its own connection, in a
few processes; the broker's own connection count proves they are all there."""

from __future__ import annotations

from pathlib import Path

import pytest

from programs.department import COMMUNES
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import wait_for
from tests.support.department import department

pytestmark = [pytest.mark.e2e, pytest.mark.fleet]
PANELS = 1100  # past paho's select() limit of 1,024 file descriptors, were they in one process


@pytest.mark.timeout(240)
def test_a_department_of_1100_panels_comes_online_and_shows_what_is_queued(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    with department(own_broker, tmp_path, PANELS) as ain:
        assert len(ain.fleet.pids) == 5  # 220 panels a process, far below 1,024 descriptors each
        wait_for(lambda: own_broker.client_connections() == PANELS + 1, "1,100 panels and the controller")
        statuses = ain.statuses()
        assert {s["profile"] for s in statuses} == {
            "led-amber-192x64",
            "led-rgb-128x64",
            "epaper-bw-800x480",
            "led-amber-96x16",
        }
        assert {s["commune"]["insee"] for s in statuses} == set(COMMUNES)
        assert all(s["showing"]["item_id"] == f"commune-{s['commune']['insee']}" for s in statuses)

        text = "Vigilance orange neige et verglas"
        response = ain.client.post("/api/v1/messages", json={"text": text, "departments": ["01"]})
        assert response.status_code == 201, response.json
        assert len(response.json["panels"]) == PANELS
        item_id = response.json["item_id"]
        ain.wait_all("every panel applies the message", lambda s: s["up_to_date"] and s["published"])
        ain.wait_all("every panel reports it on air", lambda s: s["showing"]["item_id"] == item_id)
        ain.wait_screens(text)
        assert own_broker.client_connections() == PANELS + 1
