"""Polling the official alert sources: MeteoAlarm's Atom feed, a CAP document's URL, a folder where
another system drops files. Each new document is taken in (``controller.domain.official_alerts``) and
what it deploys, replaces or ends is signed and published like any alert.

A slow or hostile source delays nobody: each source is fetched on a thread of its own, with timeouts, a
deadline and a read cap, and no database lock is held while fetching. An error is written on the source
(its health), and the next try backs off, with jitter, up to an hour.
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.domain import official_alerts
from controller.official.atom import MAX_FEED_BYTES, read_feed
from controller.official.cap import MAX_CAP_BYTES
from controller.official.safe_xml import OfficialAlertError
from controller.publishing.destinations import PUBLIC_ONLY, DestinationRefused
from controller.publishing.schedules import draw_ahead, republish
from controller.storage.db import connect, transaction

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10  # each connection and each read
FETCH_DEADLINE_S = 30  # a whole document, however slowly it trickles in
MAX_BACKOFF_S = 3600
USER_AGENT = "Relais (signage controller; official alerts)"
HTTP_SCHEMES = ("http://", "https://")
# Folder sources: what was taken in, and what was refused, are moved out of the way, not read again.
PROCESSED_DIR = "processed"
REFUSED_DIR = "refused"
CAP_FILE_SUFFIXES = (".xml", ".cap")


class SourceError(OfficialAlertError):
    """A source that could not be read (unreachable, refused, too big, too slow), in words its health
    shows; ``where`` is the address."""


@dataclass(frozen=True)
class Fetched:
    """A fetched URL: its body (None: not modified since), and its validators for the next request."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


def fetch(url: str, limit: int, etag: str | None = None, last_modified: str | None = None) -> Fetched:
    """GET ``url`` conditionally, reading at most ``limit`` bytes within the deadline. Only http and
    https: a feed's link to ``file:`` or ``ftp:`` never makes the controller read anything else."""
    if not url.lower().startswith(HTTP_SCHEMES):
        raise SourceError("only http:// and https:// addresses are read", where=url)
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "application/xml, */*"}
    )
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    deadline = time.monotonic() + FETCH_DEADLINE_S
    try:
        with _opener().open(request, timeout=CONNECT_TIMEOUT_S) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise SourceError(
                    "{size} bytes announced, more than the {limit} allowed",
                    where=url,
                    size=declared,
                    limit=limit,
                )
            chunks, size = [], 0
            while chunk := response.read(65536):
                size += len(chunk)
                if size > limit:
                    raise SourceError("more than the {limit} bytes allowed", where=url, limit=limit)
                if time.monotonic() > deadline:
                    raise SourceError("not read within {seconds} s", where=url, seconds=FETCH_DEADLINE_S)
                chunks.append(chunk)
            return Fetched(
                b"".join(chunks), response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Fetched(None, etag, last_modified)
        raise SourceError("HTTP {code} {reason}", where=url, code=error.code, reason=error.reason) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SourceError("unreachable ({reason})", where=url, reason=str(reason)) from None


class _NoOtherSchemes(urllib.request.HTTPRedirectHandler):
    """Redirects followed only to http and https: a feed never sends the controller to read a file."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if not newurl.lower().startswith(HTTP_SCHEMES):
            raise SourceError(
                "redirected to {target}, which is not http(s)", where=req.full_url, target=newurl
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """HTTP and HTTPS handlers only, through the environment's proxy if it names one (build_opener()
    would add file:, ftp: and data:)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _NoOtherSchemes(),
    ):
        opener.add_handler(handler)
    return opener


