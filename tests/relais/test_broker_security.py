"""The locked-down broker on a real Mosquitto: who may connect, and what each user may read and write.

Denied subscriptions and publishes are silent in MQTT 3.1.1 (SUBACK and PUBACK come back all the
same), so each "cannot" is checked by a witness allowed to read the topic that receives nothing, after a
later message on the same connection has arrived: Mosquitto handles one client's packets in order.
"""

from __future__ import annotations

import base64
import getpass
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from paho.mqtt.enums import MQTTProtocolVersion

from programs.cli import main
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker, free_loopback_port, port_open
from relais.brokers.security import (
    CONTROLLER_USER,
    MAX_PACKET_BYTES,
    PID_FILE_NAME,
    BrokerCredentials,
    acl_text,
    hash_password,
    panel_username,
    production_config_text,
)
from relais.mqtt import BrokerUrl, Negotiated, negotiate_protocol
from relais.wire import Topics
from tests.support import DEMO_LED, Session, production_broker, tls_url, wait_for

TOPICS = Topics("relais/v1")


def accepts(port: int, username: str | None = None, password: str | None = None) -> bool:
    """Whether the broker lets this user in; the connection is closed either way."""
    session = Session(port, username, password)
    session.close()
    return session.accepted


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MosquittoBroker, BrokerCredentials]]:
    folder = tmp_path_factory.mktemp("secure-broker")
    credentials = BrokerCredentials(folder / "credentials")
    for panel_id in ("alpha", "beta"):
        credentials.panel(panel_id)
    credentials.write_files()
    with MosquittoBroker(folder / "mosquitto", secure=True, credentials_dir=credentials.directory) as broker:
        yield broker, credentials


@pytest.fixture
def sessions(secured: tuple[MosquittoBroker, BrokerCredentials]) -> Iterator[dict[str, Session]]:
    """The controller and panels alpha and beta, each with its own user; closed after the test."""
    broker, credentials = secured
    opened = {
        "controller": Session(broker.port, *credentials.controller()),
        "alpha": Session(broker.port, *credentials.panel("alpha")),
        "beta": Session(broker.port, *credentials.panel("beta")),
    }
    assert all(session.accepted for session in opened.values())
    yield opened
    for session in opened.values():
        session.close()


@pytest.fixture(scope="module")
def production(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[MosquittoBroker, BrokerCredentials]]:
    """The locked-down broker as ``relais broker --tls`` runs it: users, ACL and TLS."""
    with production_broker(tmp_path_factory.mktemp("production-broker"), ["alpha", "beta"]) as running:
        yield running


def test_password_hash_is_mosquitto_passwd_format(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(path), "someone", "un mot de passe"], check=True)
    line = path.read_text(encoding="ascii").strip()
    found = re.fullmatch(r"someone:\$7\$(\d+)\$([^$]+)\$([^$]+)", line)
    assert found, line
    salt = base64.b64decode(found.group(2))
    assert line == "someone:" + hash_password("un mot de passe", salt=salt, iterations=int(found.group(1)))


def test_acl_gives_each_panel_only_its_own_topics() -> None:
    text = acl_text(["alpha", "beta"], "base")
    alpha = text.split(f"user {panel_username('alpha')}\n")[1].split("\n\n")[0]
    assert alpha.splitlines() == [
        "topic read base/panels/alpha/desired",
        "topic read base/panels/alpha/cmd",
        "topic write base/panels/alpha/state",
        "topic write base/panels/alpha/events",
    ]
    assert f"user {CONTROLLER_USER}\ntopic read base/panels/+/state\n" in text
    assert "pattern" not in text and "beta" not in alpha


def test_credentials_are_random_private_and_revocable(tmp_path: Path) -> None:
    credentials = BrokerCredentials(tmp_path / "broker")
    first = BrokerCredentials(tmp_path / "other").panel("alpha")[1]
    user, password = credentials.panel("alpha")
    assert user == "panel-alpha" and password != first and len(password) >= 32
    assert credentials.panel("alpha") == (user, password)  # made once, then kept
    for name in ("credentials.json", "passwd", "acl"):
        assert (credentials.directory / name).stat().st_mode & 0o077 == 0
    assert password not in credentials.password_file.read_text(encoding="ascii")
    assert credentials.revoke_panel("alpha") and not credentials.revoke_panel("alpha")
    assert "panel-alpha" not in credentials.password_file.read_text(encoding="ascii")
    assert "alpha" not in credentials.acl_file.read_text(encoding="ascii")


