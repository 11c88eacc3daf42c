"""TLS on the locked-down broker, on a real Mosquitto: the right CA gets in, any other CA or plain MQTT does not.

Every broker here is one we started, ended by its own PID (``MosquittoBroker`` or the ``Popen`` of
``relais broker``); every wait has a bound.
"""

from __future__ import annotations

import queue
import signal
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from programs.cli import main
from relais import wire
from relais.brokers.certificates import (
    CA_CERT_NAME,
    certificate_hosts,
    ensure_broker_tls,
    make_server_cert,
    make_test_ca,
)
from relais.brokers.mosquitto import MosquittoBroker, free_loopback_port, port_open
from relais.brokers.security import PID_FILE_NAME, BrokerCredentials, production_config_text
from relais.mqtt import BrokerUrl, new_client
from relais.wire import Topics
from tests.support import production_broker, tls_url, wait_for

TOPICS = Topics("relais/v1")
# MQTT 3.1.1 CONNECT, client id "plain", clean session, keepalive 10 s: what a plain client sends first.
PLAIN_CONNECT = b"\x10\x11\x00\x04MQTT\x04\x02\x00\x0a\x00\x05plain"


class TlsSession:
    """A client made by ``relais.mqtt.new_client``, as the agent and the controller make theirs."""

    def __init__(self, url: str, ca_file: Path) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        connack: queue.Queue[bool] = queue.Queue()
        self.client = new_client(f"t-{uuid.uuid4().hex[:10]}", url, ca_file=str(ca_file))
        self.client.on_connect = lambda _c, _u, _f, reason, _p: connack.put(not reason.is_failure)
        self.client.on_message = lambda _c, _u, message: self.messages.put((message.topic, message.payload))
        broker = BrokerUrl.parse(url)
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        self.accepted = connack.get(timeout=5)

    def subscribe(self, topic: str) -> None:
        done: queue.Queue[bool] = queue.Queue()
        self.client.on_subscribe = lambda *_args: done.put(True)
        self.client.subscribe(topic, qos=1)
        done.get(timeout=5)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def tls_accepts(url: str, ca_file: Path) -> bool:
    session = TlsSession(url, ca_file)
    session.close()
    return session.accepted


@pytest.fixture(scope="module")
def tls_broker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[MosquittoBroker, BrokerCredentials]]:
    with production_broker(tmp_path_factory.mktemp("tls-broker"), ["alpha"]) as running:
        yield running


def test_test_ca_signs_a_server_certificate_for_loopback(tmp_path: Path) -> None:
    ca = make_test_ca(tmp_path / "ca")
    cert_file, key_file = make_server_cert(tmp_path / "server", ca, ["127.0.0.1", "localhost"])
    assert certificate_hosts(cert_file) == {"127.0.0.1", "localhost"}
    ca_cert = x509.load_pem_x509_certificate(ca[0].read_bytes())
    x509.load_pem_x509_certificate(cert_file.read_bytes()).verify_directly_issued_by(ca_cert)
    for key in (ca[1], key_file):
        assert key.stat().st_mode & 0o777 == 0o600
    assert cert_file.stat().st_mode & 0o777 == 0o644


def test_broker_tls_keeps_its_ca_and_renews_the_server_certificate_for_new_hosts(tmp_path: Path) -> None:
    first = ensure_broker_tls(tmp_path, ["localhost"])
    ca_pem, cert_pem = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    assert ensure_broker_tls(tmp_path, ["localhost"]) == first
    assert first.cert_file.read_bytes() == cert_pem  # still good: kept
    again = ensure_broker_tls(tmp_path, ["localhost", "relais.example"])
    assert again.ca_file.read_bytes() == ca_pem  # agents' ca_file stays valid
    assert certificate_hosts(again.cert_file) == {"localhost", "relais.example"}


def test_tls_broker_url_and_config(tls_broker: tuple[MosquittoBroker, BrokerCredentials]) -> None:
    broker, _credentials = tls_broker
    assert broker.url == f"mqtts://127.0.0.1:{broker.port}"
    config = broker.config_path.read_text(encoding="utf-8")
    assert f"listener {broker.port} 127.0.0.1\n" in config
    assert f"cafile {broker.ca_file}\n" in config and "tls_version tlsv1.2\n" in config


def test_panel_with_the_right_ca_and_password_receives_its_desired(
    tls_broker: tuple[MosquittoBroker, BrokerCredentials],
) -> None:
    broker, credentials = tls_broker
    controller = TlsSession(tls_url(broker.port, *credentials.controller()), broker.ca_file)
    alpha = TlsSession(tls_url(broker.port, *credentials.panel("alpha")), broker.ca_file)
    try:
        assert controller.accepted and alpha.accepted
        controller.publish(TOPICS.desired("alpha"), b"for alpha", retain=True)
        alpha.subscribe(TOPICS.desired("alpha"))
        assert alpha.messages.get(timeout=5) == (TOPICS.desired("alpha"), b"for alpha")
    finally:
        controller.close()
        alpha.close()
    # TLS does not stand in for the password.
    assert not tls_accepts(tls_url(broker.port, "panel-alpha", "not-the-password"), broker.ca_file)


