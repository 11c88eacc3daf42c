"""``Idempotency-Key``: a POST retried after its answer was lost is answered again, not done twice.

A client whose request was cut (the controller died, the network dropped) cannot know whether it was
done. Sending the same key again returns the first answer, status and body, instead of queuing the
message, alert, campaign or command a second time. The key and the answer are written in the same
transaction as what the request created, so a crash keeps both or neither.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from sqlite_utils import Database

from controller.domain.errors import FieldError
from controller.storage.db import held_commit, transaction
from controller.web.api_common import dry_run_asked
from controller.web.auth import current_actor
from controller.web.context import get_db, mqtt_link

HEADER = "Idempotency-Key"
# Marks an answer given again, so that a client (or a person reading logs) can tell.
REPLAYED_HEADER = "Idempotent-Replayed"
# How long a key holds: far beyond any client's retries, short enough that the table stays small.
KEPT_S = 24 * 3600
MAX_KEY_LENGTH = 200
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")  # visible ASCII, as a UUID or a ULID is


def _fingerprint() -> str:
    """What makes two requests the same one: method, path, query and body, byte for byte."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.full_path.encode(), request.get_data(cache=True)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _stored(db: Database, user_id: int, key: str, now: float) -> dict[str, Any] | None:
    rows = db.query(
        "select fingerprint, status, content_type, body from idempotency_keys"
        " where user_id = ? and key = ? and created_at >= ?",
        [user_id, key, int(now - KEPT_S)],
    )
    return next(iter(rows), None)


class _Raced(Exception):
    """Another request with the same key committed first: this one's writes are rolled back."""


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """A POST route that honours ``Idempotency-Key``; put it under ``requires`` (it needs the actor).

    Without the header nothing changes. With it, what the route writes and its answer, when it
    succeeded (2xx), are committed together (``held_commit``): the route still takes the write lock
    only where it writes, after its checks and drawing, and what it sealed goes to the broker once
    that commit is made. A failed request keeps nothing, so it may be tried again with the same key.
    The same key with another request is a 422. Two requests with one key at once: the second to
    commit is rolled back and answered the first's answer.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None or dry_run_asked():  # a dry run writes nothing: nothing to answer again
            return view(*args, **kwargs)
        if not _KEY.fullmatch(key):
            raise FieldError(
                HEADER,
                "must be 1 to {max_key_length} visible ASCII characters (a UUID, say)",
                max_key_length=MAX_KEY_LENGTH,
            )
        user_id, fingerprint, db, now = current_actor().user_id, _fingerprint(), get_db(), time.time()
        stored = _stored(db, user_id, key, now)
        if stored is None:
            try:
                with held_commit(db):
                    response = current_app.make_response(view(*args, **kwargs))
                    if 200 <= response.status_code < 300:
                        _keep(db, user_id, key, fingerprint, response, now)
            except _Raced:
                stored = _stored(db, user_id, key, now)
        if stored is not None:
            return _replay(stored, fingerprint)
        link = mqtt_link()
        if link is not None:  # what the route handed the link before this commit, the link could not see
            link.watch_panels()
            link.flush()
        return response

    wrapped.idempotent = True  # type: ignore[attr-defined]  # what tests/controller/web/test_openapi.py checks
    return wrapped


def _keep(db: Database, user_id: int, key: str, fingerprint: str, response: Response, now: float) -> None:
    with transaction(db):
        db.execute("delete from idempotency_keys where created_at < ?", [int(now - KEPT_S)])
        try:
            db.execute(
                "insert into idempotency_keys"
                " (user_id, key, fingerprint, status, content_type, body, created_at)"
                " values (?, ?, ?, ?, ?, ?, ?)",
                [
                    user_id,
                    key,
                    fingerprint,
                    response.status_code,
                    response.content_type,
                    response.get_data(),
                    int(now),
                ],
            )
        except sqlite3.IntegrityError:
            raise _Raced from None


def _replay(stored: dict[str, Any], fingerprint: str) -> Response:
    if stored["fingerprint"] != fingerprint:
        raise FieldError(
            HEADER,
            "was already used for another request (method, path or body) in the last 24 h;"
            " use a new key for a new request",
            status=422,
        )
    replayed = Response(stored["body"], status=stored["status"], content_type=stored["content_type"])
    replayed.headers[REPLAYED_HEADER] = "true"
    return replayed
