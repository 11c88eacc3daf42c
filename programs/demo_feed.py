"""``relais demo --cap-feed PATH_OR_URL``: the demo's official alert source, for the prefecture of the Ain.

- ``sample``: the shipped sample (``programs.cap_sample``), a MeteoAlarm-shaped Atom feed with an orange
  snow-ice warning for the Ain, written into the data folder and served on loopback;
- a URL: an Atom feed or a CAP document, as its content says;
- a file: served on loopback and read again at each poll, so a new version dropped in its place updates
  the alert; an Atom feed's relative links are resolved against it, as RFC 4287 says;
- a folder: a folder source, where each file dropped is taken in, then moved to ``processed/``.

The source is polled every 10 s under the organisation's rules (Météo-France's shipped ones, from its first
source on: orange and red after approval, or on their own 15 minutes later). It lives as long as the demo.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from sqlite_utils import Database

from controller.domain import accounts, audit, official_alerts
from controller.official.atom import MAX_FEED_BYTES, read_feed
from controller.official.cap import read_cap
from controller.official.safe_xml import OfficialAlertError, local_name, read_xml
from controller.publishing.official_feeds import SourceError, fetch
from controller.storage.db import transaction
from programs.cap_sample import FEED_NAME, SENDER, sample_identifiers, write_sample

SAMPLE = "sample"
SAMPLE_DIR = "cap-sample"
ORGANISATION = "prefecture-ain"  # the demo's prefecture account's organisation
SOURCE_NAME = "Démo : --cap-feed"
POLL_INTERVAL_S = 10


class FeedError(Exception):
    """A ``--cap-feed`` the demo cannot use, in words for the command line."""


@dataclass(frozen=True)
class CapFeed:
    """What ``--cap-feed`` names: a URL read as it is, a file served on loopback, a folder, or the sample."""

    kind: str  # the source's kind: atom, cap or folder
    url: str | None = None  # read as it is
    file: Path | None = None  # served on loopback; for the sample, written there first
    folder: Path | None = None
    sample: bool = False


def cap_feed(spec: str, data_dir: Path) -> CapFeed:
    """Check what ``--cap-feed`` names before anything starts; raises ``FeedError`` saying what is wrong."""
    if not spec.strip():
        raise FeedError("needs a MeteoAlarm Atom feed, a CAP document, a folder, an http(s) URL, or 'sample'")
    if spec == SAMPLE:
        return CapFeed("atom", file=data_dir.resolve() / SAMPLE_DIR / FEED_NAME, sample=True)
    if urlsplit(spec).scheme in ("http", "https"):
        try:
            body = fetch(spec, MAX_FEED_BYTES).body or b""
        except SourceError as error:
            raise FeedError(str(error)) from None
        return CapFeed(_kind(body, spec), url=spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        return CapFeed("folder", folder=path.resolve())
    if not path.is_file():
        raise FeedError(f"{spec}: no such file or folder")
    if path.stat().st_size > MAX_FEED_BYTES:
        raise FeedError(f"{spec}: more than the {MAX_FEED_BYTES} bytes a feed may have")
    return CapFeed(_kind(path.read_bytes(), spec), file=path.resolve())


def _kind(body: bytes, name: str) -> str:
    """``atom`` or ``cap``, by what the document is, read as the controller will read it."""
    try:
        root = local_name(read_xml(body, "the file", MAX_FEED_BYTES))
        if root == "feed":
            read_feed(body, datetime.now(UTC))
            return "atom"
        if root == "alert":
            read_cap(body)
            return "cap"
    except OfficialAlertError as error:
        raise FeedError(f"{name}: {error}") from None
    raise FeedError(
        f"{name}: neither a MeteoAlarm Atom feed nor a CAP document (its root element is <{root}>)"
    )


def prepare_sample(db: Database, folder: Path) -> None:
    """Write a fresh sample, unless the one there is still pending or on the panels: the demo then goes on
    with it, as the panels do."""
    identifiers = sample_identifiers(folder)
    if identifiers and (folder / FEED_NAME).is_file():
        marks = ",".join("?" * len(identifiers))
        live = db.execute(
            f"select 1 from official_alerts where organisation = ? and sender = ? and identifier in ({marks})"
            f" and status in ({','.join('?' * len(official_alerts.LIVE))})"
            " and (expires_at is null or expires_at > ?)",
            [ORGANISATION, SENDER, *identifiers, *official_alerts.LIVE, int(time.time())],
        ).fetchone()
        if live:
            return
    write_sample(folder, datetime.now(UTC))


def replace_source(db: Database, feed: CapFeed | None, served_at: str | None) -> dict[str, Any] | None:
    """Remove the source an earlier demo left (its server is gone), then add this one's, as the demo's
    administrator, for the prefecture; both in the audit log. None without ``--cap-feed``."""
    admin = accounts.user_by_name(db, "admin")
    if admin is None:
        raise RuntimeError("the demo has no admin account: ensure_demo_accounts makes it")
    actor = accounts.actor_from_row(admin)
    with transaction(db):
        earlier = db.query(
            "select id from alert_sources where organisation = ? and name = ?", [ORGANISATION, SOURCE_NAME]
        )
        for row in list(earlier):
            before = official_alerts.get_source(db, row["id"], actor)
            official_alerts.delete_source(db, row["id"], actor)
            audit.record(db, actor, "alert_source.delete", "alert_source", row["id"], before, None)
        if feed is None:
            return None
        location = served_at or feed.url or str(feed.folder)
        source_id = official_alerts.create_source(
            db,
            {
                "name": SOURCE_NAME,
                "kind": feed.kind,
                "location": location,
                "poll_interval_s": POLL_INTERVAL_S,
                "organisation": ORGANISATION,
            },
            actor,
            time.time(),
        )
        source = official_alerts.get_source(db, source_id, actor)
        audit.record(db, actor, "alert_source.create", "alert_source", source_id, None, source)
    return source


@contextmanager
def serving(file: Path) -> Iterator[str]:
    """Serve ``file``'s folder on a free loopback port while the block runs; the file's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FeedFiles)
    server.root = file.parent.resolve()  # type: ignore[attr-defined]
    server.base = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="demo-cap-feed", daemon=True)
    thread.start()
    try:
        yield f"{server.base}/{quote(file.name)}"  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


_LINK = re.compile(rb"(<(?:\w+:)?link\b[^>]*?\bhref=\")([^\"]+)(\")")


class _FeedFiles(BaseHTTPRequestHandler):
    """The files of one folder, read at each request, with an ETag (a poll of an unchanged file is a 304)."""

    def do_GET(self) -> None:
        root: Path = self.server.root  # type: ignore[attr-defined]
        path = (root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            self.send_error(404)
            return
        address = self.server.base + urlsplit(self.path).path  # type: ignore[attr-defined]
        body = _LINK.sub(
            lambda link: link[1] + urljoin(address, link[2].decode()).encode() + link[3], path.read_bytes()
        )
        answer_with_etag(self, body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the source's health says how its polls went."""


def answer_with_etag(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """Answer ``body`` with an ETag of its content, or 304 to a request that already has it: a poll of
    an unchanged feed costs nothing, as with MeteoAlarm's."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    if handler.headers.get("If-None-Match") == etag:
        handler.send_response(304)
        handler.send_header("ETag", etag)
        handler.end_headers()
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("ETag", etag)
    handler.end_headers()
    handler.wfile.write(body)
