"""A Mosquitto of our own, for the demo and the tests: loopback only, generated config, our own PID.

Anonymous by default; ``secure=True`` requires the users and ACL of ``relais.brokers.security``, as
production does (``relais broker``), and ``tls=True`` adds TLS with a CA of its own
(``relais.brokers.certificates``). Production may point at any MQTT 3.1.1/5 broker by URL instead;
this module never touches a broker it did not start (such as a system Mosquitto on 1883).
"""

from __future__ import annotations

import getpass
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from relais.brokers.certificates import TlsFiles, ensure_broker_tls
from relais.brokers.security import fleet_limit_lines, locked_down_lines, tls_config_lines

# The names a client of this loopback broker may use; both go in the server certificate.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
MOSQUITTO_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(RuntimeError):
    """Mosquitto is missing, would not start, or did not open its port in time."""


def find_mosquitto() -> str:
    for candidate in MOSQUITTO_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise BrokerError(
        "Mosquitto is not installed. On Debian or Raspberry Pi OS: sudo apt-get install mosquitto "
        "(the ./run script does it for you when run as root)"
    )


# Where free_loopback_port() looks: below the kernel's range for outgoing connections, so that between
# the probe and the server's own bind no client's source port can take it (a fleet of a thousand
# simulated panels churns through that range).
LISTEN_PORTS_FROM = 10_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_loopback_port() -> int:
    """A loopback port nothing listens on, outside the ephemeral range when the kernel says where it is."""
    try:
        ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 0
    candidates = list(range(LISTEN_PORTS_FROM, ephemeral_low))
    random.shuffle(candidates)
    for port in [*candidates[:200], 0]:  # 0: the kernel's choice, when none of those is free
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise BrokerError("no free loopback port")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class MosquittoBroker:
    """Start with ``start()`` or as a context manager; ``url`` is what clients connect to."""

    def __init__(
        self,
        work_dir: Path,
        port: int | None = None,
        *,
        persistence: bool = True,
        secure: bool = False,
        credentials_dir: Path | None = None,
        tls: bool = False,
        max_inflight: int = 1000,
    ) -> None:
        """``max_inflight`` is Mosquitto's ``max_inflight_messages``, announced to MQTT 5 clients as its
        Receive Maximum. With ``secure``, ``credentials_dir`` holds the ``passwd`` and ``acl`` files (``BrokerCredentials``).

        ``tls`` (secure brokers only, as TLS without passwords would protect nothing worth having)
        makes a CA and a server certificate in ``work_dir/tls`` at start; clients trust ``ca_file``.
        """
        if secure and credentials_dir is None:
            raise BrokerError("a secure broker needs credentials_dir (see relais.brokers.security)")
        if tls and not secure:
            raise BrokerError("TLS is for a secure broker: pass secure=True and credentials_dir")
        self.work_dir = Path(work_dir)
        self.port = port or free_loopback_port()
        self.max_inflight = max_inflight
        self.persistence = persistence
        # Where the users and ACL are for a secure broker; None: anonymous access.
        self.credentials_dir = (
            Path(credentials_dir).resolve() if secure and credentials_dir is not None else None
        )
        self.tls = tls
        self.tls_files: TlsFiles | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The CA certificate clients must trust; made by ``write_config`` (``start``)."""
        if self.tls_files is None:
            raise BrokerError("no CA yet: the broker has no TLS, or has not been started")
        return self.tls_files.ca_file

    @property
    def config_path(self) -> Path:
        return self.work_dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "mosquitto.log"

    def write_config(self) -> Path:
        """Loopback listener; anonymous access unless ``secure``, since only this machine can reach it."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.credentials_dir is not None:
            header = [
                "# Written by relais for a loopback broker (tests), with users and ACL as in production."
            ]
            access = locked_down_lines(self.credentials_dir)
        else:
            header = [
                "# Written by relais for a loopback broker (demo or tests). ANONYMOUS ACCESS: NOT FOR",
                "# PRODUCTION (use `relais broker`, which requires users, passwords and an ACL).",
            ]
            access = ["allow_anonymous true"]
        lines = [
            *header,
            # Run as whoever started us: as root Mosquitto would otherwise switch to its own user and
            # lose access to this folder.
            f"user {getpass.getuser()}",
            f"listener {self.port} 127.0.0.1",
            *self._tls_lines(),
            *access,
            "set_tcp_nodelay true",
            *fleet_limit_lines(self.max_inflight),
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.work_dir}/",
            "autosave_interval 5",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.config_path

    def _tls_lines(self) -> list[str]:
        """Options of the listener above; certificates made on first start and kept for restarts."""
        if not self.tls:
            return []
        self.tls_files = ensure_broker_tls(self.work_dir / "tls", LOOPBACK_HOSTS)
        return tls_config_lines(self.tls_files)

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        if self.process is not None:
            raise BrokerError("this broker is already running")
        if port_open(self.port):
            raise BrokerError(f"port {self.port} on 127.0.0.1 is already in use")
        binary = find_mosquitto()
        self.write_config()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config_path)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None:
                self.process = None
                raise BrokerError(f"Mosquitto exited at start; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"Mosquitto did not open port {self.port} within {timeout} s")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask our own Mosquitto (by its PID) to stop, and kill it if it will not."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self.process = None

    def reload(self) -> None:
        """SIGHUP our own Mosquitto (by its PID): it rereads the password and ACL files."""
        if self.process is None:
            raise BrokerError("this broker is not running")
        os.kill(self.process.pid, signal.SIGHUP)

    def kill(self) -> None:
        """Stop without a goodbye, as a crash would (used by tests of outages)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def client_connections(self) -> int:
        """Established TCP connections of our Mosquitto on its port, as the kernel sees them (Linux):
        the count of connected clients, with no broker-specific topic (``$SYS``) involved."""
        if self.process is None:
            return 0
        return established_connections(self.process.pid, self.port)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


TCP_ESTABLISHED = "01"


def established_connections(pid: int, port: int) -> int:
    """Sockets of process ``pid`` (its ``/proc/<pid>/fd``) that are established TCP connections on local
    ``port`` (``/proc/net/tcp`` and ``tcp6``)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)  # the header
            for line in lines:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == TCP_ESTABLISHED and fields[9] in inodes:
                    count += 1
    return count
