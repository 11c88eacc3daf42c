"""Broker URLs and paho-mqtt clients set up the same way on both sides."""

from __future__ import annotations

import contextlib
import random
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

SCHEMES = {"mqtt": (1883, False), "mqtts": (8883, True)}


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


def new_client(client_id: str, url: str, *, ca_file: str | None = None) -> mqtt.Client:
    """A client that reconnects by itself once ``connect_async`` and ``loop_start`` are called.

    paho's reconnect backoff has no jitter; randomising each client's bounds keeps a fleet that lost
    its broker at the same moment from knocking again in lockstep.
    """
    broker = BrokerUrl.parse(url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=False,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
    min_delay, max_delay = jittered_reconnect_bounds()
    client.reconnect_delay_set(min_delay=min_delay, max_delay=max_delay)
    client.on_socket_open = no_delay
    return client


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
    """Start the network thread; it keeps trying to (re)connect whether or not the broker is up now."""
    broker = BrokerUrl.parse(url)
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