def test_a_fleet_gets_its_users_in_one_go(tmp_path: Path) -> None:
    credentials = BrokerCredentials(tmp_path / "broker")
    kept = credentials.panel("sim-0002")
    fleet = credentials.panels([f"sim-{n:04d}" for n in range(1, 201)])
    assert fleet["sim-0002"] == kept and fleet["sim-0001"][0] == "panel-sim-0001"
    assert len({password for _user, password in fleet.values()}) == 200
    lines = credentials.password_file.read_text(encoding="ascii").splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(user for user, _ in fleet.values())
    assert "topic read relais/v1/panels/sim-0200/desired" in credentials.acl_file.read_text(encoding="ascii")


def test_anonymous_and_wrong_password_are_refused(
    secured: tuple[MosquittoBroker, BrokerCredentials],
) -> None:
    broker, credentials = secured
    assert not accepts(broker.port)
    assert not accepts(broker.port, panel_username("alpha"), "not-the-password")
    assert not accepts(broker.port, CONTROLLER_USER, credentials.panel("alpha")[1])


def test_panel_reads_only_its_own_desired_and_cmd(sessions: dict[str, Session]) -> None:
    controller, alpha = sessions["controller"], sessions["alpha"]
    controller.publish(TOPICS.desired("beta"), b"for beta", retain=True)
    controller.publish(TOPICS.desired("alpha"), b"for alpha", retain=True)
    # Beta's first: were it allowed, its retained message would arrive before alpha's own.
    alpha.subscribe(TOPICS.desired("beta"), TOPICS.cmd("beta"))
    alpha.subscribe(TOPICS.desired("alpha"), TOPICS.cmd("alpha"))
    assert alpha.received_until(b"for alpha") == [(TOPICS.desired("alpha"), b"for alpha")]
    controller.publish(TOPICS.cmd("beta"), b"cmd for beta")
    controller.publish(TOPICS.cmd("alpha"), b"cmd for alpha")
    assert alpha.received_until(b"cmd for alpha") == [(TOPICS.cmd("alpha"), b"cmd for alpha")]


def test_panel_cannot_write_desired_cmd_or_another_state(sessions: dict[str, Session]) -> None:
    controller, alpha, beta = sessions["controller"], sessions["alpha"], sessions["beta"]
    controller.subscribe(TOPICS.all_states(), TOPICS.all_events())
    for panel_id, panel in (("alpha", alpha), ("beta", beta)):
        controller.publish(TOPICS.desired(panel_id), f"for {panel_id}".encode(), retain=True)
        panel.subscribe(TOPICS.desired(panel_id), TOPICS.cmd(panel_id))
        panel.received_until(f"for {panel_id}".encode())
    for panel_id in ("alpha", "beta"):
        alpha.publish(TOPICS.desired(panel_id), b"forged")
        alpha.publish(TOPICS.cmd(panel_id), b"forged")
    alpha.publish(TOPICS.state("beta"), b"forged")
    alpha.publish(TOPICS.events("beta"), b"forged")
    alpha.publish(TOPICS.events("alpha"), b"alpha event")
    alpha.publish(TOPICS.state("alpha"), b"alpha state")
    assert controller.received_until(b"alpha state") == [
        (TOPICS.events("alpha"), b"alpha event"),
        (TOPICS.state("alpha"), b"alpha state"),
    ]
    assert all(payload != b"forged" for _topic, payload in beta.messages.queue)
    assert all(payload != b"forged" for _topic, payload in alpha.messages.queue)


