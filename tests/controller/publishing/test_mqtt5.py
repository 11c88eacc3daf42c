"""MQTT 5 when the broker takes it, 3.1.1 otherwise: the controller's link negotiates MQTT 5 with
Mosquitto and falls back to 3.1.1 with RabbitMQ 3.10; with MQTT 5, the broker drops a retained schedule
and a queued command once they have expired, for 3.1.1 panels too.

Expiries are made short through the data (a schedule sealed for a few seconds, a command sent with an
expiry just ahead), never by waiting out the real ones.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from controller import create_app, shutdown_app
from controller.publishing import outbox
from controller.publishing.link import MqttLink
from controller.storage.db import transaction
from controller.web.context import get_db, signing_key
from programs.department import register_fleet
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker, free_loopback_port
from relais.brokers.rabbitmq import RabbitMQBroker
from relais.mqtt import BrokerUrl, Negotiated, connect_in_background, negotiate_protocol, new_client
from tests.support import DEMO_EPAPER, DEMO_LED, wait_for
from tests.support.live import Live, live_controller

pytestmark = pytest.mark.e2e

SHORT_TTL_S = 2
LONG_TTL_S = 48 * 3600


def link_of(live: Live) -> MqttLink:
    return live.app.extensions["relais.mqtt_link"]


def stage_blank(live: Live, panel_id: str, ttl_s: int) -> int:
    """A blank schedule for the panel, sealed to expire in ``ttl_s``, into the outbox; its sequence."""
    now = time.time()
    content = {"schedule": wire.Schedule.single(None, start=int(now), horizon_end=int(now) + ttl_s).to_json()}
    with live.app.app_context():
        db = get_db()
        with transaction(db):
            state = outbox.Desired(panel_id, content, item_id=None)
            return outbox.stage_desired(db, signing_key(), [state], now=now, ttl_s=ttl_s)[panel_id]


def published(live: Live, panel_id: str, seq: int) -> bool:
    with live.app.app_context():
        row = (
            get_db()
            .execute("select published_at from desired where panel_id = ? and seq = ?", [panel_id, seq])
            .fetchone()
        )
    return row is not None and row[0] is not None


class Listener:
    """An MQTT 5 subscriber with a clean session: each message it gets, and the SUBACKs."""

    def __init__(self, url: str, topics: list[str]) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"listen-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        options = SubscribeOptions(qos=1)
        self.client.on_connect = lambda client, *_: client.subscribe([(topic, options) for topic in topics])
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _client, _userdata, message: self.messages.put(message)
        broker = BrokerUrl.parse(url)
        self.client.connect_async(broker.host, broker.port)
        self.client.loop_start()
        assert self.subscribed.wait(15), "the listener could not subscribe"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def listening(url: str, topics: list[str]) -> Iterator[Listener]:
    listener = Listener(url, topics)
    try:
        yield listener
    finally:
        listener.close()


def retained(url: str, topics: list[str]) -> dict[str, mqtt.MQTTMessage]:
    """The retained messages a new subscriber is given on ``topics``.

    Retained messages are queued for a subscriber when its SUBSCRIBE is handled: a message it publishes
    after the SUBACK, to a topic of its own, comes back after all of them, so nothing given is missed.
    """
    marker = f"test-{uuid.uuid4().hex[:8]}/marker"
    with listening(url, [*topics, marker]) as listener:
        listener.client.publish(marker, b"", qos=1)
        given: dict[str, mqtt.MQTTMessage] = {}
        while (message := listener.messages.get(timeout=15)).topic != marker:
            given[message.topic] = message
    return given


def test_the_probe_finds_mqtt5_on_mosquitto_and_nothing_where_no_broker_listens(
    broker: MosquittoBroker,
) -> None:
    # The test broker's max_inflight_messages, which Mosquitto announces as its Receive Maximum.
    assert negotiate_protocol(broker.url, client_id="probe-test") == Negotiated(
        MQTTProtocolVersion.MQTTv5, 1000
    )
    assert negotiate_protocol(f"mqtt://127.0.0.1:{free_loopback_port()}", client_id="probe-test") is None


def test_a_controller_started_before_its_broker_gets_mqtt5_once_the_broker_is_up(tmp_path: Path) -> None:
    later = MosquittoBroker(tmp_path / "mosquitto")
    app = create_app({"DATA_DIR": tmp_path / "data", "BROKER_URL": later.url, "MQTT_CLIENT_ID": "early"})
    try:
        link: MqttLink = app.extensions["relais.mqtt_link"]
        assert link.protocol is None and not link.connected.is_set()
        later.start()
        wait_for(link.connected.is_set, "the controller connects once the broker is up")
        assert link.protocol == MQTTProtocolVersion.MQTTv5
    finally:
        shutdown_app(app)
        later.stop()


def test_a_burst_larger_than_the_brokers_receive_maximum_goes_out_in_turns(tmp_path: Path) -> None:
    """Never more in flight than the broker said it takes; the rest as its PUBACKs come back."""
    with MosquittoBroker(tmp_path / "mosquitto", max_inflight=10) as small:
        app = create_app({"DATA_DIR": tmp_path / "data", "BROKER_URL": small.url, "MQTT_CLIENT_ID": "burst"})
        try:
            link: MqttLink = app.extensions["relais.mqtt_link"]
            wait_for(link.connected.is_set, "the controller connected")
            assert link._receive_maximum == 10
            assert small.process is not None
            # Paused, the broker acknowledges nothing: what the link sends meanwhile is what it keeps in flight.
            os.kill(small.process.pid, signal.SIGSTOP)
            try:
                with app.app_context():
                    panels = register_fleet(get_db(), signing_key(), 45)
                link.flush()
                assert link._in_flight_count() == 10
            finally:
                os.kill(small.process.pid, signal.SIGCONT)
            with app.app_context():
                wait_for(lambda: outbox.pending(get_db()) == [], "all 45 states acknowledged", 20)
            topics = [wire.Topics().desired(panel.id) for panel in panels]
            assert set(retained(small.url, topics)) == set(topics)
        finally:
            shutdown_app(app)


def test_the_link_takes_mqtt5_and_the_broker_drops_a_retained_schedule_once_expired(
    live_mosquitto: Live,
) -> None:
    live = live_mosquitto
    assert link_of(live).protocol == MQTTProtocolVersion.MQTTv5
    short, long = live.topics.desired(DEMO_LED["id"]), live.topics.desired(DEMO_EPAPER["id"])
    with listening(live.broker.url, [short]) as listener:
        short_seq = stage_blank(live, DEMO_LED["id"], SHORT_TTL_S)
        long_seq = stage_blank(live, DEMO_EPAPER["id"], LONG_TTL_S)
        link_of(live).flush()
        sent = listener.messages.get(timeout=15)
    assert 1 <= sent.properties.MessageExpiryInterval <= SHORT_TTL_S
    wait_for(lambda: published(live, DEMO_LED["id"], short_seq), "the short-lived schedule acknowledged")
    wait_for(lambda: published(live, DEMO_EPAPER["id"], long_seq), "the long-lived schedule acknowledged")

    def only_the_long_one_is_given() -> bool:
        given = retained(live.broker.url, [short, long])
        assert long in given, "retained schedules are given to new subscribers"
        assert 0 < given[long].properties.MessageExpiryInterval <= LONG_TTL_S
        return short not in given

    wait_for(only_the_long_one_is_given, "the expired schedule no longer given", timeout=15, interval=0.5)


def test_a_command_carries_its_expiry_and_is_dropped_from_an_offline_panels_session(
    live_mosquitto: Live,
) -> None:
    live = live_mosquitto
    topic = live.topics.cmd(DEMO_LED["id"])
    with listening(live.broker.url, [topic]) as listener:
        body = {"command": "refresh", "args": {}}
        response = live.client.post(f"/api/v1/panels/{DEMO_LED['id']}/commands", json=body)
        assert response.status_code == 202
        sent = listener.messages.get(timeout=15)
    assert 1 <= sent.properties.MessageExpiryInterval <= outbox.COMMAND_TTL_S

    # A panel as the agent connects (3.1.1, persistent session) subscribes, then goes offline.
    received: queue.Queue[bytes] = queue.Queue()
    subscribed = threading.Event()
    panel = new_client(f"panel-{uuid.uuid4().hex[:8]}", live.broker.url)
    panel.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
    panel.on_subscribe = lambda *_: subscribed.set()
    panel.on_message = lambda _client, _userdata, message: received.put(message.payload)
    connect_in_background(panel, live.broker.url)
    try:
        assert subscribed.wait(15), "the panel could not subscribe"
        panel.disconnect()
        panel.loop_stop()
        expires_at = time.time() + 1
        assert link_of(live).send_command(DEMO_LED["id"], b"stale", expires_at)
        assert link_of(live).send_command(DEMO_LED["id"], b"fresh", time.time() + outbox.COMMAND_TTL_S)
        wait_for(lambda: time.time() > expires_at + 1, "the first command's expiry passed")
        connect_in_background(panel, live.broker.url)
        # Queued in the order sent: the stale one would come first.
        assert received.get(timeout=15) == b"fresh"
    finally:
        panel.disconnect()
        panel.loop_stop()


@pytest.mark.rabbitmq
@pytest.mark.xdist_group("rabbitmq")  # on the worker of the other RabbitMQ runs: one node starts, not two
def test_on_rabbitmq_the_link_falls_back_to_3_1_1_and_still_publishes_and_records(
    rabbitmq: RabbitMQBroker, tmp_path: Path
) -> None:
    assert negotiate_protocol(rabbitmq.url, client_id="probe-test") == Negotiated(
        MQTTProtocolVersion.MQTTv311
    )
    with live_controller(rabbitmq, tmp_path) as live:
        assert link_of(live).protocol == MQTTProtocolVersion.MQTTv311
        live.start_agent(DEMO_LED["id"])
        queued = live.post("Marché de Noël samedi", [DEMO_LED["id"]])
        wait_for(lambda: live.panel(DEMO_LED["id"])["up_to_date"], "the panel reports the update")
        assert live.panel(DEMO_LED["id"])["applied_seq"] == queued["panels"][DEMO_LED["id"]]
