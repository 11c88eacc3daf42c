"""/tokens: one's own API tokens (an administrator: anyone's), made with their secret shown once, and
revoked."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from controller.dates import iso_utc
from controller.domain import accounts
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.web.api_common import audited, json_object, paged
from controller.web.auth import Forbidden, current_actor, requires
from controller.web.context import get_db

bp = Blueprint("tokens", __name__)


def _token_json(token: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": token["id"],
        "label": token["label"],
        "user": token["user"],
        "created_at": iso_utc(token["created_at"]),
        "revoked_at": iso_utc(token["revoked_at"]),
    }


def _shown_token(token_id: int) -> dict[str, Any]:
    """A token as the API shows it, without its secret; read inside the transaction that made it."""
    token = accounts.find_token(get_db(), token_id)
    if token is None:
        raise FieldError("token_id", "no token {token_id}", status=404, token_id=token_id)
    return _token_json(token)


def _token_owner(name: Any) -> dict[str, Any]:
    """The user whose tokens are asked for: oneself, or anyone for an administrator (``user``)."""
    actor = current_actor()
    if name is None or name == actor.name:
        return accounts.get_user(get_db(), actor.user_id)
    if not isinstance(name, str):
        raise FieldError("user", "must be a user name")
    if not actor.can(Permission.USERS_MANAGE):
        raise Forbidden(
            "the role {role} may only see and make its own tokens (needs users.manage)", role=actor.role.value
        )
    found = accounts.user_by_name(get_db(), name)
    if found is None:
        raise FieldError("user", "no user named {name!r}", status=404, name=name)
    return found


@bp.get("/tokens")
@requires()
def list_tokens() -> Response:
    """One's own tokens, newest first, without their secret; an administrator may ask for ``?user=``."""
    owner = _token_owner(request.args.get("user"))
    found = list(reversed(accounts.list_tokens(get_db(), owner["id"])))
    return paged("tokens", [_token_json(token) for token in found])


@bp.post("/tokens")
@requires()
def create_token() -> tuple[Response, int]:
    """``{"label", "user"?}`` (or ``?user=``): the answer holds the secret ``token``, shown this once."""
    data = json_object()
    owner = _token_owner(data.get("user", request.args.get("user")))
    if owner["disabled_at"] is not None:
        raise FieldError(
            "user", "{user} is disabled: enable the account first", status=409, user=owner["name"]
        )
    db = get_db()
    with audited(db, "token.create", "token", read=_shown_token, publish_after=False) as change:
        change.object_id, secret = accounts.create_token(db, owner["id"], data.get("label"))
    return jsonify({**change.after, "token": secret}), 201


@bp.delete("/tokens/<int:token_id>")
@requires()
def revoke_token(token_id: int) -> Response:
    """Revoke one's own token (an administrator: anyone's); another user's answers 404 to others."""
    actor, db = current_actor(), get_db()
    token = accounts.find_token(db, token_id)
    if token is None or (token["user_id"] != actor.user_id and not actor.can(Permission.USERS_MANAGE)):
        raise FieldError("token_id", "no token {token_id}", status=404, token_id=token_id)
    if token["revoked_at"] is not None:
        return jsonify(_token_json(token))
    with audited(db, "token.revoke", "token", token_id, _shown_token, publish_after=False) as change:
        accounts.revoke_token(db, token_id, time.time())
    return jsonify(change.after)