def test_revoked_panel_is_cut_off_after_reload(tmp_path: Path) -> None:
    credentials = BrokerCredentials(tmp_path / "credentials")
    user, password = credentials.panel("gone")
    credentials.write_files()
    with MosquittoBroker(
        tmp_path / "mosquitto", secure=True, credentials_dir=credentials.directory
    ) as broker:
        connected = Session(broker.port, user, password)
        assert connected.accepted
        try:
            assert credentials.revoke_panel("gone")
            broker.reload()
            wait_for(lambda: not accepts(broker.port, user, password), "revoked panel refused", 5)
            wait_for(lambda: not connected.client.is_connected(), "revoked panel disconnected", 5)
        finally:
            connected.close()


def test_relais_broker_command_with_panel_add_agent_config_and_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    port = free_loopback_port()
    url = f"mqtt://127.0.0.1:{port}"

    def relais(*argv: str) -> str:
        assert main([*argv, "--data-dir", data]) == 0
        return capsys.readouterr().out

    def add(panel_id: str) -> None:
        relais(
            "panel",
            "add",
            "--id",
            panel_id,
            "--name",
            DEMO_LED["name"],
            "--commune-insee",
            "01053",
            "--profile",
            DEMO_LED["profile"],
        )

    def agent_user(panel_id: str) -> tuple[str, str]:
        config = relais("panel", "agent-config", "--id", panel_id, "--broker-url", url)
        found = re.search(r'^broker_url = "(.+)"$', config, re.MULTILINE)
        assert found, config
        broker_url = BrokerUrl.parse(found.group(1))
        assert broker_url.username == panel_username(panel_id) and broker_url.password
        return broker_url.username, broker_url.password

    add("avant")
    broker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "programs.cli",
            "broker",
            "--data-dir",
            data,
            "--port",
            str(port),
            "--listen",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: port_open(port), "relais broker listening", 10)
        pid_file = Path(data) / "broker" / PID_FILE_NAME
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() == str(broker.pid), "PID file")
        controller_url = relais("broker", "controller-url", "--broker-url", url).strip()
        controller = BrokerUrl.parse(controller_url)
        assert controller.username == CONTROLLER_USER
        assert accepts(port, controller.username, controller.password)
        # MQTT 5, with room for a department's burst in flight (Mosquitto's default would be 20).
        assert negotiate_protocol(controller_url, client_id="probe-production") == Negotiated(
            MQTTProtocolVersion.MQTTv5, 1000
        )
        avant = agent_user("avant")
        assert accepts(port, *avant)
        assert not accepts(port)

        add("apres")  # while the broker runs: it reloads
        apres = agent_user("apres")
        wait_for(lambda: accepts(port, *apres), "panel added while running accepted", 5)

        assert f"PID {broker.pid}" in relais("panel", "revoke", "--id", "avant")
        wait_for(lambda: not accepts(port, *avant), "revoked panel refused", 5)
        assert accepts(port, *apres)
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(10)
    assert broker.returncode == 0


def test_production_config_requires_users(tmp_path: Path) -> None:
    text = production_config_text(tmp_path, port=1884, listen="0.0.0.0")
    assert "allow_anonymous false" in text and "listener 1884 0.0.0.0" in text
    # Before any listener line, Mosquitto would open one of its own on 1883 for this option.
    assert text.index("listener 1884") < text.index("use_username_as_clientid true")
    # Stays the user who runs it, as root too: Mosquitto's own user could not read the 0600 files.
    assert f"user {getpass.getuser()}" in text


def test_serve_fills_in_the_controller_user_when_the_broker_made_one(tmp_path: Path) -> None:
    from programs.cli import build_parser
    from programs.cli.serve import _controller_broker_url

    args = build_parser().parse_args(
        ["serve", "--data-dir", str(tmp_path), "--broker-url", "mqtt://127.0.0.1:1883"]
    )
    assert _controller_broker_url(args) == "mqtt://127.0.0.1:1883"  # no secure broker here: as given
    user, password = BrokerCredentials(tmp_path / "broker").controller()
    filled = _controller_broker_url(args)
    assert filled == f"mqtt://{user}:{quote(password, safe='')}@127.0.0.1:1883"
    given = build_parser().parse_args(
        ["serve", "--data-dir", str(tmp_path), "--broker-url", "mqtt://me:pw@h:1883"]
    )
    assert _controller_broker_url(given) == "mqtt://me:pw@h:1883"


