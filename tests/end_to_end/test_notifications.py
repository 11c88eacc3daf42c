"""Notifications on real parts: real agents on a real Mosquitto, the controller's notifier, a real SMTP
server on loopback (STARTTLS and a login required), a webhook receiver checking signatures.

A killed agent gives one e-mail after the delay and one « back online » when it returns; the broker
stopped under 50 panels gives one grouped message; a flapping panel is reported once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from relais.brokers.mosquitto import MosquittoBroker
from tests.support import DEMO_LED, DEMO_RGB, client_as, wait_for
from tests.support.department import department
from tests.support.live import live_controller
from tests.support.mail import Mailbox, smtp_server
from tests.support.webhooks import LOOPBACK_NETWORKS, webhook_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PANEL, NEIGHBOUR = DEMO_LED["id"], DEMO_RGB["id"]
OFFLINE_AFTER_S = 3
QUICK = {
    "NOTIFY_EVERY_S": 0.2,
    "PUBLIC_URL": "https://relais.prefecture.example",
    "WEBHOOK_PRIVATE_NETWORKS": LOOPBACK_NETWORKS,  # the receiver below
}


def set_rules(client: FlaskClient, mailbox: Mailbox | None, **conditions: Any) -> None:
    body: dict[str, Any] = {"conditions": {"offline_after_s": OFFLINE_AFTER_S, "recovery_s": 1, **conditions}}
    if mailbox is not None:
        body["smtp"] = mailbox.smtp
    answer = client.patch("/api/v1/notifications/settings", json=body)
    assert answer.status_code == 200, answer.json


def subscribe(client: FlaskClient, **subscription: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/notifications/subscriptions", json=subscription)
    assert answer.status_code == 201, answer.json
    return answer.json


def test_a_killed_agent_gives_one_email_after_the_delay_and_one_when_back(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    with (
        smtp_server(tmp_path / "mail") as mailbox,
        live_controller(broker, tmp_path, NOTIFY_CA_FILE=str(mailbox.ca_file), **QUICK) as live,
    ):
        technician = client_as(live.app, "technicienne", "technician")
        set_rules(technician, mailbox)
        subscribe(technician, channel="email", address="tech@bourg.example", communes=["01053"])
        for panel_id in (PANEL, NEIGHBOUR):  # the commune's two panels; the other commune's is not asked for
            live.start_agent(panel_id)
        wait_for(lambda: all(live.panel(p)["online"] for p in (PANEL, NEIGHBOUR)), "both online", timeout=30)
        time.sleep(1)  # a few rounds of the notifier: it has seen them online

        live.agents.pop(PANEL).kill()  # no goodbye: the broker gives its last will
        wait_for(lambda: not live.panel(PANEL)["online"], "the panel recorded offline")
        dark_at = time.monotonic()
        (mail,) = wait_for(mailbox.received, "the offline e-mail", timeout=OFFLINE_AFTER_S + 15)
        assert time.monotonic() - dark_at >= OFFLINE_AFTER_S - 0.5  # not before the delay
        assert mail["To"] == "tech@bourg.example"
        assert mail["Subject"] == (
            f"Relais\u00a0: Panneau hors ligne : {DEMO_LED['name']} / Panel offline: {DEMO_LED['name']}"
        )
        text = mail.get_content()
        assert text.index("hors ligne depuis") < text.index("— English —") < text.index("offline since")
        assert f"https://relais.prefecture.example/parc/{PANEL}" in text
        assert "Bourg-en-Bresse" in text and "vu pour la dernière fois" in text

        live.start_agent(PANEL)
        wait_for(lambda: len(mailbox.received()) == 2, "the back-online e-mail", timeout=30)
        time.sleep(1.5)  # a few more rounds of the notifier: nothing more to say
        _, back = mailbox.received()
        assert back["Subject"].startswith("Relais\u00a0: Panneau de retour")
        assert "de retour depuis" in back.get_content()

        log = technician.get("/api/v1/notifications/log").json
        assert [(entry["kind"], entry["result"], entry["panels"]) for entry in log["log"]] == [
            ("online", "sent", [PANEL]),
            ("offline", "sent", [PANEL]),
        ]
        assert mailbox.refused_logins == 0


@pytest.mark.timeout(180)
def test_the_broker_stopped_under_50_panels_gives_one_grouped_message(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    with (
        smtp_server(tmp_path / "mail") as mailbox,
        webhook_receiver() as receiver,
        department(own_broker, tmp_path, 50, NOTIFY_CA_FILE=str(mailbox.ca_file), **QUICK) as ain,
    ):
        set_rules(ain.client, mailbox)
        subscribe(ain.client, channel="email", address="astreinte@prefecture.example", kinds=["offline"])
        hook = subscribe(ain.client, channel="webhook", address=receiver.url, kinds=["offline"])
        receiver.trust(receiver.url, hook["secret"])
        time.sleep(1)  # the notifier has seen them all online

        own_broker.stop()
        (mail,) = wait_for(mailbox.received, "the grouped e-mail", timeout=OFFLINE_AFTER_S + 20)
        wait_for(lambda: receiver.bodies, "the grouped webhook")
        time.sleep(2)  # more rounds: nothing more
        assert len(mailbox.received()) == 1 and len(receiver.bodies) == 1
        assert mail["Subject"] == "Relais\u00a0: 50 panneaux hors ligne / 50 panels offline"
        text = mail.get_content()
        assert "le contrôleur n’entend plus son broker MQTT" in text
        assert all(f"/parc/{panel.id}" in text for panel in ain.panels)
        (body,) = receiver.bodies
        assert body["kind"] == "offline" and body["broker_down"] is True
        assert sorted(panel["panel_id"] for panel in body["panels"]) == sorted(p.id for p in ain.panels)


def test_a_flapping_panel_is_reported_once(broker: MosquittoBroker, tmp_path: Path) -> None:
    with (
        smtp_server(tmp_path / "mail") as mailbox,
        live_controller(broker, tmp_path, NOTIFY_CA_FILE=str(mailbox.ca_file), **QUICK) as live,
    ):
        set_rules(live.client, mailbox, offline_after_s=60, flap_spells=3)
        subscribe(live.client, channel="email", address="tech@bourg.example")
        for _ in range(5):
            live.start_agent(PANEL)
            wait_for(lambda: live.panel(PANEL)["online"], "the panel online", timeout=30)
            live.agents.pop(PANEL).kill()
            wait_for(lambda: not live.panel(PANEL)["online"], "the panel recorded offline")
        wait_for(mailbox.received, "the unstable panel's e-mail", timeout=10)
        time.sleep(1.5)
        (mail,) = mailbox.received()
        assert mail["Subject"].startswith("Relais\u00a0: Panneau instable")
        assert "coupures dans l’heure" in mail.get_content()
