"""systemd's watchdog, fed only while the rotation turns, so that a hung panel gets the agent restarted.

A process that is alive is not enough: a backend stuck in ``display()`` (a hung SPI bus, a serial
adapter that stopped answering) holds the agent's lock and freezes the rotation while paho and every
other thread go on. Under systemd with ``Type=notify`` and ``WatchdogSec=``, systemd names a datagram
socket in ``NOTIFY_SOCKET`` and the watchdog period in ``WATCHDOG_USEC``: the agent says ``READY=1``
once started, then ``WATCHDOG=1`` every third of the period, but only while
``PanelAgent.rotation_heartbeat()`` (the monotonic time of the rotation thread's last turn) is recent.
When it is not, the pings stop and systemd restarts the agent ``WatchdogSec`` later.

The sd_notify(3) protocol is one datagram per message on an AF_UNIX socket (in the abstract namespace
when the name starts with "@"); it is spoken here with ``socket`` alone, so the agent needs no
libsystemd binding. Without ``NOTIFY_SOCKET`` (not under systemd, or not ``Type=notify``) nothing is
sent, and without ``WATCHDOG_USEC`` only ``READY=1`` and ``STOPPING=1`` are.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from panel_agent.agent.rotation import MAX_SLEEP_S

log = logging.getLogger(__name__)


class HasRotationHeartbeat(Protocol):
    def rotation_heartbeat(self) -> float:
        """Monotonic time of the rotation thread's last turn."""
        ...


def heartbeat_limit_s(backend_settings: Mapping[str, Any]) -> float:
    """How old the rotation's heartbeat may be before the agent counts as stuck.

    The rotation turns at least every MAX_SLEEP_S (30 s) even with nothing due; a turn also spends the
    time of a display, which a backend bounds itself with its timeout (``busy_timeout_s`` of an e-paper
    panel, ``timeout_s`` of a serial sign, per update or per packet). Twice each, so that one slow
    turn is never taken for a hang: 60 s for a simulated or matrix panel, 64 s for a serial sign and
    120 s for an e-paper panel with their default timeouts.
    """
    display_timeout_s = max(float(backend_settings.get(key, 0.0)) for key in ("busy_timeout_s", "timeout_s"))
    return 2 * MAX_SLEEP_S + 2 * display_timeout_s


def _socket_address(name: str) -> str | None:
    """The address to send to: a path, or "@name" as an abstract socket; None for what we cannot use."""
    if name.startswith("@"):
        return "\0" + name[1:]
    if name.startswith("/"):
        return name
    return None  # e.g. systemd's "vsock:" for virtual machines, never on a panel's board


class SystemdWatchdog:
    """``start()`` once the agent is started (READY=1 and the pings), ``stop()`` when it stops (STOPPING=1).

    ``environ`` is read once, in the constructor; the pings go from a daemon thread of their own.
    """

    def __init__(
        self,
        agent: HasRotationHeartbeat,
        *,
        stale_after_s: float,
        environ: Mapping[str, str] = os.environ,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._agent = agent
        self._stale_after_s = stale_after_s
        self._monotonic = monotonic
        self._address = _socket_address(environ.get("NOTIFY_SOCKET", ""))
        if environ.get("NOTIFY_SOCKET") and self._address is None:
            log.warning(
                "NOTIFY_SOCKET=%s is not a socket path: not talking to systemd", environ["NOTIFY_SOCKET"]
            )
        self.interval_s = self._ping_interval_s(environ)
        self._socket: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _ping_interval_s(environ: Mapping[str, str]) -> float | None:
        """A third of WATCHDOG_USEC, if the watchdog is on and meant for this process (WATCHDOG_PID)."""
        pid = environ.get("WATCHDOG_PID")
        if pid is not None and pid != str(os.getpid()):
            return None
        try:
            usec = int(environ.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        return usec / 3 / 1_000_000 if usec > 0 else None

    @property
    def enabled(self) -> bool:
        """Whether systemd listens at all (NOTIFY_SOCKET names a socket)."""
        return self._address is not None

    def notify(self, message: str) -> None:
        """Send one sd_notify message; a socket that cannot take it is logged, never fatal to the agent."""
        if self._address is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.sendto(message.encode(), self._address)
        except OSError as exc:
            log.warning("could not tell systemd %r: %s", message, exc)

    def start(self) -> None:
        """Say the agent is up; start pinging if systemd watches it."""
        if not self.enabled:
            return
        self.notify("READY=1")
        if self.interval_s is not None:
            log.info(
                "systemd watchdog: a ping every %.1f s while the rotation turns (stuck after %.0f s)",
                self.interval_s,
                self._stale_after_s,
            )
            self._thread = threading.Thread(
                target=self._ping, args=(self.interval_s,), name="relais-watchdog", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop pinging and tell systemd the agent is stopping, so a slow goodbye is not a hang."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.enabled:
            self.notify("STOPPING=1")
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _ping(self, interval_s: float) -> None:
        """Ping each interval while the heartbeat is recent; say once when it is not, and when it is again."""
        stuck = False
        while not self._stopping.wait(interval_s):
            age_s = self._monotonic() - self._agent.rotation_heartbeat()
            if age_s <= self._stale_after_s:
                if stuck:
                    log.warning("the rotation turns again; pinging systemd's watchdog again")
                    stuck = False
                self.notify("WATCHDOG=1")
            elif not stuck:
                log.error(
                    "the rotation has not turned for %.0f s (a panel stuck in display()?): no more "
                    "watchdog pings, systemd will restart the agent",
                    age_s,
                )
                stuck = True
