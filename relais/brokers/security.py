"""Who may connect to the broker and what each one may read and write: passwords and ACLs.

Every client has its own user: the controller (``relais-controller``) and one per panel
(``panel-<panel_id>``). A panel may read only its own ``desired`` and ``cmd`` and write only its own
``state`` and ``events``, so a stolen panel's password cannot show anything on another panel, nor
read what others are sent, nor pretend to be the controller. Passwords are random
(``secrets.token_urlsafe(24)``), never a default.

The plain passwords live in ``credentials.json`` (mode 0600) beside the broker's files, because the
controller must hand each panel its own in ``relais panel agent-config``; the broker gets only the
salted PBKDF2 hashes (``passwd``) and the ACL (``acl``), both rewritten from that file on every change.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import secrets
import signal
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from relais.brokers.certificates import TlsFiles
from relais.files import atomic_write
from relais.wire import DEFAULT_TOPIC_BASE, MAX_PAYLOAD_BYTES, check_panel_id

CONTROLLER_USER = "relais-controller"
PANEL_USER_PREFIX = "panel-"

# Mosquitto 2's own password format ($7$: PBKDF2-HMAC-SHA512), with its defaults (mosquitto_passwd).
HASH_ITERATIONS = 101
SALT_BYTES = 12

CREDENTIALS_NAME = "credentials.json"
PASSWORD_FILE_NAME = "passwd"
ACL_FILE_NAME = "acl"
CONFIG_NAME = "mosquitto.conf"
# The largest schedule, with room for the longest topic MQTT allows (64 KiB) and the packet's headers.
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 128 * 1024
PID_FILE_NAME = "mosquitto.pid"


def panel_username(panel_id: str) -> str:
    """The prefix keeps a panel id from ever naming the controller's user."""
    return PANEL_USER_PREFIX + check_panel_id(panel_id)


def new_password() -> str:
    return secrets.token_urlsafe(24)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = HASH_ITERATIONS) -> str:
    """The hash part of a Mosquitto 2 password-file line, as ``mosquitto_passwd`` writes it.

    Written here rather than through ``mosquitto_passwd`` so that the controller's machine needs no
    Mosquitto to register panels, and no password ever appears on a command line.
    """
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    encode = base64.b64encode
    return f"$7${iterations}${encode(salt).decode('ascii')}${encode(digest).decode('ascii')}"


def password_file_text(passwords: Mapping[str, str]) -> str:
    """``user:hash`` lines, sorted, for Mosquitto's ``password_file``."""
    return "".join(f"{user}:{hash_password(passwords[user])}\n" for user in sorted(passwords))


def acl_text(panel_ids: list[str], topic_base: str = DEFAULT_TOPIC_BASE) -> str:
    """Mosquitto's ``acl_file``: the controller's wildcard rights, then each panel's own topics.

    Per-user ``topic`` lines rather than ``pattern`` lines with ``%u``: ``%u`` stands for the whole
    username, and panel topics carry the bare panel id while the username has the ``panel-`` prefix.
    Explicit lines also make a revoked panel lose its topics in the file itself, not only its password.
    Anything not granted here is denied.
    """
    panels = f"{topic_base}/panels"
    lines = [
        "# Written by relais from credentials.json; changes here are overwritten.",
        f"user {CONTROLLER_USER}",
        f"topic read {panels}/+/state",
        f"topic read {panels}/+/events",
        f"topic write {panels}/+/desired",
        f"topic write {panels}/+/cmd",
    ]
    for panel_id in sorted(panel_ids):
        own = f"{panels}/{check_panel_id(panel_id)}"
        lines += [
            "",
            f"user {panel_username(panel_id)}",
            f"topic read {own}/desired",
            f"topic read {own}/cmd",
            f"topic write {own}/state",
            f"topic write {own}/events",
        ]
    return "\n".join(lines) + "\n"


