"""Official alert sources for the tests: a real HTTP server on loopback serving MeteoAlarm-shaped feeds
and CAP documents (with ETag and conditional requests, like MeteoAlarm's), the test documents moved to
today so that they stay current whatever the day, and a feed built from them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from flask import Flask

from programs.demo_feed import answer_with_etag
from tests.support import REPO, http_served

DOCUMENTS = REPO / "tests" / "controller" / "official" / "documents"
# The moment the test documents are written for: Monday 7 December 2026, 8 h in Paris.
WRITTEN_FOR = datetime(2026, 12, 7, 7, tzinfo=UTC)
_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})([+-]\d{2}:\d{2}|Z)")


def document(name: str, now: datetime | None = None) -> bytes:
    """A test document with every date moved by as much as ``now`` (default: now) is past the moment it
    was written for: its warning is as current today as it was then."""
    shift = (now or datetime.now(UTC)) - WRITTEN_FOR

    def moved(match: re.Match[str]) -> str:
        moment = datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        return (moment + shift).isoformat(timespec="seconds")

    return _MOMENT.sub(moved, (DOCUMENTS / name).read_text(encoding="utf-8")).encode()


def atom_feed(base_url: str, entries: list[tuple[str, bytes]]) -> bytes:
    """A MeteoAlarm-shaped Atom feed: one entry per (path, CAP document) and per area of it, linking to
    ``base_url + path`` with its identifier, message type, expiry and geocodes in the cap: elements."""
    parts = []
    for path, cap in entries:
        text = cap.decode()
        identifier = re.search(r"<identifier>(.*?)</identifier>", text).group(1)  # type: ignore[union-attr]
        msg_type = re.search(r"<msgType>(.*?)</msgType>", text).group(1)  # type: ignore[union-attr]
        expires = re.search(r"<expires>(.*?)</expires>", text).group(1)  # type: ignore[union-attr]
        for scheme, value in sorted(
            set(re.findall(r"<valueName>(NUTS3)</valueName>\s*<value>(.*?)</value>", text))
        ):
            parts.append(
                f"""  <entry>
    <cap:geocode><valueName>{scheme}</valueName><value>{value}</value></cap:geocode>
    <cap:expires>{expires}</cap:expires>
    <cap:message_type>{msg_type}</cap:message_type>
    <cap:status>Actual</cap:status>
    <cap:identifier>{identifier}</cap:identifier>
    <link href="{base_url}{path}" type="application/cap+xml"/>
  </entry>"""
            )
    body = "\n".join(parts)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <id>tag:meteoalarm.org,2021-02-19:FR</id>
  <title>MeteoAlarm - Alerting Europe for Extreme Weather</title>
{body}
</feed>
""".encode()


class FeedServer:
    """What the loopback server answers, path by path; every request is counted by path."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.files: dict[str, bytes] = {}
        self.delays: dict[str, float] = {}  # path: seconds before answering (a slow or stuck server)
        self.requests: list[tuple[str, str | None]] = []  # (path, If-None-Match)
        self.redirects: dict[str, str] = {}  # path: where a 302 sends the client

    def serve(self, path: str, body: bytes) -> str:
        self.files[path] = body
        return self.url + path

    def redirect(self, path: str, location: str) -> str:
        self.redirects[path] = location
        return self.url + path


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on a free loopback port, in a thread, stopped when the block ends."""
    with http_served(_Handler) as server:
        state = FeedServer(f"http://127.0.0.1:{server.server_port}")
        server.feeds = state  # type: ignore[attr-defined]
        yield state


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        state: FeedServer = self.server.feeds  # type: ignore[attr-defined]
        state.requests.append((self.path, self.headers.get("If-None-Match")))
        time.sleep(state.delays.get(self.path, 0))
        if self.path in state.redirects:
            self.send_response(302)
            self.send_header("Location", state.redirects[self.path])
            self.end_headers()
            return
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        answer_with_etag(self, body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read ``requests``."""


def poll_sources(app: Flask, ahead_s: float = 0) -> None:
    """One poll of every source due now (or ``ahead_s`` later), as the controller's job runs every few
    seconds in service, waited for."""
    jobs = app.extensions["relais.jobs"]
    for started in jobs.sources.poll_due(jobs.feeds, time.time() + ahead_s):
        started.result(timeout=60)
