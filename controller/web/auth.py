"""Who is asking: a bearer token (scripts) or a login session (the browser), then may they.

Browser sessions live in a signed, HttpOnly, SameSite cookie (Flask-Login). A request authenticated by
that cookie which changes something must also carry the page's CSRF token (header ``X-CSRFToken`` for
the API, a form field for pages), so another site cannot act through a logged-in user's browser.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from sqlite_utils import Database
from wtforms import ValidationError

from controller.domain.access import Actor, Permission
from controller.domain.accounts import actor_from_row, find_user, token_actor
from controller.web.context import get_db
from relais.files import atomic_write

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "login.login"
login_manager.session_protection = "strong"

# Applied by create_app before the caller's config; SESSION_COOKIE_SECURE belongs behind HTTPS.
COOKIE_DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # a page's token is valid for the session, not one hour
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Unauthorized(Exception):
    """No valid token nor session."""


class Forbidden(Exception):
    """Known, but this role may not do this: ``template`` and ``params`` as ``FieldError``'s (pybabel
    keyword ``Forbidden:1``), ``message`` the English."""

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        self.message = template.format(**params) if params else template
        super().__init__(self.message)


class SessionUser(UserMixin):
    """What Flask-Login keeps for a logged-in browser: the actor, reloaded from the database each request.

    The session names the user and their session epoch, which logging out, a password change or a
    disabling bumps, so that every browser logged in before is logged out, even if the user is enabled
    again later.
    """

    def __init__(self, actor: Actor, epoch: int) -> None:
        self.actor = actor
        self.epoch = epoch

    def get_id(self) -> str:
        return f"{self.actor.user_id}:{self.epoch}"

    @classmethod
    def of(cls, row: dict[str, Any]) -> SessionUser:
        return cls(actor_from_row(row), row["session_epoch"])


@login_manager.user_loader
def _load_user(session_id: str) -> SessionUser | None:
    user_id, _, epoch = session_id.partition(":")
    row = find_user(get_db(), int(user_id)) if user_id.isdigit() else None
    if row is None or str(row["session_epoch"]) != epoch:
        return None
    return SessionUser.of(row)


def end_sessions(db: Database, user_id: int) -> None:
    """Log out every browser logged in as the user, wherever its cookie is: each names the epoch this
    moves on. A cookie is signed, not stored: forgetting it in one browser alone would leave copies valid."""
    db.execute("update users set session_epoch = session_epoch + 1 where id = ?", [user_id])


def init_auth(app: Flask, data_dir: Path) -> None:
    """The persistent session key, CSRF and Flask-Login (cookie settings: ``COOKIE_DEFAULTS``)."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _session_key(data_dir / "keys" / "session.key")
    csrf.init_app(app)
    login_manager.init_app(app)


def _session_key(path: Path) -> str:
    """Kept on disk so a restart does not log everyone out; 0600 like the signing key."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    atomic_write(path, key.encode(), mode=0o600)
    return key


def _bearer_actor() -> Actor | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = token_actor(get_db(), token.strip())
    if found is None:
        raise Unauthorized()
    return found


def request_actor() -> Actor | None:
    """The actor of this request (token first, then session), or None; checks CSRF for session writes."""
    if "actor" in g:
        return g.actor
    actor = _bearer_actor()
    if actor is None and current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            try:
                validate_csrf(request.headers.get("X-CSRFToken") or request.form.get("csrf_token"))
            except ValidationError as exc:
                raise CSRFError(str(exc)) from None
        actor = current_user.actor
    g.actor = actor
    if actor is not None:
        g.user = actor.name
    return actor


def current_actor() -> Actor:
    """The actor of a request that went through ``requires``."""
    return g.actor


def requires(*permissions: Permission) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate, then check the role holds every permission; 401 or 403 otherwise."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = request_actor()
            if actor is None:
                raise Unauthorized()
            missing = [p.value for p in permissions if not actor.can(p)]
            if missing:
                raise Forbidden(
                    "the role {role} may not do this (needs {permissions})",
                    role=actor.role.value,
                    permissions=", ".join(missing),
                )
            return view(*args, **kwargs)

        wrapped.permissions = permissions  # type: ignore[attr-defined]
        return wrapped

    return decorate