def backoff_s(interval_s: int, failures: int) -> float:
    """The wait after ``failures`` errors in a row: the interval doubled each time, up to an hour, with
    ±20 % jitter so that sources failing together do not retry together."""
    base = min(MAX_BACKOFF_S, interval_s * 2 ** min(failures, 16))
    return float(base * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class FeedContext:
    """What polling needs of the running controller: its database and signing key, and a way to hand
    what was sealed to the broker at once (the MQTT link's flush)."""

    database: Path
    key: Ed25519PrivateKey
    flush: Any = None  # Callable[[], object] | None


class SourcePoller:
    """Polls the due sources, each on a thread of its own; a source still being read is not polled again
    until it is done, and the others go on."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="official-source")
        self._busy: set[int] = set()
        self._lock = threading.Lock()

    def poll_due(self, context: FeedContext, now: float | None = None) -> list[Future[None]]:
        """Start polling every source due now; the futures end when each is done (tests wait on them)."""
        moment = time.time() if now is None else now
        db = connect(context.database)
        try:
            due = official_alerts.due_sources(db, moment)
        finally:
            db.close()
        started = []
        for source in due:
            with self._lock:
                if source["id"] in self._busy:
                    continue
                self._busy.add(source["id"])
            started.append(self._pool.submit(self._poll, context, source))
        return started

    def _poll(self, context: FeedContext, source: Mapping[str, Any]) -> None:
        try:
            poll_source(context, source)
        except Exception:  # one source's bug must not stop the polling of the others
            log.exception("polling alert source %s failed", source["id"])
        finally:
            with self._lock:
                self._busy.discard(source["id"])

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def poll_source(context: FeedContext, source: Mapping[str, Any]) -> None:
    """Read one source, take in each new document, record the source's health."""
    db = connect(context.database)
    try:
        now = time.time()
        validators: tuple[str | None, str | None] | None = None
        problem: OfficialAlertError | None
        try:
            if source["kind"] == "folder":
                problem = _poll_folder(context, db, source)
            else:
                fetched = fetch(
                    source["location"],
                    MAX_FEED_BYTES if source["kind"] == "atom" else MAX_CAP_BYTES,
                    source["etag"],
                    source["last_modified"],
                )
                problem = None
                if fetched.body is not None:
                    if source["kind"] == "atom":
                        problem = _take_feed(context, db, source, fetched.body)
                    else:
                        take_document(context, db, source, fetched.body)
                if problem is None:  # a feed with a bad document is read whole again next time
                    validators = (fetched.etag, fetched.last_modified)
        except OfficialAlertError as failure:  # a SourceError too
            problem = failure
        failures = 0 if problem is None else source["failures"] + 1
        wait = (
            source["poll_interval_s"]
            if problem is None
            else backoff_s(source["poll_interval_s"], failures - 1)
        )
        with transaction(db):
            official_alerts.record_health(
                db,
                source["id"],
                now=now,
                next_try_at=time.time() + wait,
                problem=problem,
                validators=validators,
            )
        if problem is not None:
            log.warning("alert source %s (%s): %s", source["id"], source["name"], problem)
    finally:
        db.close()


def _take_feed(
    context: FeedContext, db: Database, source: Mapping[str, Any], body: bytes
) -> OfficialAlertError | None:
    """Each unexpired alert of a MeteoAlarm feed not received yet, fetched once; the first error, if any
    (the others are still taken in)."""
    known = official_alerts.known_identifiers(db, source["organisation"])
    first_error: OfficialAlertError | None = None
    for entry in read_feed(body, datetime.now(UTC)):
        if entry.identifier in known:
            continue
        try:
            _check_link(source["location"], entry.link)
            document = fetch(entry.link, MAX_CAP_BYTES).body or b""
            take_document(context, db, source, document)
        except OfficialAlertError as failure:  # a SourceError too
            first_error = first_error or failure.at(entry.identifier)
    return first_error


def _check_link(feed_url: str, link: str) -> None:
    """A feed's link is followed to the feed's own server, or to a public address: a feed from outside
    never makes the controller call its neighbours (its API on loopback, an intranet)."""
    if urlsplit(link).netloc.lower() == urlsplit(feed_url).netloc.lower():
        return
    try:
        PUBLIC_ONLY.check(link)
    except DestinationRefused as refused:
        raise SourceError(refused.template, where=link, **refused.params) from None


def _poll_folder(context: FeedContext, db: Database, source: Mapping[str, Any]) -> OfficialAlertError | None:
    """Each file dropped in the folder, oldest first, taken in then moved to ``processed/`` (or to
    ``refused/`` with the error on the source's health)."""
    folder = Path(source["location"])
    if not folder.is_dir():
        raise SourceError("{location} is not a folder on the controller", location=str(folder))
    first_error: OfficialAlertError | None = None
    files = sorted(
        (path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in CAP_FILE_SUFFIXES),
        key=lambda path: (path.stat().st_mtime, path.name),
    )
    for path in files:
        try:
            if path.stat().st_size > MAX_CAP_BYTES:
                raise OfficialAlertError(
                    "{what} is {size} bytes, more than the {limit} allowed",
                    what="the CAP document",
                    size=path.stat().st_size,
                    limit=MAX_CAP_BYTES,
                )
            take_document(context, db, source, path.read_bytes())
            _move(path, PROCESSED_DIR)
        except OfficialAlertError as failure:
            first_error = first_error or failure.at(path.name)
            _move(path, REFUSED_DIR)
    return first_error


def _move(path: Path, into: str) -> None:
    target = path.parent / into
    target.mkdir(exist_ok=True)
    shutil.move(path, target / path.name)


def take_document(context: FeedContext, db: Database, source: Mapping[str, Any], raw: bytes) -> None:
    """One document from ``source``: read and matched outside the lock, then recorded and published in one
    transaction. Raises ``OfficialAlertError`` for what is not CAP. What the pollers call for each
    document, and what a command handing in a file (the demo's feed) calls too."""
    now = time.time()
    received = official_alerts.take(db, source, raw, now)
    if received.reach is not None and received.reach.panels:
        draw_ahead(db, received.reach.panels, now)
    with transaction(db):
        touched = official_alerts.record(db, received, now)
        if touched:
            republish(db, context.key, now=now, panel_ids=sorted(touched))
    if touched and context.flush is not None:
        context.flush()


def clock_tick(context: FeedContext, now: float | None = None) -> None:
    """What time alone changes: approvals that timed out are deployed, expired alerts end, deployed
    ones take their next phase's wording. The write lock is taken only when one of these is due."""
    moment = time.time() if now is None else now
    db = connect(context.database)
    try:
        changes = official_alerts.rewordings(db, moment)
        touched: set[str] = set()
        if changes or official_alerts.clock_due(db, moment):
            with transaction(db):
                touched = official_alerts.on_the_clock(db, moment) | official_alerts.reword(db, changes)
                if touched:
                    republish(db, context.key, now=moment, panel_ids=sorted(touched))
    finally:
        db.close()
    if touched and context.flush is not None:
        context.flush()