class BrokerCredentials:
    """The users of one broker, kept in ``directory`` with the ``passwd`` and ``acl`` files made from them.

    Changes take a file lock, so two ``relais panel add`` at once cannot lose each other's panel.
    Mosquitto reads the new files on SIGHUP (``MosquittoBroker.reload()``, ``reload_running_broker``).
    """

    def __init__(self, directory: Path, topic_base: str = DEFAULT_TOPIC_BASE) -> None:
        self.directory = Path(directory)
        self.topic_base = topic_base

    @property
    def password_file(self) -> Path:
        return self.directory / PASSWORD_FILE_NAME

    @property
    def acl_file(self) -> Path:
        return self.directory / ACL_FILE_NAME

    def controller(self) -> tuple[str, str]:
        """The controller's user and password, made on first use."""
        return CONTROLLER_USER, self._ensure([CONTROLLER_USER])[CONTROLLER_USER]

    def panel(self, panel_id: str) -> tuple[str, str]:
        """A panel's user and password, made on first use."""
        return self.panels([panel_id])[panel_id]

    def panels(self, panel_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Each panel's user and password, those missing made at once: the files are written once for
        a simulated department, not once a panel."""
        usernames = {panel_id: panel_username(panel_id) for panel_id in panel_ids}
        passwords = self._ensure(list(usernames.values()))
        return {panel_id: (username, passwords[username]) for panel_id, username in usernames.items()}

    def revoke_panel(self, panel_id: str) -> bool:
        """Remove the panel's password and its topics; False when it had none."""
        username = panel_username(panel_id)
        with self._locked():
            passwords = self._read()
            if passwords.pop(username, None) is None:
                return False
            self._write(passwords)
        return True

    def write_files(self) -> None:
        """(Re)write ``passwd`` and ``acl``, with the controller's user, before a broker starts."""
        self.controller()
        with self._locked():
            self._write(self._read())

    def _ensure(self, usernames: Sequence[str]) -> dict[str, str]:
        """The password of each user, made for those that have none, in one write."""
        with self._locked():
            passwords = self._read()
            missing = [username for username in usernames if username not in passwords]
            if missing:
                passwords.update((username, new_password()) for username in missing)
                self._write(passwords)
            return {username: passwords[username] for username in usernames}

    def _read(self) -> dict[str, str]:
        path = self.directory / CREDENTIALS_NAME
        if not path.exists():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{path}: expected a JSON object of user names and passwords")
        return data

    def _write(self, passwords: dict[str, str]) -> None:
        panel_ids = [user.removeprefix(PANEL_USER_PREFIX) for user in passwords if user != CONTROLLER_USER]
        text = json.dumps(passwords, indent=2, sort_keys=True) + "\n"
        atomic_write(self.directory / CREDENTIALS_NAME, text.encode(), mode=0o600)
        atomic_write(self.password_file, password_file_text(passwords).encode(), mode=0o600)
        atomic_write(self.acl_file, acl_text(panel_ids, self.topic_base).encode(), mode=0o600)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def locked_down_lines(directory: Path) -> list[str]:
    """No anonymous access, the users and ACL in ``directory``, each client's id bound to its user, and
    no packet larger than the largest schedule.

    Mosquitto ends a connection when another connects with the same client id: were ids free, a
    panel's password would kick off the controller or any other panel again and again, under their
    ids. ``use_username_as_clientid`` makes a client's id its user name, whatever id it asks for, so
    only the controller's password can take the controller's id, and a panel's only its own.
    These lines go after the ``listener`` line: before any, Mosquitto would open a listener of its own
    on port 1883, on every interface, for ``use_username_as_clientid``.

    ``max_packet_size`` holds for every client (Mosquitto has no limit by user): the controller's
    schedules are the largest payloads (``MAX_PAYLOAD_BYTES``; panels send states and events far
    smaller, ``MAX_EVENTS_BATCH_BYTES``). A client sending more is disconnected before the broker has
    read it, where it would otherwise take up to 256 MB.
    """
    folder = Path(directory).resolve()
    return [
        "allow_anonymous false",
        f"password_file {folder / PASSWORD_FILE_NAME}",
        f"acl_file {folder / ACL_FILE_NAME}",
        "use_username_as_clientid true",
        f"max_packet_size {MAX_PACKET_BYTES}",
    ]


def tls_config_lines(files: TlsFiles) -> list[str]:
    """Options that make the listener above them TLS only: a plain MQTT client there fails the handshake.

    TLS 1.2 at least (Mosquitto 2's ``tls_version`` is a minimum): older versions have known
    weaknesses, and every paho and OpenSSL we run speaks 1.2 and 1.3. With ``cafile``, OpenSSL sends
    the chain up to the CA when the certificate file holds only the server's own (an intermediate CA
    of the user's); no client certificate is asked for, as clients prove who they are by password.
    """
    return [
        f"cafile {Path(files.ca_file).resolve()}",
        f"certfile {Path(files.cert_file).resolve()}",
        f"keyfile {Path(files.key_file).resolve()}",
        "tls_version tlsv1.2",
    ]


# How often ``relais broker`` writes its in-memory state (retained messages, sessions) to disk, in seconds.
AUTOSAVE_INTERVAL_S = 60


def fleet_limit_lines(max_inflight: int = 1000) -> list[str]:
    """Queue and in-flight limits for a department's traffic, on the test brokers and in production.

    A department's panels all report at once (after a restart, an alert): beyond Mosquitto's default
    of 1,000 queued messages per client it would drop what the controller has to record, and 20 in
    flight (its default, announced to MQTT 5 clients as the Receive Maximum) would hold the controller
    to 20 publications per round trip.
    """
    return ["max_queued_messages 100000", f"max_inflight_messages {max_inflight}"]


def production_config_text(
    directory: Path, *, port: int = 1883, listen: str = "0.0.0.0", tls: TlsFiles | None = None
) -> str:
    """The config of ``relais broker``: passwords and ACL required, persistence and PID file in ``directory``."""
    folder = Path(directory).resolve()
    transport = (
        ["# TLS only, with the certificate below: agents need its CA as ca_file, and mqtts:// URLs."]
        if tls
        else ["# Plain MQTT: use --tls before crossing an untrusted network."]
    )
    lines = [
        "# Written by `relais broker`: every client needs its own user and password (no anonymous",
        "# access); each may use only the topics the ACL grants it.",
        *transport,
        # As root Mosquitto would switch to its own user, which cannot read these 0600 files.
        f"user {getpass.getuser()}",
        f"listener {port} {listen}",
        *(tls_config_lines(tls) if tls else []),
        *locked_down_lines(folder),
        f"pid_file {folder / PID_FILE_NAME}",
        "set_tcp_nodelay true",
        *fleet_limit_lines(),
        "persistence true",
        f"persistence_location {folder}/",
        # Saved every minute rather than Mosquitto's half hour: a crash then loses at most a minute of
        # retained messages and queued ones. The controller sends every running schedule again whenever
        # it (re)connects, so a schedule lost or rolled back by a restart is put right at once.
        f"autosave_interval {AUTOSAVE_INTERVAL_S}",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
    ]
    return "\n".join(lines) + "\n"


def write_production_config(
    directory: Path, *, port: int = 1883, listen: str = "0.0.0.0", tls: TlsFiles | None = None
) -> Path:
    """Users, ACL and config of ``relais broker`` in ``directory``; the config's path, for ``mosquitto -c``."""
    BrokerCredentials(directory).write_files()
    path = Path(directory).resolve() / CONFIG_NAME
    text = production_config_text(directory, port=port, listen=listen, tls=tls)
    atomic_write(path, text.encode(), mode=0o600)
    return path


def reload_running_broker(directory: Path) -> int | None:
    """SIGHUP the ``relais broker`` whose PID file is in ``directory``; its PID, or None if none runs.

    A PID file can outlive its broker (a crash, a reboot) and its number be reused: the signal goes
    only to a process whose command line names this folder's config, so nothing else gets a SIGHUP.
    """
    folder = Path(directory).resolve()
    try:
        pid = int((folder / PID_FILE_NAME).read_text(encoding="ascii").strip())
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if os.fsencode(str(folder / CONFIG_NAME)) not in command_line:
        return None
    os.kill(pid, signal.SIGHUP)
    return pid