def test_a_panel_registered_through_the_api_gets_its_user_when_the_broker_is_locked_down(
    app: Flask, client: FlaskClient
) -> None:
    broker_dir = Path(app.config["DATA_DIR"]) / "broker"
    credentials = BrokerCredentials(broker_dir)
    credentials.controller()  # relais broker has run here
    spec = {**DEMO_LED, "id": "gex-gare"}
    assert client.post("/api/v1/panels", json=spec).status_code == 201
    assert panel_username("gex-gare") in credentials.password_file.read_text()


def test_agent_config_names_the_ca_for_mqtts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert (
        main(
            [
                "panel",
                "add",
                *data,
                "--id",
                "gex",
                "--name",
                "Gex",
                "--commune-insee",
                "01173",
                "--profile",
                "led-amber-96x16",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "panel",
                "agent-config",
                *data,
                "--id",
                "gex",
                "--broker-url",
                "mqtts://broker.example:8883",
                "--ca-file",
                "ca.crt",
            ]
        )
        == 0
    )
    assert 'ca_file = "ca.crt"' in capsys.readouterr().out


@pytest.mark.parametrize("taken_id", [CONTROLLER_USER, "relais-panel-beta", "panel-beta"])
def test_a_panels_user_cannot_take_the_controllers_or_another_panels_client_id(
    production: tuple[MosquittoBroker, BrokerCredentials], taken_id: str
) -> None:
    """Mosquitto ends the older connection of a client id taken again: bound to its user, a client id
    can be taken only with that user's password, so alpha's stolen password kicks off alpha alone."""
    broker, credentials = production

    def connect(user: tuple[str, str], client_id: str) -> Session:
        session = Session(broker.port, *user, client_id=client_id, ca_file=broker.ca_file)
        assert session.accepted
        return session

    controller = connect(credentials.controller(), "relais-controller")
    beta = connect(credentials.panel("beta"), "relais-panel-beta")
    intruder = None
    try:
        controller.subscribe(TOPICS.all_events())
        beta.subscribe(TOPICS.desired("beta"))
        intruder = connect(credentials.panel("alpha"), taken_id)
        intruder.subscribe(TOPICS.all_events(), TOPICS.desired("beta"), TOPICS.desired("alpha"))

        beta.publish(TOPICS.events("beta"), b"beta still here")
        assert controller.received_until(b"beta still here") == [(TOPICS.events("beta"), b"beta still here")]
        controller.publish(TOPICS.desired("beta"), b"still for beta")
        controller.publish(TOPICS.desired("alpha"), b"for alpha")
        assert beta.received_until(b"still for beta") == [(TOPICS.desired("beta"), b"still for beta")]
        assert controller.disconnections == 0 and beta.disconnections == 0
        assert controller.client.is_connected() and beta.client.is_connected()
        # Alpha's password still reads alpha's topics only, whatever client id it asked for.
        assert intruder.received_until(b"for alpha") == [(TOPICS.desired("alpha"), b"for alpha")]
    finally:
        for session in (controller, beta, intruder):
            if session is not None:
                session.close()


def test_the_controllers_session_outlives_its_restart_on_the_locked_down_broker(
    production: tuple[MosquittoBroker, BrokerCredentials], tmp_path: Path
) -> None:
    """Events a panel sends while the controller restarts wait in the controller's session: the probe
    a starting controller makes (``negotiate_protocol``) gets the controller's client id too, here,
    and must resume that session, not start it clean."""
    from controller import create_app, shutdown_app
    from controller.domain.panels import register_panel
    from controller.web.context import get_db

    broker, credentials = production
    config = {
        "DATA_DIR": tmp_path / "data",
        "BROKER_URL": tls_url(broker.port, *credentials.controller()),
        "BROKER_CA_FILE": str(broker.ca_file),
    }
    app = create_app(config)
    with app.app_context():
        register_panel(get_db(), {**DEMO_LED, "id": "alpha"})
    wait_for(app.extensions["relais.mqtt_link"].connected.is_set, "controller connected")
    shutdown_app(app)
    panel = Session(broker.port, *credentials.panel("alpha"), ca_file=broker.ca_file)
    event = wire.PanelEvent("alpha", wire.EVENT_FAULT, 1_800_000_000, {"code": "while-away"})
    panel.publish(TOPICS.events("alpha"), wire.join_events([event.to_payload()]))
    panel.close()
    app = create_app(config)
    try:
        with app.app_context():
            wait_for(
                lambda: (
                    get_db().execute("select count(*) from panel_events where event = 'fault'").fetchone()[0]
                ),
                "the event sent while the controller was away recorded",
            )
    finally:
        shutdown_app(app)


