"""A webhook receiver on loopback, as an app or a website would run one: it checks each request's
signature with the secret of the URL it was given, keeps the bodies that hold and refuses the others."""

from __future__ import annotations

import http.server
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from controller.publishing.destinations import Destinations
from relais.webhook_signing import SIGNATURE_HEADER, SignatureError, verify
from tests.support import http_served

# The receivers here listen on loopback: a private address, which webhooks reach only when named.
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
LOOPBACK = Destinations.of(LOOPBACK_NETWORKS)


class WebhookReceiver:
    """``url`` to subscribe; ``trust`` each subscription's secret; ``status`` to answer, after ``delay_s``
    (a slow receiver); ``bodies`` kept, each with the time it was ``signed_at``. ``clock(body)`` is the receiver's now (the real time unless
    a test ticks at chosen times)."""

    def __init__(self, url: str, clock: Callable[[bytes], float]) -> None:
        self.url = url
        self.clock = clock
        self.status = 204
        self.delay_s = 0.0
        self.secrets: dict[str, bytes] = {}
        self.bodies: list[dict[str, Any]] = []

    def trust(self, url: str, secret: str) -> None:
        parts = urlsplit(url)
        self.secrets[parts.path + (f"?{parts.query}" if parts.query else "")] = secret.encode()

    def take(self, path: str, body: bytes, header: str) -> int:
        """The status to answer one request: 401 when its signature does not hold."""
        try:
            signed_at = verify(self.secrets[path], body, header, now=self.clock(body))
        except (KeyError, SignatureError):
            return 401
        self.bodies.append({**json.loads(body), "signed_at": signed_at})
        time.sleep(self.delay_s)
        return self.status


@contextmanager
def webhook_receiver(
    clock: Callable[[bytes], float] = lambda _body: time.time(),
) -> Iterator[WebhookReceiver]:
    with http_served(_Handler) as server:
        receiver = WebhookReceiver(f"http://127.0.0.1:{server.server_port}/hook", clock)
        server.receiver = receiver  # type: ignore[attr-defined]
        yield receiver


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        receiver: WebhookReceiver = self.server.receiver  # type: ignore[attr-defined]
        self.send_response(receiver.take(self.path, body, self.headers.get(SIGNATURE_HEADER, "")))
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass
