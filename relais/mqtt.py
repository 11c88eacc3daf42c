"""Broker URLs and paho-mqtt clients set up the same way on both sides; which MQTT a broker speaks."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import random
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
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
) -> mqtt.Client:
    """A client that reconnects by itself once ``connect_in_background`` is called, with a session that
    outlives disconnections: clean_session=False in 3.1.1, and in MQTT 5 what ``connect_in_background``
    asks for.

    paho's reconnect backoff has no jitter; randomising each client's bounds keeps a fleet that lost
    its broker at the same moment from knocking again in lockstep.
    """
    client = _client_for(BrokerUrl.parse(url), client_id, protocol, ca_file, persistent=True)
    min_delay, max_delay = jittered_reconnect_bounds()
    client.reconnect_delay_set(min_delay=min_delay, max_delay=max_delay)
    client.on_socket_open = no_delay
    return client


def _client_for(
    broker: BrokerUrl,
    client_id: str,
    protocol: MQTTProtocolVersion,
    ca_file: str | None,
    *,
    persistent: bool,
    reconnect_on_failure: bool = True,
) -> mqtt.Client:
    """A client with the URL's credentials and TLS; MQTT 5 takes its session options when connecting."""
    client = mqtt.Client(
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
    CONNECT that gets any CONNACK settles it. The probes use ``client_id``, never the caller's own
    (their clean start would wipe its session), and ask for no session, so they leave nothing behind.
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
    """The broker's answer to one CONNECT with a clean, session-less start; None if none came in time.

    paho's own reaction to a refused 3.1.1 CONNECT (trying MQTT 3.1) is switched off: a refusal is the
    answer we want.
    """
    broker = BrokerUrl.parse(url)
    client = _client_for(broker, client_id, protocol, ca_file, persistent=False, reconnect_on_failure=False)
    answers: list[tuple[ReasonCode, Properties]] = []
    client.on_connect = lambda _client, _userdata, _flags, reason_code, properties: answers.append(
        (reason_code, properties)
    )
    try:
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


@functools.lru_cache(maxsize=64)
def _expiry_after(seconds: int) -> Properties:
    """Shared, never changed (paho only packs them): a department's thousand schedules expire at the
    same second, and building a ``Properties`` costs more than the rest of a publish."""
    properties = Properties(PacketTypes.PUBLISH)
    properties.MessageExpiryInterval = seconds
    return properties


def jittered_reconnect_bounds() -> tuple[float, int]:
    """One client's first wait before reconnecting (0.5 to 1.5 s) and its longest (30 to 60 s).

    The wait doubles after each failure, from one bound to the other (paho's backoff, and
    ``relais.netloop`` for clients driven by hand); drawn per client, so a fleet that lost its broker
    at the same moment spreads its retries over a second at first, and over half a minute later.
    """
    return random.uniform(0.5, 1.5), random.randint(30, 60)


def no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """MQTT packets are small: Nagle's algorithm meeting delayed ACKs would add ~40 ms per hop."""
    # Not a TCP socket (a Unix socket, a websocket wrapper): nothing to tune.
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect_in_background(client: mqtt.Client, url: str, keepalive: int = 30) -> None:
    """Start the network thread; it keeps trying to (re)connect whether or not the broker is up now.

    With MQTT 5, the session is resumed (no clean start, not even the first time) and never expires:
    what clean_session=False gives in 3.1.1.
    """
    broker = BrokerUrl.parse(url)
    if client.protocol == MQTTProtocolVersion.MQTTv5:
        session = Properties(PacketTypes.CONNECT)
        session.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        client.connect_async(
            broker.host, broker.port, keepalive=keepalive, clean_start=False, properties=session
        )
    else:
        client.connect_async(broker.host, broker.port, keepalive=keepalive)
    client.loop_start()


def broker_url_with_credentials(broker_url: str, username: str, password: str) -> str:
    """``mqtt://host:port`` with ``username:password@`` in it, each part quoted for a URL.

    A URL that already names a user is refused: silently replacing it would hide a mistake.
    """
    parts = urlsplit(broker_url)
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"broker URL {parts.scheme}://{parts.hostname}…: leave the user out, it is added")
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))
