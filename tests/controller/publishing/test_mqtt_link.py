"""The controller's MQTT link watches each registered panel's exact state topic, following the panels table.

A recording client stands in for paho here; the end-to-end tests show the same on real brokers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.properties import Properties
from sqlite_utils import Database

from controller.domain.panels import register_panel
from controller.publishing import link as mqtt_link
from controller.publishing.link import MqttLink
from controller.publishing.schedules import republish
from controller.storage.db import open_database, transaction
from relais import wire
from tests.support import DEMO_EPAPER, DEMO_LED

TOPICS = wire.Topics()


class RecordingClient:
    """What the link asks of paho: the topics of each SUBSCRIBE and UNSUBSCRIBE, in order."""

    def __init__(self) -> None:
        self.subscribed: list[list[str]] = []
        self.unsubscribed: list[list[str]] = []
        self.published: list[str] = []
        self.result = mqtt.MQTT_ERR_SUCCESS

    def subscribe(self, topics: list[tuple[str, int]]) -> tuple[int, int | None]:
        if self.result == mqtt.MQTT_ERR_SUCCESS:
            self.subscribed.append([topic for topic, qos in topics if qos == 1])
        return self.result, None

    def unsubscribe(self, topics: list[str]) -> tuple[int, int | None]:
        self.unsubscribed.append(topics)
        return mqtt.MQTT_ERR_SUCCESS, None

    def publish(
        self, topic: str, payload: bytes, qos: int, retain: bool, properties: Properties | None = None
    ) -> mqtt.MQTTMessageInfo:
        self.published.append(topic)
        info = mqtt.MQTTMessageInfo(len(self.published))
        info.rc = mqtt.MQTT_ERR_SUCCESS
        return info

    def disconnect(self) -> None:
        """The link's stop() says goodbye; nothing to say it to."""

    def loop_stop(self) -> None:
        """No network thread to stop."""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "relais.db"
    db = open_database(path)
    with transaction(db):
        register_panel(db, DEMO_LED)
    db.close()
    return path


@pytest.fixture
def link(database: Path) -> Any:
    connected = MqttLink(database, "mqtt://127.0.0.1:1", TOPICS, "watch-test")
    client = RecordingClient()
    connected._client = client  # type: ignore[assignment]
    connected.connected.set()
    yield connected, client
    connected.stop()


def add_panel(database: Path, spec: dict[str, Any]) -> None:
    db = Database(database)
    with transaction(db):
        register_panel(db, spec)
    db.close()


def test_each_registered_panel_is_watched_once_on_its_exact_state_topic(link: Any, database: Path) -> None:
    watching, client = link
    watching.watch_panels()
    assert client.subscribed == [[TOPICS.state("bourg-entree-nord")]]
    watching.watch_panels()
    assert len(client.subscribed) == 1  # nothing new
    add_panel(database, DEMO_EPAPER)
    watching.watch_panels()
    assert client.subscribed[-1] == [TOPICS.state("amberieu-mairie")]


def test_a_panel_removed_from_the_register_is_no_longer_watched(link: Any, database: Path) -> None:
    watching, client = link
    add_panel(database, DEMO_EPAPER)
    watching.watch_panels()
    db = Database(database)
    with transaction(db):
        db.execute("delete from panels where id = 'amberieu-mairie'")
    db.close()
    watching.watch_panels()
    assert client.unsubscribed == [[TOPICS.state("amberieu-mairie")]]


def test_a_subscription_that_could_not_be_sent_is_tried_again(link: Any) -> None:
    watching, client = link
    client.result = mqtt.MQTT_ERR_NO_CONN
    watching.watch_panels()
    client.result = mqtt.MQTT_ERR_SUCCESS
    watching.watch_panels()
    assert client.subscribed == [[TOPICS.state("bourg-entree-nord")]]


def test_many_panels_are_watched_in_batches(
    link: Any, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watching, client = link
    monkeypatch.setattr(mqtt_link, "SUBSCRIBE_BATCH", 2)
    for number in range(4):
        add_panel(database, {**DEMO_LED, "id": f"bourg-{number}"})
    watching.watch_panels()
    assert [len(batch) for batch in client.subscribed] == [2, 2, 1]
    assert sorted(topic for batch in client.subscribed for topic in batch) == sorted(
        TOPICS.state(panel_id)
        for panel_id in ("bourg-0", "bourg-1", "bourg-2", "bourg-3", "bourg-entree-nord")
    )


def test_a_state_acknowledged_but_not_yet_recorded_is_not_published_again(
    link: Any, database: Path, signing_key: Ed25519PrivateKey
) -> None:
    connected, client = link
    db = Database(database)
    republish(db, signing_key, now=time.time())
    db.close()
    assert connected.flush() == 1
    connected._on_publish(client, None, 1, None, None)  # the PUBACK; the recorder has not run yet
    assert connected.flush() == 0
    assert client.published == [TOPICS.desired(DEMO_LED["id"])]


def test_a_state_sealed_in_a_transaction_not_yet_committed_is_never_published(
    link: Any, database: Path, signing_key: Ed25519PrivateKey
) -> None:
    """The outbox's rule (see ``controller.publishing.outbox``): a rollback must not leave a panel showing it."""
    connected, client = link
    db = Database(database)
    try:
        with transaction(db):
            republish(db, signing_key, now=time.time())
            assert connected.flush() == 0
        assert connected.flush() == 1
        with pytest.raises(RuntimeError), transaction(db):
            republish(db, signing_key, now=time.time())
            assert connected.flush() == 0
            raise RuntimeError("rolled back")
        assert connected.flush() == 0
        assert len(client.published) == 1
    finally:
        db.close()
