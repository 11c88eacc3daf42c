"""``--log-format json`` on real processes: ``relais serve`` and an agent, each line of their logs one JSON
object, HTTP requests with the id their answer names, and no secret in any line of a run that used them
all (a password to log in, an API token made and used, broker passwords, the signing and session keys)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from controller.domain import accounts
from controller.domain.panels import get_panels, register_panel
from controller.storage.db import open_database, transaction
from programs.provisioning import agent_config_text
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.keys import PRIVATE_KEY_NAME, load_or_create_signing_key
from relais.mqtt import broker_url_with_credentials
from relais.signals import end_processes
from tests.support import DEMO_LED, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

PASSWORD = "Correct-Horse-Battery-42"
CONTROLLER_BROKER_PASSWORD = "broker-pass-of-the-controller-7f3a"
PANEL_BROKER_PASSWORD = "broker-pass-of-the-panel-91c2"
PANEL = DEMO_LED["id"]


class Serve:
    """``relais serve --log-format json``: its answer on stdout (where it listens), its log on stderr."""

    def __init__(self, data_dir: Path, broker_url: str, topic_base: str) -> None:
        relais = shutil.which("relais", path=str(Path(sys.executable).parent))
        assert relais, "the relais command is installed beside the interpreter"
        self.out, self.log = data_dir / "serve.out", data_dir / "serve.log"
        with self.out.open("wb") as out, self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(relais, "serve", "--data-dir", str(data_dir), "--broker-url", broker_url),
                    *("--topic-base", topic_base, "--http-port", "0", "--log-format", "json"),
                ],
                stdout=out,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.url: str = wait_for(self._ready, "relais serve listening", timeout=30)
        self.cookies = http.cookiejar.CookieJar()
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def _ready(self) -> str | None:
        assert self.process.poll() is None, self.log.read_text()
        found = re.search(r"^Relais at (\S+)$", self.out.read_text(), re.MULTILINE)
        return found.group(1) if found else None

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """A request as the logged-in browser (its cookie), or as a script with ``Authorization``."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        with self.browser.open(request, timeout=30) as response:
            return response.headers, json.loads(response.read())

    def log_in(self) -> str:
        """Log in through the login form; the page's CSRF token, for the API calls of this session."""
        form = self.browser.open(self.url + "/login", timeout=30).read().decode()
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        assert csrf
        fields = {"name": "admin", "password": PASSWORD, "csrf_token": csrf.group(1)}
        self.browser.open(self.url + "/login", data=urllib.parse.urlencode(fields).encode(), timeout=30)
        page = self.browser.open(self.url + "/messages", timeout=30).read().decode()
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert token, "logged in: the messages page has the session's CSRF token"
        return token.group(1)


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, f"{path.name} is empty"
    parsed = []
    for number, line in enumerate(lines, 1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{path.name} line {number} is not JSON: {line!r}")
        assert {"time", "level", "logger", "message"} <= parsed[-1].keys(), line
    return parsed


def test_json_logs_parse_line_by_line_name_requests_and_hold_no_secret(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    db = open_database(data_dir / "relais.db")
    with transaction(db):
        accounts.create_user(db, "admin", "admin", PASSWORD)
        register_panel(db, DEMO_LED)
    panel = get_panels(db, [PANEL])[PANEL]
    db.close()
    key = load_or_create_signing_key(data_dir / "keys")
    topic_base = f"test-{uuid.uuid4().hex[:8]}/relais/v1"
    agent_config = tmp_path / "agent.toml"
    agent_config.write_text(
        agent_config_text(
            panel,
            broker_url=broker_url_with_credentials(broker.url, f"panel-{PANEL}", PANEL_BROKER_PASSWORD),
            public_key_text=wire.public_key_to_text(key.public_key()),
            state_dir=tmp_path / "state",
            screens_dir=tmp_path / "screens",
            topic_base=topic_base,
        ),
        encoding="utf-8",
    )
    controller_url = broker_url_with_credentials(broker.url, "relais-controller", CONTROLLER_BROKER_PASSWORD)
    serve = Serve(data_dir, controller_url, topic_base)
    agent_log = tmp_path / "agent.log"
    with agent_log.open("wb") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "panel_agent", "--config", str(agent_config), "--log-format", "json"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        csrf = serve.log_in()
        _, made = serve.call("POST", "/api/v1/tokens", {"label": "script"}, {"X-CSRFToken": csrf})
        secret = made["token"]
        serve.cookies.clear()  # from here on, the script alone
        bearer = {"Authorization": f"Bearer {secret}"}
        headers, message = serve.call(
            "POST", "/api/v1/messages", {"text": "Marché", "panels": [PANEL]}, bearer
        )

        def shown() -> bool:
            found = serve.call("GET", f"/api/v1/panels/{PANEL}", headers=bearer)[1]
            return found["online"] and found["showing"]["item_id"] == message["item_id"]

        wait_for(shown, "the panel shows the message", timeout=30)
    finally:
        end_processes([serve.process, agent], 10)

    controller_lines = json_lines(serve.log)
    agent_lines = json_lines(agent_log)
    requests = [line for line in controller_lines if line["logger"] == "controller.web.access"]
    assert {"POST /api/v1/messages", "GET /api/v1/panels/<panel_id>", "POST /login"} <= {
        f"{line['method']} {line['route']}" for line in requests
    }
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in requests)
    posted = [line for line in requests if line["request_id"] == headers["X-Request-Id"]]
    assert [(line["route"], line["status"]) for line in posted] == [("/api/v1/messages", 201)]
    assert any("connected to the broker" in line["message"] for line in controller_lines)
    assert any(PANEL in line["message"] for line in agent_lines)

    keys = data_dir / "keys"
    pem = (keys / PRIVATE_KEY_NAME).read_text().strip().splitlines()
    secrets = {
        "the login password": PASSWORD,
        "the API token": secret,
        "the controller's broker password": CONTROLLER_BROKER_PASSWORD,
        "the panel's broker password": PANEL_BROKER_PASSWORD,
        "the session key": (keys / "session.key").read_text().strip(),
        **{f"the signing key's line {n}": line for n, line in enumerate(pem[1:-1], 1)},
    }
    for name, log_path in (("controller", serve.log), ("agent", agent_log)):
        text = log_path.read_text(encoding="utf-8")
        for what, value in secrets.items():
            assert value not in text, f"{what} is in the {name}'s log"
