"""Shared fixtures: a real Mosquitto on a free loopback port, and a controller key pair."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from relais.broker import MosquittoBroker


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
