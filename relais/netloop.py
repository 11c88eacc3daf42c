"""Many paho clients driven from one thread: epoll through paho's external-loop API.

paho's own loop (``loop_start``, ``loop_forever``) gives each client a thread, a socket pair and a
``select()`` call, and ``select()`` fails silently on file descriptors past 1,024: hundreds of panels
simulated in one process (``panel_agent.fleet``), or a benchmark's hundreds of bare subscribers, need
one loop for all of them. This one waits on every socket at once (``selectors``: epoll on Linux),
reads and writes through ``loop_read``/``loop_write``, keeps the connections alive with ``loop_misc``,
runs timers, and reconnects each client as paho's loop would, with the same jittered backoff
(``relais.mqtt.jittered_reconnect_bounds``), so that a fleet that lost its broker does not knock again
in lockstep. Everything happens in the thread that calls ``run``, callbacks included.

Each client's socket is given to paho through ``relais.mqtt.BufferedSocket``, flushed once a round has
written all it had: a simulated panel's update (a schedule in; a PUBACK, its state and its events out)
is one ``recv`` and one ``send`` instead of about ten system calls.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from relais.mqtt import BrokerUrl, BufferedSocket, buffer_socket, jittered_reconnect_bounds

log = logging.getLogger(__name__)

# loop_misc (keepalive pings, a broker that stopped answering) for every client this often.
MISC_EVERY_S = 1.0


@dataclass(eq=False)
class _Link:
    """One client's connection bookkeeping: its broker, its backoff, and whether it should stay up."""

    client: mqtt.Client
    host: str
    port: int
    keepalive: int
    after_read: Callable[[], None] | None
    min_delay: float
    max_delay: float
    delay: float | None = None  # the last wait before reconnecting; None after a good connection
    wanted: bool = True  # False once disconnect() was asked: no reconnection then
    sock: BufferedSocket | None = None
    watching_write: bool = False  # the selector waits for the socket to take more


