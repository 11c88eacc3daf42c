"""Broker URLs and paho-mqtt clients set up the same way on both sides; which MQTT a broker speaks."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

SCHEMES = {"mqtt": (1883, False), "mqtts": (8883, True)}
# MQTT 5's "never" for a session's expiry: what a 3.1.1 session with clean_session=False gets, so that
# what was queued for a client waits for it however long it is away. The broker may lower it.
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
# How long a probe connection waits for the broker's CONNACK, and the keepalive it announces.
PROBE_TIMEOUT_S = 5.0
PROBE_KEEPALIVE_S = 10
# What a broker without MQTT 5 may answer a v5 CONNECT with: 3.1.1's return code 1, which paho names
# so. Others (RabbitMQ 3.10) close the connection without a CONNACK.
UNSUPPORTED_PROTOCOL = ReasonCode(PacketTypes.CONNACK, "Unsupported protocol version")


@dataclass(frozen=True)
class BrokerUrl:
    """``mqtt://[user:password@]host[:port]`` or ``mqtts://…`` for TLS."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError(f"broker URL {url!r} must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host")
        default_port, tls = SCHEMES[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise ValueError(f"broker URL {url!r} has an invalid port") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def new_client(
    client_id: str,
    url: str,
    *,
    ca_file: str | None = None,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
    reconnect_bounds: tuple[float, float] | None = None,
) -> mqtt.Client:
    """A client that reconnects by itself once ``connect_in_background`` is called, with a session that
    outlives disconnections: clean_session=False in 3.1.1, and in MQTT 5 what ``connect_in_background``
    asks for.

    paho's reconnect backoff has no jitter; randomising each client's bounds keeps a fleet that lost
    its broker at the same moment from knocking again in lockstep. A lone client (the controller) may
    pass its own ``reconnect_bounds``: it has no fleet to spread, and waits on it.
    """
    client = _client_for(
        BrokerUrl.parse(url), client_id, protocol, ca_file, persistent=True, client_class=BufferedClient
    )
    min_delay, max_delay = reconnect_bounds or jittered_reconnect_bounds()
    # paho annotates whole seconds but computes in floats: the jitter needs fractions.
    client.reconnect_delay_set(min_delay=min_delay, max_delay=max_delay)  # type: ignore[arg-type]
    client.on_socket_open = _opened
    return client


def _client_for(
    broker: BrokerUrl,
    client_id: str,
    protocol: MQTTProtocolVersion,
    ca_file: str | None,
    *,
    persistent: bool,
    reconnect_on_failure: bool = True,
    client_class: type[mqtt.Client] = mqtt.Client,
) -> mqtt.Client:
    """A client with the URL's credentials and TLS; MQTT 5 takes its session options when connecting."""
    client = client_class(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        clean_session=None if protocol == MQTTProtocolVersion.MQTTv5 else not persistent,
        reconnect_on_failure=reconnect_on_failure,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
    return client


@dataclass(frozen=True)
class Negotiated:
    """What a broker told a probe: the protocol to speak and, with MQTT 5, its Receive Maximum (how
    many QoS 1 publishes it takes unacknowledged; 0 when it sets none), which paho does not enforce."""

    protocol: MQTTProtocolVersion
    receive_maximum: int = 0


def negotiate_protocol(
    url: str, *, client_id: str, ca_file: str | None = None, timeout: float = PROBE_TIMEOUT_S
) -> Negotiated | None:
    """MQTT 5 when the broker takes it, else 3.1.1 when it takes that; None when it answered neither
    (unreachable, TLS refused, connection closed): ask again later.

    A broker that answers a v5 CONNECT in MQTT 5, even to refuse the credentials, speaks MQTT 5. One
    without it refuses the protocol version (return code 1) or drops the connection; then a 3.1.1
    CONNECT that gets any CONNACK settles it. The probes use ``client_id``, not the caller's own, yet
    resume a session rather than start clean, and acknowledge nothing: a broker that binds client ids
    to user names (``relais broker``) gives them the caller's id, and a clean start would wipe the
    caller's session, with what panels sent meanwhile; what the broker hands a probe is not
    acknowledged, so it hands it again to the caller. Elsewhere the probes keep one empty session of
    their own.
    """
    answer = _connack(url, client_id, MQTTProtocolVersion.MQTTv5, ca_file, timeout)
    if answer is not None and answer[0] != UNSUPPORTED_PROTOCOL:
        return Negotiated(MQTTProtocolVersion.MQTTv5, getattr(answer[1], "ReceiveMaximum", 0))
    if _connack(url, client_id, MQTTProtocolVersion.MQTTv311, ca_file, timeout) is not None:
        return Negotiated(MQTTProtocolVersion.MQTTv311)
    return None


def _connack(
    url: str, client_id: str, protocol: MQTTProtocolVersion, ca_file: str | None, timeout: float
) -> tuple[ReasonCode, Properties] | None:
    """The broker's answer to one CONNECT resuming a session; None if none came in time.

    paho's own reaction to a refused 3.1.1 CONNECT (trying MQTT 3.1) is switched off: a refusal is the
    answer we want.
    """
    broker = BrokerUrl.parse(url)
    client = _client_for(broker, client_id, protocol, ca_file, persistent=True, reconnect_on_failure=False)
    client.manual_ack_set(True)  # and never acknowledged: see ``negotiate_protocol``
    answers: list[tuple[ReasonCode, Properties]] = []
    client.on_connect = lambda _client, _userdata, _flags, reason_code, properties: answers.append(
        (reason_code, properties)
    )
    try:
        if protocol == MQTTProtocolVersion.MQTTv5:
            client.connect(
                broker.host,
                broker.port,
                keepalive=PROBE_KEEPALIVE_S,
                clean_start=False,
                properties=_lasting_session(),
            )
        else:
            client.connect(broker.host, broker.port, keepalive=PROBE_KEEPALIVE_S)
        deadline = time.monotonic() + timeout
        while not answers and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
                break
    except OSError as exc:
        log.warning("could not reach the broker at %s:%s: %s", broker.host, broker.port, exc)
        return None
    finally:
        client.disconnect()  # closes the connection if the broker has not
    return answers[0] if answers else None


def expiry_properties(expires_at: float, now: float) -> Properties:
    """MQTT 5 PUBLISH properties that have the broker drop the message at ``expires_at``: as the retained
    message of its topic, and from the queue of a session still offline then.

    At least one second: an interval of 0 would mean "no expiry" to some brokers (Mosquitto).
    """
    return _expiry_after(max(1, math.ceil(expires_at - now)))


class _PackedOnce(Properties):
    """Properties packed once, when ``freeze`` is called after they are set: paho packs a PUBLISH's
    properties at every send, by walking every property name MQTT 5 has."""

    _packed: bytes

    def freeze(self) -> _PackedOnce:
        object.__setattr__(self, "_packed", super().pack())  # paho's own setattr takes property names only
        return self

    def pack(self) -> bytes:
        return self._packed


@functools.lru_cache(maxsize=64)
def _expiry_after(seconds: int) -> Properties:
    """Shared, never changed: a department's thousand schedules expire at the same second, and building
    and packing a ``Properties`` costs more than the rest of a publish."""
    properties = _PackedOnce(PacketTypes.PUBLISH)
    properties.MessageExpiryInterval = seconds
    return properties.freeze()


def forget_redeliveries(client: mqtt.Client, topic_filter: str) -> int:
    """Drop the publishes paho keeps to send again once reconnected, on topics ``topic_filter`` matches;
    how many were dropped.

    paho sends them after ``on_connect`` returns, in the order they were first published: for a caller
    that publishes again from its own store in ``on_connect``, an unacknowledged older retained message
    would arrive after the newer one and stay retained. Called from ``on_connect`` (paho 2.x keeps them in
    the private ``_out_messages``, under a reentrant lock it also holds while resending): the third place
    Relais reaches into paho.
    """
    with client._out_message_mutex:
        stale = [
            mid
            for mid, message in client._out_messages.items()
            if mqtt.topic_matches_sub(topic_filter, message.topic)
        ]
        for mid in stale:
            del client._out_messages[mid]
    return len(stale)


def jittered_reconnect_bounds() -> tuple[float, int]:
    """One client's first wait before reconnecting (0.5 to 1.5 s) and its longest (30 to 60 s).

    The wait doubles after each failure, from one bound to the other (paho's backoff, and
    ``relais.netloop`` for clients driven by hand); drawn per client, so a fleet that lost its broker
    at the same moment spreads its retries over a second at first, and over half a minute later.
    """
    return random.uniform(0.5, 1.5), random.randint(30, 60)


# What one recv asks the kernel for: a burst of a few packets, or one schedule of a few kilobytes.
RECV_CHUNK = 65536


class BufferedSocket:
    """paho's socket, read from the kernel in chunks and written in one ``send`` per round.

    paho reads a packet in three or four ``recv`` calls and writes each packet with its own ``send``; on
    a virtual machine a system call on a loopback socket costs tens of microseconds, more than the
    Python around it. Here paho's reads are served from what one ``recv`` brought (``pending()`` tells
    how much is left, as an SSL socket's does, so paho's own loop reads it without waiting); ``send``
    keeps the bytes until ``flush``, once paho has written all it had (``BufferedClient.loop_write``,
    or the loop that drives the client). A connection that failed in ``flush`` is reported to paho at
    its next read, where it looks for it. Everything else goes to the socket itself.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._in = b""
        self._in_at = 0
        self._out = bytearray()
        self._failed: OSError | None = None

    def recv(self, size: int) -> bytes:
        if self._failed is not None:
            raise self._failed
        if self._in_at >= len(self._in):
            data = self._sock.recv(max(size, RECV_CHUNK))
            if len(data) <= size:
                return data
            self._in, self._in_at = data, 0
        start = self._in_at
        self._in_at = min(start + size, len(self._in))
        return self._in[start : self._in_at]

    def pending(self) -> int:
        """Bytes received and not read yet, here and in an SSL socket's own buffer; 1 once a send
        failed, so that paho reads at once and learns of it."""
        if self._failed is not None:
            return 1
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._in) - self._in_at + inner

    def send(self, data: bytes | bytearray | memoryview) -> int:
        self._out += data
        return len(data)

    @property
    def unsent(self) -> int:
        return len(self._out)

    @property
    def failed(self) -> bool:
        return self._failed is not None

    def flush(self) -> None:
        """Send what was kept, as much as the socket takes now; the rest waits for the next flush."""
        while self._out and self._failed is None:
            try:
                sent = self._sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            except OSError as exc:
                self._failed = exc
                return
            del self._out[:sent]

    def close(self) -> None:
        """What paho wrote last (a DISCONNECT, so that the broker keeps the last will) goes first."""
        self.flush()
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def buffer_socket(client: mqtt.Client) -> BufferedSocket:
    """Put the socket paho has just opened (``on_socket_open``) behind a ``BufferedSocket``, once.

    paho keeps its socket in the private ``_sock``, set before it calls ``on_socket_open`` and read
    back at every use (paho 2.x): with its wake-up pipe (``BufferedClient.loop_start``), two of the three
    places Relais reaches into paho.
    """
    sock = client._sock
    if not isinstance(sock, BufferedSocket):
        sock = client._sock = BufferedSocket(sock)
    return sock


class _Wakeup:
    """The writing end of paho's wake-up pipe, written once between two looks of its network thread.

    paho writes a byte to it for every packet queued from another thread (a publish, a PUBACK of a
    recorded report), so that its thread leaves ``select`` and writes: a system call per packet, and
    each gives the GIL away, a thousand times in a department's fan-out. One byte is enough until the
    network thread looks at its queue again: it does before each ``select`` (``want_write``, which
    disarms this), and a packet queued after that look finds the pipe unarmed and writes its byte.
    While a thread queues a batch (``queued_together``), the byte waits for the end of the batch.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.armed = False
        self._holders = 0
        self._held_back = False
        self._holding = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._holding:  # so that the last holder's release sees what was held back
            if self._holders:
                self._held_back = True
                return len(data)
        if self.armed:
            return len(data)
        self.armed = True
        return self._sock.send(data)

    def hold(self) -> None:
        with self._holding:
            self._holders += 1

    def release(self) -> None:
        with self._holding:
            self._holders -= 1
            wake = self._holders == 0 and self._held_back
            if wake:
                self._held_back = False
        if wake:
            self.send(b"0")

    def close(self) -> None:
        self._sock.close()


@contextlib.contextmanager
def queued_together(client: mqtt.Client) -> Iterator[None]:
    """Packets queued in this block (a batch of PUBACKs, a hundred publishes) wake paho's network
    thread once, at the end, and leave in one write; without paho's own thread, nothing changes."""
    wakeup = getattr(client, "_sockpairW", None)
    if not isinstance(wakeup, _Wakeup):
        yield
        return
    wakeup.hold()
    try:
        yield
    finally:
        wakeup.release()


class BufferedClient(mqtt.Client):
    """paho's client over a ``BufferedSocket`` (``new_client`` installs it): everything one
    ``loop_write`` writes goes to the kernel in one ``send``; with paho's own network thread, packets
    queued from other threads wake it once per round (``_Wakeup``), not once each."""

    def loop_start(self) -> MQTTErrorCode:
        rc = super().loop_start()
        # paho makes the pipe in loop_start and keeps it in the private _sockpairW until loop_stop.
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sockpairW is not None:
            # paho only sends to it and closes it, which _Wakeup does.
            self._sockpairW = _Wakeup(self._sockpairW)  # type: ignore[assignment]
        return rc

    def loop_write(self) -> MQTTErrorCode:
        rc = super().loop_write()
        sock = self._sock
        if isinstance(sock, BufferedSocket) and sock.unsent:
            sock.flush()
            if not self.want_write():
                # paho asked for write events while the bytes were only buffered; once more with
                # nothing queued, and it withdraws the request (on_socket_unregister_write).
                super().loop_write()
        return rc

    def want_write(self) -> bool:
        """Also while the kernel has not taken all that was written: paho's loop then waits to send it.

        paho's network thread asks before each ``select``: a packet queued from now on wakes it again."""
        wakeup = self._sockpairW
        if isinstance(wakeup, _Wakeup):
            wakeup.armed = False
        sock = self._sock
        return super().want_write() or (isinstance(sock, BufferedSocket) and sock.unsent > 0)


def no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """MQTT packets are small: Nagle's algorithm meeting delayed ACKs would add ~40 ms per hop."""
    # Not a TCP socket (a Unix socket, a websocket wrapper): nothing to tune.
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _opened(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    no_delay(client, userdata, sock)
    buffer_socket(client)


def connect_in_background(client: mqtt.Client, url: str, keepalive: int = 30) -> None:
    """Start the network thread; it keeps trying to (re)connect whether or not the broker is up now.

    With MQTT 5, the session is resumed (no clean start, not even the first time) and never expires:
    what clean_session=False gives in 3.1.1.
    """
    broker = BrokerUrl.parse(url)
    if client.protocol == MQTTProtocolVersion.MQTTv5:
        client.connect_async(
            broker.host, broker.port, keepalive=keepalive, clean_start=False, properties=_lasting_session()
        )
    else:
        client.connect_async(broker.host, broker.port, keepalive=keepalive)
    client.loop_start()


def _lasting_session() -> Properties:
    """MQTT 5 CONNECT properties of a session that never expires, as 3.1.1's clean_session=False."""
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = SESSION_NEVER_EXPIRES
    return session


def broker_url_with_credentials(broker_url: str, username: str, password: str) -> str:
    """``mqtt://host:port`` with ``username:password@`` in it, each part quoted for a URL.

    A URL that already names a user is refused: silently replacing it would hide a mistake.
    """
    parts = urlsplit(broker_url)
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"broker URL {parts.scheme}://{parts.hostname}…: leave the user out, it is added")
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))
