"""The end-to-end harness: a controller on a real broker with the demo panels, agents started on demand."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.domain.panels import get_panels, register_panel
from controller.web import context
from controller.web.context import get_db
from programs.provisioning import agent_config_text
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.brokers.rabbitmq import RabbitMQBroker
from relais.signals import end_processes
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, user_token, wait_for
from tests.support.webhooks import LOOPBACK_NETWORKS


@dataclass
class Live:
    app: Flask
    client: FlaskClient
    broker: MosquittoBroker | RabbitMQBroker
    topics: wire.Topics
    data_dir: Path
    agents: dict[str, subprocess.Popen] = field(default_factory=dict)

    def config_path(self, panel_id: str, broker_url: str | None = None) -> Path:
        """Write the agent's config as provisioning would, optionally pointing at another broker."""
        with self.app.app_context():
            panel = get_panels(get_db(), [panel_id])[panel_id]
            public_key = wire.public_key_to_text(context.signing_key().public_key())
        folder = self.data_dir / "agents" / panel_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "agent.toml"
        text = agent_config_text(
            panel,
            broker_url=broker_url or self.broker.url,
            public_key_text=public_key,
            screens_dir=self.data_dir / "screens",
            topic_base=self.topics.base,
        )
        path.write_text(text, encoding="utf-8")
        return path

    def start_agent(self, panel_id: str, broker_url: str | None = None) -> subprocess.Popen:
        log = (self.data_dir / f"{panel_id}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "panel_agent", "--config", str(self.config_path(panel_id, broker_url))],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.agents[panel_id] = process
        return process

    def screen(self, panel_id: str) -> Path:
        return self.data_dir / "screens" / f"{panel_id}.png"

    def panel(self, panel_id: str) -> dict:
        return self.client.get(f"/api/v1/panels/{panel_id}").json

    def post(self, text: str, panels: list[str]) -> dict:
        response = self.client.post("/api/v1/messages", json={"text": text, "panels": panels})
        assert response.status_code == 201, response.json
        return response.json


@contextmanager
def live_controller(
    mqtt_broker: MosquittoBroker | RabbitMQBroker, tmp_path: Path, **config: Any
) -> Iterator[Live]:
    """A controller on ``mqtt_broker`` with the three demo panels registered; agents started on demand;
    ``config`` adds to (or changes) the app's."""
    base = f"test-{uuid.uuid4().hex[:8]}/relais/v1"
    app = create_app(
        {
            "DATA_DIR": tmp_path / "data",
            "BROKER_URL": mqtt_broker.url,
            "TOPIC_BASE": base,
            "MQTT_CLIENT_ID": f"controller-{base}",
            "TESTING": True,
            "WEBHOOK_PRIVATE_NETWORKS": LOOPBACK_NETWORKS,  # the tests' receivers
            **config,
        }
    )
    with app.app_context():
        for spec in (DEMO_LED, DEMO_EPAPER, DEMO_RGB):
            register_panel(get_db(), spec)
        token = user_token(get_db(), "e2e")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    harness = Live(app, client, mqtt_broker, wire.Topics(base), tmp_path / "data")
    wait_for(app.extensions["relais.mqtt_link"].connected.is_set, "controller connected to the broker")
    try:
        yield harness
    finally:
        end_processes(harness.agents.values(), 10)
        shutdown_app(app)
