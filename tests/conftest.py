"""Shared fixtures: a real Mosquitto on a free loopback port, a key pair, a controller app and client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.auth import create_token
from controller.context import get_db
from controller.panels import register_panel
from relais.broker import MosquittoBroker
from tests.helpers import DEMO_EPAPER, DEMO_LED


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """One real Mosquitto for the session; tests keep apart by using their own panel ids."""
    with MosquittoBroker(tmp_path_factory.mktemp("mosquitto")) as running:
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
def app(tmp_path: Path) -> Iterator[Flask]:
    """A controller on a real SQLite file, without broker or scheduler."""
    application = create_app({"DATA_DIR": tmp_path / "data", "TESTING": True})
    with application.app_context():
        db = get_db()
        for spec in (DEMO_LED, DEMO_EPAPER):
            register_panel(db, spec)
    yield application
    shutdown_app(application)


@pytest.fixture
def token(app: Flask) -> str:
    with app.app_context():
        return create_token(get_db(), "tests")


@pytest.fixture
def client(app: Flask, token: str) -> FlaskClient:
    """A test client that sends the bearer token; use ``app.test_client()`` for one without."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return test_client
