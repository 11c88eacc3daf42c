"""systemd's notify protocol and watchdog, with a real datagram socket standing for systemd."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from panel_agent.watchdog import SystemdWatchdog, heartbeat_limit_s
from relais import wire
from relais.brokers.mosquitto import free_loopback_port

# WATCHDOG_USEC of 0.15 s: a ping every 50 ms.
FAST_WATCHDOG_USEC = "150000"


class FakeAgent:
    """A rotation that turns (its heartbeat is now) until ``freeze()``, as a backend stuck in display()."""

    def __init__(self) -> None:
        self.frozen_at: float | None = None

    def rotation_heartbeat(self) -> float:
        return self.frozen_at if self.frozen_at is not None else time.monotonic()

    def freeze(self) -> None:
        self.frozen_at = time.monotonic()

    def thaw(self) -> None:
        self.frozen_at = None


class FakeSystemd:
    """The notify socket systemd would own: a bound AF_UNIX datagram socket we read messages from."""

    def __init__(self, address: str) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(address)

    def receive(self, timeout: float = 5.0) -> str | None:
        """The next message, or None if nothing comes within ``timeout``."""
        self.socket.settimeout(timeout)
        try:
            return self.socket.recv(4096).decode()
        except TimeoutError:
            return None

    def drain(self) -> list[str]:
        messages = []
        while (message := self.receive(timeout=0.01)) is not None:
            messages.append(message)
        return messages


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[tuple[FakeSystemd, str]]:
    """A notify socket in tmp_path and the NOTIFY_SOCKET value that names it."""
    path = tmp_path / "notify"
    fake = FakeSystemd(str(path))
    yield fake, str(path)
    fake.socket.close()


def test_ready_then_pings_while_the_rotation_turns_then_stopping(systemd: tuple[FakeSystemd, str]) -> None:
    fake, notify_socket = systemd
    environ = {"NOTIFY_SOCKET": notify_socket, "WATCHDOG_USEC": FAST_WATCHDOG_USEC}
    watchdog = SystemdWatchdog(FakeAgent(), stale_after_s=60, environ=environ)
    assert watchdog.interval_s == pytest.approx(0.05)
    watchdog.start()
    try:
        assert fake.receive() == "READY=1"
        assert [fake.receive() for _ in range(3)] == ["WATCHDOG=1"] * 3
    finally:
        watchdog.stop()
    assert set(fake.drain()) <= {"WATCHDOG=1", "STOPPING=1"}
    assert fake.receive(timeout=0.3) is None  # nothing after STOPPING=1


def test_stopping_is_the_last_message(systemd: tuple[FakeSystemd, str]) -> None:
    fake, notify_socket = systemd
    watchdog = SystemdWatchdog(FakeAgent(), stale_after_s=60, environ={"NOTIFY_SOCKET": notify_socket})
    watchdog.start()
    watchdog.stop()
    assert fake.drain() == ["READY=1", "STOPPING=1"]  # no WATCHDOG_USEC: no pings


def test_the_pings_stop_while_the_rotation_is_stuck_and_resume_when_it_turns(
    systemd: tuple[FakeSystemd, str],
) -> None:
    fake, notify_socket = systemd
    agent = FakeAgent()
    environ = {"NOTIFY_SOCKET": notify_socket, "WATCHDOG_USEC": FAST_WATCHDOG_USEC}
    watchdog = SystemdWatchdog(agent, stale_after_s=0.3, environ=environ)
    watchdog.start()
    try:
        assert fake.receive() == "READY=1"
        assert fake.receive() == "WATCHDOG=1"
        agent.freeze()
        time.sleep(0.5)  # the heartbeat is older than 0.3 s from here on
        fake.drain()
        assert fake.receive(timeout=1.0) is None
        agent.thaw()
        assert fake.receive() == "WATCHDOG=1"
    finally:
        watchdog.stop()


def test_nothing_is_sent_without_notify_socket(systemd: tuple[FakeSystemd, str]) -> None:
    fake, _ = systemd
    watchdog = SystemdWatchdog(FakeAgent(), stale_after_s=60, environ={"WATCHDOG_USEC": FAST_WATCHDOG_USEC})
    assert not watchdog.enabled
    watchdog.start()
    time.sleep(0.3)
    watchdog.stop()
    assert fake.receive(timeout=0.2) is None


def test_an_abstract_socket_name_starts_with_an_at_sign() -> None:
    name = f"relais-test-{uuid.uuid4().hex}"
    fake = FakeSystemd("\0" + name)
    try:
        watchdog = SystemdWatchdog(FakeAgent(), stale_after_s=60, environ={"NOTIFY_SOCKET": "@" + name})
        watchdog.start()
        watchdog.stop()
        assert fake.drain() == ["READY=1", "STOPPING=1"]
    finally:
        fake.socket.close()


def test_a_watchdog_meant_for_another_process_is_not_fed(systemd: tuple[FakeSystemd, str]) -> None:
    fake, notify_socket = systemd
    environ = {
        "NOTIFY_SOCKET": notify_socket,
        "WATCHDOG_USEC": FAST_WATCHDOG_USEC,
        "WATCHDOG_PID": str(os.getpid() + 1),
    }
    watchdog = SystemdWatchdog(FakeAgent(), stale_after_s=60, environ=environ)
    assert watchdog.interval_s is None
    watchdog.start()
    time.sleep(0.2)
    watchdog.stop()
    assert fake.drain() == ["READY=1", "STOPPING=1"]


def test_the_heartbeat_limit_allows_the_longest_sleep_and_the_backends_display_timeout() -> None:
    assert heartbeat_limit_s({"width": 192, "height": 64}) == 60
    assert heartbeat_limit_s({"busy_timeout_s": 30.0}) == 120
    assert heartbeat_limit_s({"timeout_s": 2.0}) == 64


@pytest.mark.e2e
def test_a_real_agent_tells_systemd_it_is_ready_feeds_the_watchdog_and_says_it_stops(
    systemd: tuple[FakeSystemd, str], tmp_path: Path
) -> None:
    """``python -m panel_agent`` as systemd runs it; no broker is needed for this (it retries in the background)."""
    fake, notify_socket = systemd
    key = wire.public_key_to_text(Ed25519PrivateKey.generate().public_key())
    config = tmp_path / "agent.toml"
    config.write_text(
        f'panel_id = "watchdog-test"\nbroker_url = "mqtt://127.0.0.1:{free_loopback_port()}"\n'
        f'controller_public_key = "{key}"\nstate_dir = "state"\n\n'
        '[backend]\nname = "simulated"\nwidth = 96\nheight = 16\n',
        encoding="utf-8",
    )
    environ = {**os.environ, "NOTIFY_SOCKET": notify_socket, "WATCHDOG_USEC": FAST_WATCHDOG_USEC}
    environ.pop("WATCHDOG_PID", None)
    log = (tmp_path / "agent.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "panel_agent", "--config", str(config)],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        assert fake.receive(timeout=15) == "READY=1"
        assert fake.receive() == "WATCHDOG=1"
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert fake.drain()[-1] == "STOPPING=1"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