def test_a_packet_larger_than_the_largest_schedule_ends_its_senders_connection_only(
    production: tuple[MosquittoBroker, BrokerCredentials],
) -> None:
    broker, credentials = production

    def connect(user: tuple[str, str]) -> Session:
        session = Session(broker.port, *user, ca_file=broker.ca_file)
        assert session.accepted
        return session

    controller = connect(credentials.controller())
    alpha = connect(credentials.panel("alpha"))
    try:
        controller.subscribe(TOPICS.all_events())
        alpha.client.publish(TOPICS.events("alpha"), b"[" + b" " * MAX_PACKET_BYTES + b"]", qos=1)
        wait_for(lambda: alpha.disconnections, "the broker ends the sender's connection")
        alpha.close()
        alpha = connect(credentials.panel("alpha"))
        alpha.subscribe(TOPICS.desired("alpha"))
        largest = b"relais/" + b"s" * (wire.MAX_PAYLOAD_BYTES - len(b"relais/"))
        controller.publish(TOPICS.desired("alpha"), largest)
        topic, payload = alpha.receive(timeout=10)
        assert (topic, len(payload)) == (TOPICS.desired("alpha"), wire.MAX_PAYLOAD_BYTES)
        assert controller.messages.empty() and controller.disconnections == 0
    finally:
        controller.close()
        alpha.close()


def test_a_schedule_over_the_wire_size_is_not_sent_and_the_others_are(
    production: tuple[MosquittoBroker, BrokerCredentials], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker would end the controller's connection for it, at every try, and every panel's
    publishing with it."""
    from controller import create_app, shutdown_app
    from controller.domain.panels import register_panel
    from controller.publishing.queueing import queue_message
    from controller.web.context import get_db, signing_key

    broker, credentials = production
    config = {"DATA_DIR": tmp_path / "data"}
    offline = create_app(config)
    with offline.app_context():
        db = get_db()
        for panel_id in ("alpha", "beta"):
            register_panel(db, {**DEMO_LED, "id": panel_id})
        queue_message(db, signing_key(), {"text": "Marché", "panels": ["alpha", "beta"]}, created_by="t")
        # Another state than the one sealed (seq + 1): the outbox's own, not what the commit handed over.
        db.execute(
            "update desired set payload = ?, seq = seq + 1, issued_at = issued_at - 1 where panel_id = 'alpha'",
            [b"relais/" + b"s" * MAX_PACKET_BYTES],
        )
        db.conn.commit()
    shutdown_app(offline)
    beta = Session(broker.port, *credentials.panel("beta"), ca_file=broker.ca_file)
    beta.subscribe(TOPICS.desired("beta"))
    app = create_app(
        {
            **config,
            "BROKER_URL": tls_url(broker.port, *credentials.controller()),
            "BROKER_CA_FILE": str(broker.ca_file),
        }
    )
    try:
        while not (message := beta.receive(timeout=10))[1].startswith(b"relais/2 "):
            pass  # a retained payload of an earlier test
        assert message[0] == TOPICS.desired("beta")

        def published() -> dict[str, bool]:
            with app.app_context():
                rows = get_db().execute("select panel_id, published_at is not null from desired")
                return {panel_id: bool(done) for panel_id, done in rows}

        wait_for(lambda: published() == {"alpha": False, "beta": True}, "beta's schedule acknowledged")
        link = app.extensions["relais.mqtt_link"]
        link.flush()
        assert link.connected.is_set()
        assert sum("over the wire's" in record.getMessage() for record in caplog.records) == 1
    finally:
        shutdown_app(app)
        beta.close()
