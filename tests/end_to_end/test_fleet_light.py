"""``relais fleet-sim --light``: panels that draw nothing still check every signature and report a real
state, which the controller records as it does a real agent's."""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.web.context import get_db
from panel_agent.light import LIGHT_BACKEND
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import wait_for
from tests.support.department import department

pytestmark = pytest.mark.e2e
PANELS = 20


def forged_schedule(panel_id: str) -> bytes:
    """A schedule for ``panel_id``, newer than anything the controller sealed, signed by another key."""
    now = int(time.time())
    schedule = wire.Schedule.single(None, start=now, horizon_end=now + 3600)
    return wire.seal_schedule(
        Ed25519PrivateKey.generate(),
        schedule,
        panel_id=panel_id,
        seq=int(time.time() * 1000) + 10**9,
        issued_at=now,
        expires_at=now + 3600,
    )


@pytest.mark.timeout(120)
def test_light_panels_refuse_a_forged_schedule_and_report_states_the_controller_records(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    with department(own_broker, tmp_path, PANELS, light=True) as ain:
        wait_for(lambda: own_broker.client_connections() == PANELS + 1, "20 panels and the controller")
        statuses = ain.statuses()
        assert all(s["showing"]["item_id"] == f"commune-{s['commune']['insee']}" for s in statuses)
        assert all(s["has_screenshot"] for s in statuses)  # the frame each state names is the schedule's
        target = ain.panels[0].id
        assert ain.client.get(f"/api/v1/panels/{target}").json["backend"] == LIGHT_BACKEND

        forger = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="forger")
        forger.connect("127.0.0.1", own_broker.port)
        forger.loop_start()
        try:
            forger.publish(
                wire.Topics(wire.DEFAULT_TOPIC_BASE).desired(target), forged_schedule(target), qos=1
            )

            def refusal() -> dict | None:
                events = ain.client.get(f"/api/v1/panels/{target}").json["events"]
                return next((e for e in events if e["event"] == wire.EVENT_REFUSED), None)

            refused = wait_for(refusal, "the panel's refusal recorded", 20)
        finally:
            forger.disconnect()
            forger.loop_stop()
        assert refused["details"]["reason"] == "bad-signature"

        text = "Vigilance orange neige et verglas"
        response = ain.client.post("/api/v1/messages", json={"text": text, "departments": ["01"]})
        assert response.status_code == 201, response.json
        item_id = response.json["item_id"]
        ain.wait_all("every panel applies the message", lambda s: s["up_to_date"] and s["published"])
        ain.wait_all("every panel reports it on air", lambda s: s["showing"]["item_id"] == item_id)
        # Their rotation's proof of play, summed as the agent sums it: each stopping panel sends its
        # open hour, which the controller records.
        ain.fleet.stop()
        app = ain.client.application

        def summed() -> set[str]:
            with app.app_context():
                query = "select panel_id from play_hours where item_id = ? and displays >= 1"
                return {row[0] for row in get_db().execute(query, [item_id])}

        wait_for(lambda: summed() == {p.id for p in ain.panels}, "every panel's sum of the message", 30)
