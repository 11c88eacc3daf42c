"""API tokens: shown once at creation, stored only as a SHA-256 hash, checked on every API request."""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import g, request
from sqlite_utils import Database

from controller.context import get_db
from controller.db import transaction
from controller.errors import FieldError

TOKEN_PREFIX = "rls_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, name: str, now: float | None = None) -> str:
    if not name.strip():
        raise FieldError("name", "a token needs the name of who or what uses it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(db):
        db["api_tokens"].insert(
            {"name": name.strip(), "token_hash": _hash(token), "created_at": int(now or time.time())}
        )
    return token


def token_owner(db: Database, token: str) -> str | None:
    """The name behind a valid, unrevoked token, or None."""
    row = db.execute(
        "select name from api_tokens where token_hash = ? and revoked_at is null", [_hash(token)]
    ).fetchone()
    return None if row is None else row[0]


class Unauthorized(Exception):
    pass


def require_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Sets ``g.user`` from ``Authorization: Bearer <token>``; raises Unauthorized otherwise."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        owner = token_owner(get_db(), token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if owner is None:
            raise Unauthorized()
        g.user = owner
        return view(*args, **kwargs)

    return wrapped
