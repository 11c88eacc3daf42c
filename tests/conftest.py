"""Shared fixtures: a real Mosquitto on a free loopback port (and RabbitMQ, when installed, for the
end-to-end tests), a key pair, a controller app and client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.domain.panels import register_panel
from controller.web.context import get_db
from relais.brokers.mosquitto import MosquittoBroker
from relais.brokers.rabbitmq import RabbitMQBroker, rabbitmq_installed
from tests.support import DEMO_EPAPER, DEMO_LED, user_token
from tests.support.cap_feeds import FeedServer, feed_server
from tests.support.live import Live, live_controller
from tests.support.webhooks import LOOPBACK_NETWORKS


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--dist loadgroup`` keeps an ``xdist_group``'s tests on one worker (one RabbitMQ node, one
    department's controller) by ending their node ids with ``@group``. pytest-xdist 3.8 writes that in
    ``item._nodeid``, which node ids no longer read from pytest 9.2 on: each group's tests went to both
    workers, and each worker started its own node. Written here where node ids are read, if it is not."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        groups = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        suffix = "@" + "_".join(sorted(groups))
        if groups and not item.nodeid.endswith(suffix):
            item._id = type(item._id).parse(item.nodeid + suffix)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """One real Mosquitto for the session; tests keep apart by using their own panel ids."""
    with MosquittoBroker(tmp_path_factory.mktemp("mosquitto")) as running:
        yield running


@pytest.fixture(
    params=[
        "mosquitto",
        pytest.param("rabbitmq", marks=[pytest.mark.rabbitmq, pytest.mark.xdist_group("rabbitmq")]),
    ]
)
def mqtt_broker(request: pytest.FixtureRequest) -> MosquittoBroker | RabbitMQBroker:
    """Each end-to-end test runs on both brokers: Mosquitto, and RabbitMQ's MQTT 3.1.1 plugin."""
    return request.getfixturevalue("broker" if request.param == "mosquitto" else "rabbitmq")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """A controller on a real SQLite file, without broker or scheduler; its webhooks may reach the tests'
    receivers on loopback."""
    application = create_app(
        {"DATA_DIR": tmp_path / "data", "TESTING": True, "WEBHOOK_PRIVATE_NETWORKS": LOOPBACK_NETWORKS}
    )
    with application.app_context():
        db = get_db()
        for spec in (DEMO_LED, DEMO_EPAPER):
            register_panel(db, spec)
    yield application
    shutdown_app(application)


@pytest.fixture
def token(app: Flask) -> str:
    with app.app_context():
        return user_token(get_db(), "tests")


@pytest.fixture
def client(app: Flask, token: str) -> FlaskClient:
    """A test client that sends the bearer token and asks for the API's English (its French is tested
    apart); use ``app.test_client()`` for one without either."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[RabbitMQBroker]:
    """One RabbitMQ node for the session (about 15 s to start): the proof that no Mosquitto feature is needed.
    A test that asks for it is marked ``xdist_group("rabbitmq")``, else its worker starts a second node."""
    if not rabbitmq_installed():
        pytest.skip(
            "RabbitMQ is not installed: apt-get install rabbitmq-server (./run tests does it as root)"
        )
    with RabbitMQBroker() as running:
        yield running


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A broker a test may stop, kill and restart without disturbing the others."""
    running = MosquittoBroker(tmp_path / "mosquitto").start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def live(mqtt_broker: MosquittoBroker | RabbitMQBroker, tmp_path: Path) -> Iterator[Live]:
    """The end-to-end harness, once per broker: what crosses the wire must work on both."""
    with live_controller(mqtt_broker, tmp_path) as harness:
        yield harness


@pytest.fixture
def live_mosquitto(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Live]:
    """The same harness on Mosquitto only, for tests of the app above the wire (pages, API, commands)."""
    with live_controller(broker, tmp_path) as harness:
        yield harness


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    """Official alert feeds and CAP documents served on loopback for one test."""
    with feed_server() as server:
        yield server