def test_strict_verification_and_host_names_pass(
    tls_broker: tuple[MosquittoBroker, BrokerCredentials],
) -> None:
    """As Python 3.13 verifies by default (``VERIFY_X509_STRICT``), by IP address and by DNS name."""
    broker, _credentials = tls_broker
    context = ssl.create_default_context(cafile=str(broker.ca_file))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    for name in ("127.0.0.1", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", broker.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in {"TLSv1.2", "TLSv1.3"}


def test_client_trusting_another_ca_is_refused_at_the_handshake(
    tls_broker: tuple[MosquittoBroker, BrokerCredentials], tmp_path: Path
) -> None:
    broker, credentials = tls_broker
    other_ca, _other_key = make_test_ca(tmp_path / "other", "Not the broker's CA")
    client = new_client(
        "t-other-ca", tls_url(broker.port, *credentials.panel("alpha")), ca_file=str(other_ca)
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        client.connect("127.0.0.1", broker.port, keepalive=10)


def test_plain_mqtt_to_the_tls_port_gets_no_connack(
    tls_broker: tuple[MosquittoBroker, BrokerCredentials],
) -> None:
    broker, _credentials = tls_broker
    received = b""
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as plain:
        plain.sendall(PLAIN_CONNECT)
        try:
            while chunk := plain.recv(4096):  # until Mosquitto closes; a timeout fails the test
                received += chunk
        except ConnectionResetError:
            pass
    assert not received.startswith(b"\x20")  # a CONNACK would start with 0x20


def test_production_config_with_tls(tmp_path: Path) -> None:
    files = ensure_broker_tls(tmp_path / "tls", ["localhost"])
    text = production_config_text(tmp_path, port=8883, tls=files)
    assert "listener 8883 0.0.0.0\n" in text and "allow_anonymous false" in text
    assert f"certfile {files.cert_file}\nkeyfile {files.key_file}\ntls_version tlsv1.2\n" in text
    assert "keyfile" not in production_config_text(tmp_path, port=1883)


@pytest.mark.parametrize("own_files", [False, True], ids=["made-here", "given"])
def test_relais_broker_tls_serves_mqtts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], own_files: bool
) -> None:
    data = tmp_path / "data"
    made_ca = data / "broker" / "tls" / CA_CERT_NAME
    if own_files:
        ca_file, ca_key = make_test_ca(tmp_path / "own")
        cert_file, key_file = make_server_cert(tmp_path / "own", (ca_file, ca_key), ["127.0.0.1"])
        given = ["--cert", str(cert_file), "--key", str(key_file), "--ca", str(ca_file)]
    else:
        ca_file, given = made_ca, []
    port = free_loopback_port()
    out = tmp_path / "broker.out"
    command = [sys.executable, "-m", "programs.cli", "broker", "--tls", *given, "--data-dir", str(data)]
    with out.open("wb") as stdout:
        broker = subprocess.Popen(
            [*command, "--port", str(port), "--listen", "127.0.0.1"], stdout=stdout, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: port_open(port), "relais broker --tls listening", 10)
        pid_file = data / "broker" / PID_FILE_NAME
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() == str(broker.pid), "PID file")
        assert f"CA certificate {ca_file.resolve()}" in out.read_text(encoding="utf-8")
        if own_files:
            assert not made_ca.exists()
        else:
            made_hosts = certificate_hosts(made_ca.with_name("server.crt"))
            assert {"127.0.0.1", "localhost", socket.gethostname()} <= made_hosts
        assert main(["broker", "controller-url", "--data-dir", str(data), "--broker-url", "mqtts://x"]) == 0
        controller = BrokerUrl.parse(capsys.readouterr().out.strip())
        assert controller.username and controller.password
        assert tls_accepts(tls_url(port, controller.username, controller.password), ca_file)
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(10)
    assert broker.returncode == 0


def test_relais_broker_tls_options_go_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    assert main(["broker", "--data-dir", data, "--tls", "--cert", str(tmp_path / "c.pem")]) == 2
    assert "go together" in capsys.readouterr().err
    files = ensure_broker_tls(tmp_path / "tls", ["localhost"])
    given = ["--cert", str(files.cert_file), "--key", str(files.key_file), "--ca", str(files.ca_file)]
    assert main(["broker", "--data-dir", data, *given]) == 2
    assert "need --tls" in capsys.readouterr().err
    assert main(["broker", "--data-dir", data, "--tls", *given, "--tls-host", "relais.example"]) == 2
    assert "--tls-host" in capsys.readouterr().err


def test_the_controller_publishes_over_tls_with_its_own_user(
    tls_broker: tuple[MosquittoBroker, BrokerCredentials], tmp_path: Path
) -> None:
    """``relais serve`` against ``relais broker --tls``: the controller trusts the broker's CA, not the system's."""
    from controller import create_app, shutdown_app
    from controller.domain.panels import register_panel
    from controller.publishing.queueing import queue_message
    from controller.web.context import get_db, signing_key
    from tests.support import DEMO_LED

    broker, credentials = tls_broker
    panel = TlsSession(tls_url(broker.port, *credentials.panel("alpha")), broker.ca_file)
    app = create_app(
        {
            "DATA_DIR": tmp_path / "data",
            "BROKER_URL": tls_url(broker.port, *credentials.controller()),
            "BROKER_CA_FILE": str(broker.ca_file),
            "MQTT_CLIENT_ID": "controller-tls",
        }
    )
    try:
        panel.subscribe(TOPICS.desired("alpha"))
        with app.app_context():
            register_panel(get_db(), {**DEMO_LED, "id": "alpha"})
            queue_message(get_db(), signing_key(), {"text": "Par TLS", "panels": ["alpha"]}, created_by="t")
        app.extensions["relais.mqtt_link"].flush()
        key = app.extensions["relais.signing_key"].public_key()
        while True:  # an earlier test left a retained plain payload on this topic
            topic, payload = panel.messages.get(timeout=10)
            if payload.startswith(b"relais/"):
                break
        assert topic == TOPICS.desired("alpha")
        assert wire.unseal(payload, key).desired_schedule().items, "a genuine schedule came through TLS"
    finally:
        shutdown_app(app)
        panel.close()
