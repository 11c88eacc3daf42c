"""A RabbitMQ node of our own with its MQTT plugin: loopback only, its own node name, ports and files.

It shows that Relais needs nothing Mosquitto-specific: the end-to-end tests run against it too. The
node runs from Debian's ``rabbitmq-server`` package, as the ``rabbitmq`` user when we are root (its
files must belong to it), with its own Erlang port mapper on a free loopback port, so it meets
neither a system RabbitMQ nor a system epmd on 4369. Everything is in a temporary folder that
``stop()`` removes; each process is ended by its own PID (the node by its process group, which is
ours). Not for production: a real cluster is configured by its operators (see docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from relais.brokers.mosquitto import BrokerError, free_loopback_port, port_open

# Debian's own start script, without the /usr/sbin wrapper that insists on su and /var/lib/rabbitmq.
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQ_USER = "rabbitmq"
EPMD_CANDIDATES = ("epmd", "/usr/lib/erlang/bin/epmd")
PROBE_CLIENT_ID = b"relais-probe"


def find_rabbitmq() -> tuple[Path, str]:
    """The start script and epmd, or a BrokerError that says how to install them."""
    epmd = next((found for name in EPMD_CANDIDATES if (found := shutil.which(name))), None)
    if not RABBITMQ_SERVER.exists() or epmd is None:
        raise BrokerError(
            "RabbitMQ is not installed. On Debian: sudo apt-get install rabbitmq-server "
            "(./run tests does it for you when run as root)"
        )
    return RABBITMQ_SERVER, epmd


def rabbitmq_installed() -> bool:
    try:
        find_rabbitmq()
    except BrokerError:
        return False
    return True


def mqtt_connack(port: int, timeout: float = 2.0) -> bool:
    """True when an MQTT 3.1.1 CONNECT on ``127.0.0.1:port`` is accepted: the port alone opens before
    the plugin takes clients."""
    variable_header = b"\x00\x04MQTT\x04\x02\x00\x0a"  # protocol 3.1.1, clean session, keepalive 10 s
    payload = len(PROBE_CLIENT_ID).to_bytes(2, "big") + PROBE_CLIENT_ID
    body = variable_header + payload
    connect = bytes([0x10, len(body)]) + body
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(connect)
            answer = b""
            while len(answer) < 4:
                chunk = sock.recv(4 - len(answer))
                if not chunk:
                    return False
                answer += chunk
            sock.sendall(b"\xe0\x00")  # DISCONNECT
    except OSError:
        return False
    return answer == b"\x20\x02\x00\x00"


class RabbitMQBroker:
    """Start with ``start()`` or as a context manager; ``url`` is what MQTT clients connect to."""

    def __init__(self, mqtt_port: int | None = None) -> None:
        self.port = mqtt_port or free_loopback_port()
        self.work_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._epmd: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_files(self, work_dir: Path) -> None:
        """Listeners on loopback only; anonymous MQTT maps to the ``guest`` user, which RabbitMQ itself
        allows on loopback alone."""
        (work_dir / "rabbitmq.conf").write_text(
            "\n".join(
                [
                    "# Written by relais for a loopback RabbitMQ (tests). ANONYMOUS MQTT: NOT FOR PRODUCTION.",
                    f"listeners.tcp.default = 127.0.0.1:{free_loopback_port()}",
                    f"mqtt.listeners.tcp.default = 127.0.0.1:{self.port}",
                    "mqtt.allow_anonymous = true",
                    "loopback_users.guest = true",
                    "log.console = false",
                    f"log.file = {work_dir / 'rabbit.log'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        (work_dir / "enabled_plugins").write_text("[rabbitmq_mqtt].\n", encoding="utf-8")
        cookie = work_dir / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20), encoding="ascii")
        cookie.chmod(0o400)

    def _environment(self, work_dir: Path, epmd_port: int) -> dict[str, str]:
        """Every path and port of the node, so nothing of a system RabbitMQ in /etc or /var is used."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work_dir),  # the Erlang cookie
            "LANG": "C.UTF-8",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(epmd_port),
            "RABBITMQ_NODENAME": f"relais-{secrets.token_hex(4)}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_DIST_PORT": str(free_loopback_port()),
            "RABBITMQ_CONFIG_FILE": str(work_dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(work_dir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(work_dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(work_dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(work_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(work_dir / "log"),
            # Inter-node traffic on loopback too, and never an epmd of the Erlang VM's own making.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false",
        }

    def start(self, timeout: float = 90.0) -> RabbitMQBroker:
        if self.process is not None:
            raise BrokerError("this broker is already running")
        if port_open(self.port):
            raise BrokerError(f"port {self.port} on 127.0.0.1 is already in use")
        server, epmd = find_rabbitmq()
        # Readable by the rabbitmq user, unlike pytest's private temporary folders.
        work_dir = Path(tempfile.mkdtemp(prefix="relais-rabbitmq-"))
        self.work_dir = work_dir
        try:
            self._write_files(work_dir)
            as_user = self._node_user(work_dir)
            epmd_port = free_loopback_port()
            self._epmd = subprocess.Popen(
                [epmd, "-port", str(epmd_port), "-address", "127.0.0.1"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                user=as_user,
                group=as_user,
            )
            with (work_dir / "startup.log").open("ab") as log:
                process = subprocess.Popen(
                    [str(server)],
                    cwd=work_dir,
                    env=self._environment(work_dir, epmd_port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,  # the node's processes form a group that is ours to end
                    user=as_user,
                    group=as_user,
                )
            self.process = process
            self._wait_until_ready(process, work_dir, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _node_user(work_dir: Path) -> str | None:
        """As root, the node runs as ``rabbitmq`` and owns its folder; otherwise as whoever we are (None)."""
        if os.geteuid() != 0:
            return None
        account = pwd.getpwnam(RABBITMQ_USER)
        for path in (work_dir, *work_dir.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid)
        return RABBITMQ_USER

    def _wait_until_ready(self, process: subprocess.Popen[bytes], work_dir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not mqtt_connack(self.port):
            if process.poll() is not None:
                raise BrokerError(f"RabbitMQ exited at start:\n{_log_tail(work_dir)}")
            if time.monotonic() > deadline:
                raise BrokerError(f"RabbitMQ did not accept MQTT on port {self.port} in {timeout} s")
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the start script (it stops the node cleanly), then end whatever is left of the node's
        process group and our epmd, and remove the folder."""
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        epmd, self._epmd = self._epmd, None
        if epmd is not None:
            epmd.terminate()
            epmd.wait(timeout)
        work_dir, self.work_dir = self.work_dir, None
        if work_dir is not None:
            shutil.rmtree(work_dir, ignore_errors=True)

    def __enter__(self) -> RabbitMQBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _log_tail(work_dir: Path) -> str:
    """The last lines of the node's logs, for an error saying why it did not start."""
    lines: list[str] = []
    for name in ("startup.log", "rabbit.log"):
        with contextlib.suppress(OSError):
            lines += (work_dir / name).read_text(errors="replace").splitlines()[-15:]
    return "\n".join(lines)
