"""End to end on real parts: the controller app, a real Mosquitto, real agent processes, real PNGs.

Each test gets its own topic base, so tests share the session's broker without seeing each other.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from PIL import Image

from controller import create_app, shutdown_app
from controller.domain.panels import register_panel
from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from controller.web.context import get_db, signing_key
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker, free_loopback_port
from relais.mqtt import BrokerUrl
from tests.support import DEMO_EPAPER, DEMO_LED, first_page, same_pixels, user_token, wait_for
from tests.support.live import Live

pytestmark = pytest.mark.e2e


def test_a_message_appears_on_every_targeted_panel_pixel_for_pixel(live: Live) -> None:
    for panel_id in ("bourg-entree-nord", "amberieu-mairie", "bourg-place-bernard"):
        live.start_agent(panel_id)
    text = "Fête de Noël « marché » samedi — vin chaud 2 €"
    queued = live.post(text, ["bourg-entree-nord", "amberieu-mairie"])

    for spec in (DEMO_LED, DEMO_EPAPER):
        expected = first_page(text, spec["profile"])
        wait_for(
            lambda spec=spec, expected=expected: same_pixels(live.screen(spec["id"]), expected), spec["id"]
        )
        wait_for(lambda spec=spec: live.panel(spec["id"])["up_to_date"], f"{spec['id']} reports the update")
        panel = live.panel(spec["id"])
        assert panel["online"] is True and panel["last_seen"] is not None
        assert panel["applied_seq"] == panel["desired_seq"] == queued["panels"][spec["id"]]
        assert panel["showing"]["item_id"] == queued["item_id"]
        assert panel["agent_version"]

    # The panel that was not targeted shows nothing of it.
    wait_for(lambda: live.panel("bourg-place-bernard")["online"], "the untargeted panel comes online")
    assert live.panel("bourg-place-bernard")["showing"]["item_id"] is None
    assert not live.screen("bourg-place-bernard").exists()

    # The screenshot is what the LED panel shows, pixel for pixel (small frames travel whole).
    response = live.client.get("/api/v1/panels/bourg-entree-nord/screenshot.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    screenshot_file = live.data_dir / "screenshot.png"
    screenshot_file.write_bytes(response.data)
    assert same_pixels(screenshot_file, first_page(text, DEMO_LED["profile"]))
    # A large e-paper frame comes back as a small copy.
    epaper_shot = live.client.get("/api/v1/panels/amberieu-mairie/screenshot.png")
    screenshot_file.write_bytes(epaper_shot.data)
    with Image.open(screenshot_file) as small:
        assert small.size == (400, 240)


def test_a_panel_killed_without_goodbye_is_shown_offline(live: Live) -> None:
    agent = live.start_agent("bourg-entree-nord")
    wait_for(lambda: live.panel("bourg-entree-nord")["online"], "the panel comes online")
    os.kill(agent.pid, signal.SIGKILL)
    agent.wait()
    wait_for(lambda: not live.panel("bourg-entree-nord")["online"], "the last will marks it offline")
    assert live.panel("bourg-entree-nord")["last_seen"] is not None


def publish_raw(live: Live, topic: str, payload: bytes) -> None:
    """An attacker or a stale broker: straight onto the panel's topic, retained, QoS 1."""
    broker = BrokerUrl.parse(live.broker.url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"intruder-{uuid.uuid4().hex[:6]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def forged(payload: bytes, item_id: str) -> bytes:
    """The genuine signature over a body whose item and sequence were changed."""
    header, line, frames = payload.split(b"\n", 2)
    body = json.loads(line)
    body["content"]["schedule"]["items"][0]["item_id"] = item_id
    body["seq"] += 1000
    return b"\n".join((header, json.dumps(body, separators=(",", ":")).encode(), frames))


def test_forged_replayed_and_expired_payloads_are_refused_and_the_panel_keeps_its_content(live: Live) -> None:
    live.start_agent("bourg-entree-nord")
    live.post("Ancien message", ["bourg-entree-nord"])
    wait_for(lambda: live.panel("bourg-entree-nord")["up_to_date"], "first message applied")
    with live.app.app_context():
        old_payload = (
            get_db().execute("select payload from desired where panel_id = 'bourg-entree-nord'").fetchone()[0]
        )
    text = "Prudence : verglas sur la RD 1083"
    live.post(text, ["bourg-entree-nord"])
    expected = first_page(text, DEMO_LED["profile"])
    wait_for(lambda: same_pixels(live.screen("bourg-entree-nord"), expected), "second message shown")
    wait_for(lambda: live.panel("bourg-entree-nord")["up_to_date"], "second message applied")
    with live.app.app_context():
        genuine = (
            get_db().execute("select payload from desired where panel_id = 'bourg-entree-nord'").fetchone()[0]
        )
        key = signing_key()
        applied = live.panel("bourg-entree-nord")["applied_seq"]
    expired = wire.seal_schedule(
        key,
        wire.unseal(genuine, key.public_key()).desired_schedule(),
        panel_id="bourg-entree-nord",
        seq=applied + 5000,
        issued_at=1_600_000_000,
        expires_at=1_600_003_600,
    )
    topic = live.topics.desired("bourg-entree-nord")
    for payload, reason in (
        (forged(genuine, "fausse-alerte"), "bad-signature"),
        (old_payload, "replayed"),
        (expired, "expired"),
        (b'{"v": 2, "kind": "desired"}\n', "unsigned"),
    ):
        publish_raw(live, topic, payload)

        def refused(reason: str = reason) -> bool:
            return any(
                event["event"] == "refused" and event["details"].get("reason") == reason
                for event in live.panel("bourg-entree-nord")["events"]
            )

        wait_for(refused, f"the panel reports refusing a {reason} payload")
        assert same_pixels(live.screen("bourg-entree-nord"), expected)
    assert live.panel("bourg-entree-nord")["applied_seq"] == applied
    assert live.agents["bourg-entree-nord"].poll() is None


def test_an_agent_restarted_with_the_network_down_shows_its_stored_content(live: Live) -> None:
    agent = live.start_agent("amberieu-mairie")
    text = "Mairie fermée lundi 25 décembre"
    live.post(text, ["amberieu-mairie"])
    expected = first_page(text, DEMO_EPAPER["profile"])
    wait_for(lambda: same_pixels(live.screen("amberieu-mairie"), expected), "message shown")
    wait_for(lambda: live.panel("amberieu-mairie")["up_to_date"], "message stored and applied")
    agent.terminate()
    assert agent.wait(10) == 0
    live.screen("amberieu-mairie").unlink()

    unreachable = f"mqtt://127.0.0.1:{free_loopback_port()}"
    live.start_agent("amberieu-mairie", broker_url=unreachable)
    wait_for(lambda: same_pixels(live.screen("amberieu-mairie"), expected), "stored content shown offline")


def test_a_message_queued_while_the_broker_is_down_arrives_when_it_is_back(tmp_path: Path) -> None:
    """The outbox: nothing queued during a broker outage is lost."""
    own = MosquittoBroker(tmp_path / "mosquitto").start()
    app = create_app({"DATA_DIR": tmp_path / "data", "BROKER_URL": own.url, "MQTT_CLIENT_ID": "outage-test"})
    agent = None
    try:
        with app.app_context():
            register_panel(get_db(), DEMO_LED)
            token = user_token(get_db(), "outage")
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        harness = Live(app, client, own, wire.Topics(), tmp_path / "data")
        link = app.extensions["relais.mqtt_link"]
        wait_for(link.connected.is_set, "controller connected")
        own.kill()
        wait_for(lambda: not link.connected.is_set(), "controller notices the outage")
        text = "Collecte des sapins le 8 janvier"
        harness.post(text, ["bourg-entree-nord"])
        assert client.get("/api/v1/panels/bourg-entree-nord").json["published"] is False
        own.start()
        agent = harness.start_agent("bourg-entree-nord")
        wait_for(
            lambda: same_pixels(harness.screen("bourg-entree-nord"), first_page(text, DEMO_LED["profile"])),
            "shown",
        )
        wait_for(lambda: client.get("/api/v1/panels/bourg-entree-nord").json["published"], "outbox emptied")
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(10)
        shutdown_app(app)
        own.stop()


def test_a_long_message_rotates_its_pages_on_the_panel(live: Live) -> None:
    live.start_agent("bourg-entree-nord")
    text = "Circulation alternée rue Bourgmayer{page}Déviation par l’avenue Alsace-Lorraine"
    live.post(text, ["bourg-entree-nord"])
    rendering = render(MessageContent(body=text), get_profile(DEMO_LED["profile"]))
    assert len(rendering.pages) == 2
    for page in (*rendering.pages, rendering.pages[0]):
        wait_for(
            lambda page=page: same_pixels(live.screen("bourg-entree-nord"), page.frame.image()), page.text
        )


def test_a_restarted_controller_learns_what_each_panel_shows_from_its_retained_state(live: Live) -> None:
    """The agent says nothing new while the controller is away: only the retained state can tell it.

    RabbitMQ hands retained messages to exact-topic subscriptions only, never to ``+/state``.
    """
    live.start_agent("bourg-entree-nord")
    queued = live.post("Déneigement en cours", ["bourg-entree-nord"])
    wait_for(lambda: live.panel("bourg-entree-nord")["up_to_date"], "the message applied")
    config = {key: live.app.config[key] for key in ("DATA_DIR", "BROKER_URL", "TOPIC_BASE", "MQTT_CLIENT_ID")}
    shutdown_app(live.app)
    with live.app.app_context():
        db = get_db()
        db.execute("delete from panel_status")
        db.conn.commit()
    restarted = create_app({**config, "TESTING": True})
    try:
        client = restarted.test_client()
        client.environ_base.update(live.client.environ_base)

        def panel() -> dict:
            return client.get("/api/v1/panels/bourg-entree-nord").json

        wait_for(lambda: panel()["online"], "the restarted controller sees the panel online")
        assert panel()["applied_seq"] == queued["panels"]["bourg-entree-nord"]
        assert panel()["showing"]["item_id"] == queued["item_id"]
    finally:
        shutdown_app(restarted)


def test_a_panel_registered_while_the_controller_runs_is_followed_at_once(live: Live) -> None:
    response = live.client.post("/api/v1/panels", json={**DEMO_LED, "id": "bourg-nouveau"})
    assert response.status_code == 201, response.json
    live.start_agent("bourg-nouveau")
    wait_for(lambda: live.panel("bourg-nouveau")["online"], "the new panel reported online")