@dataclass(order=True)
class Timer:
    """A callback due at ``when`` (``time.monotonic``); ``cancel()`` before it runs and it never does."""

    when: float
    order: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ClientLoop:
    """Add clients with ``add``, then ``run``; ``wake()`` (any thread) makes ``run`` look at its condition."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._links: dict[mqtt.Client, _Link] = {}
        self._timers: list[Timer] = []
        self._order = itertools.count()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._next_misc = 0.0
        self._to_write: dict[_Link, None] = {}  # clients with packets queued, in order
        self._loop_thread: int | None = None

    def add(
        self,
        client: mqtt.Client,
        url: str,
        *,
        keepalive: int = 30,
        after_read: Callable[[], None] | None = None,
        connect_at: float | None = None,
    ) -> None:
        """Drive ``client``: connect it at ``connect_at`` (monotonic; now by default), and again whenever
        it is lost. ``after_read`` runs after each batch of packets it received has been handled."""
        broker = BrokerUrl.parse(url)
        min_delay, max_delay = jittered_reconnect_bounds()
        link = _Link(client, broker.host, broker.port, keepalive, after_read, min_delay, max_delay)
        self._links[client] = link
        opened = client.on_socket_open  # relais.mqtt's TCP_NODELAY, kept

        def on_open(client: mqtt.Client, userdata: Any, sock: Any) -> None:
            if opened is not None:
                opened(client, userdata, sock)
            link.sock = buffer_socket(client)
            link.watching_write = False
            self._selector.register(link.sock, selectors.EVENT_READ, link)

        client.on_socket_open = on_open
        client.on_socket_close = lambda _client, _userdata, sock: self._closed(link, sock)
        client.on_socket_register_write = lambda _c, _u, sock: self._watch(link, sock, write=True)
        client.on_socket_unregister_write = lambda _c, _u, sock: self._watch(link, sock, write=False)
        client.connect_async(broker.host, broker.port, keepalive=keepalive)
        self.call_at(time.monotonic() if connect_at is None else connect_at, lambda: self._connect(link))

    def disconnect(self, client: mqtt.Client) -> None:
        """Say goodbye to the broker (DISCONNECT: no last will) and never reconnect this client."""
        link = self._links[client]
        link.wanted = False
        client.disconnect()

    def connected_count(self) -> int:
        return sum(1 for client in self._links if client.is_connected())

    def open_count(self) -> int:
        """Clients with a socket open: a disconnection in progress still counts."""
        return sum(1 for link in self._links.values() if link.sock is not None)

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(when, next(self._order), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_w.send(b"\0")

    def run(self, until: Callable[[], bool], timeout: float | None = None) -> bool:
        """Serve every client until ``until()`` is true (checked after each round and each ``wake()``) or
        ``timeout`` seconds have passed; True if ``until()`` was met."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._loop_thread = threading.get_ident()
        while not until():
            self._write_queued()  # queued outside a round (a disconnect, a goodbye)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            wait = MISC_EVERY_S
            if self._timers:
                wait = min(wait, self._timers[0].when - now)
            if deadline is not None:
                wait = min(wait, deadline - now)
            for key, mask in self._selector.select(max(wait, 0.0)):
                if not isinstance(key.fileobj, BufferedSocket):  # the wake-up pipe; a client's is buffered
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                    continue
                self._serve(key.data, key.fileobj, mask)
                self._misc_when_due()  # a long round (a whole fleet's updates) must not miss a keepalive
            self._run_timers()
            self._misc_when_due()
            self._write_queued()
        return True

    def _misc_when_due(self) -> None:
        if time.monotonic() < self._next_misc:
            return
        self._next_misc = time.monotonic() + MISC_EVERY_S
        for link in self._links.values():
            if link.sock is not None:
                link.client.loop_misc()

    def close(self) -> None:
        """Drop every socket without a goodbye (the broker sends the last wills), then the loop's own."""
        for link in self._links.values():
            link.wanted = False
            if link.sock is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(link.sock)
                link.sock.close()
                link.sock = None
        self._selector.unregister(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()
        self._selector.close()

    # --- inside the loop ------------------------------------------------------------------------

    def _serve(self, link: _Link, sock: BufferedSocket, mask: int) -> None:
        client = link.client
        if mask & selectors.EVENT_READ:
            client.loop_read()
            # paho reads a few packets at a time; the rest of what one recv brought is not the kernel's
            # any more, so epoll would not tell of it again.
            while link.sock is sock and sock.pending():
                client.loop_read()
            if link.after_read is not None:
                try:
                    link.after_read()
                except Exception:
                    log.exception("error after reading for a client of %s:%d", link.host, link.port)
        # The read may have closed this socket, or a reconnection opened another one. What the read
        # queued (PUBACKs, an agent's state and events) goes out now, not after every other client
        # ready in this round has been served: a fleet's confirmations stream out as each is made.
        if link.sock is sock and (mask & selectors.EVENT_WRITE or client.want_write() or sock.unsent):
            self._to_write.pop(link, None)
            self._send(link)

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0].when <= now:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            try:
                timer.callback()
            except Exception:
                log.exception("error in a timer of the client loop")

    def _watch(self, link: _Link, sock: Any, *, write: bool) -> None:
        """paho has packets to send (or none left). In the loop's thread they are sent at the end of
        the round, without asking the selector: asking costs two system calls per message, and an
        agent publishes at every update. Only a socket that will not take them all is watched."""
        if link.sock is not sock or sock is None:
            return
        if write and threading.get_ident() == self._loop_thread:
            self._to_write[link] = None
        elif write or not sock.unsent:
            self._watch_write(link, write)

    def _watch_write(self, link: _Link, write: bool) -> None:
        if write != link.watching_write and link.sock is not None:
            link.watching_write = write
            self._selector.modify(
                link.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if write else 0), link
            )

    def _write_queued(self) -> None:
        """Send what the round queued; a socket that cannot take it all now is watched until it can."""
        while self._to_write:
            link = next(iter(self._to_write))
            del self._to_write[link]
            if link.sock is not None and (link.client.want_write() or link.sock.unsent):
                self._send(link)

    def _send(self, link: _Link) -> None:
        """paho writes its packets into the socket's buffer, which goes to the kernel in one ``send``."""
        sock = link.sock
        link.client.loop_write()
        if link.sock is not sock or sock is None:
            return  # paho closed it (a DISCONNECT was among the packets)
        sock.flush()
        if sock.failed:
            link.client.loop_read()  # paho learns of the broken connection where it looks for it
        elif link.sock is sock:
            self._watch_write(link, bool(sock.unsent or link.client.want_write()))

    def _connect(self, link: _Link) -> None:
        if not link.wanted:
            return
        try:
            link.client.reconnect()
        except OSError as exc:
            log.debug("could not reach the broker at %s:%d: %s", link.host, link.port, exc)
            self._retry_later(link)

    def _closed(self, link: _Link, sock: Any) -> None:
        """A connection is over: reconnect after the backoff's wait, unless we were asked to disconnect."""
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        if link.sock is sock:
            link.sock = None
        if not link.wanted:
            return
        if link.client.is_connected():  # it was up: start the backoff again from its first wait
            link.delay = None
        self._retry_later(link)

    def _retry_later(self, link: _Link) -> None:
        """paho's backoff: the first wait, then twice the last one, up to the longest."""
        link.delay = link.min_delay if link.delay is None else min(link.delay * 2, link.max_delay)
        self.call_at(time.monotonic() + link.delay, lambda: self._connect(link))
