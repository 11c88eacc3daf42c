"""/me and /users: who the request acts as and what they may do; the accounts an administrator
manages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from controller.dates import iso_utc
from controller.domain import accounts
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.web.api_common import audited, json_object, page_answer, page_params
from controller.web.auth import current_actor, requires
from controller.web.context import get_db

bp = Blueprint("users", __name__)

USER_FIELDS = ("name", "role", "commune", "organisation", "password")


def _user_json(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        **summary,
        "disabled_at": iso_utc(summary["disabled_at"]),
        "created_at": iso_utc(summary["created_at"]),
    }


@bp.get("/me")
@requires()
def me() -> Response:
    """Who the token or session acts as, and what they may do: what the pages show or hide."""
    actor = current_actor()
    return jsonify(
        {
            "id": actor.user_id,
            "name": actor.name,
            "role": actor.role.value,
            "organisation": actor.organisation,
            "commune": actor.commune_insee,
            "permissions": sorted(p.value for p in Permission if actor.can(p)),
        }
    )


@bp.get("/users")
@requires(Permission.USERS_MANAGE)
def list_users() -> Response:
    limit, offset = page_params()
    found, total = accounts.list_users(get_db(), limit, offset)
    return page_answer("users", [_user_json(user) for user in found], total, limit, offset)


@bp.post("/users")
@requires(Permission.USERS_MANAGE)
def create_user() -> tuple[Response, int]:
    """``{"name", "role", "commune"?, "organisation"?, "password"?}``; without a password the account
    works with tokens only until one is set."""
    data = json_object()
    unknown = sorted(set(data) - set(USER_FIELDS))
    if unknown:
        raise FieldError(unknown[0], "is not a user field: {choices}", choices=", ".join(USER_FIELDS))
    if "password" in data and not isinstance(data["password"], str):
        raise FieldError("password", "must be a string")
    db = get_db()
    with audited(db, "user.create", "user", publish_after=False) as change:
        change.object_id = accounts.create_user(
            db,
            data.get("name"),
            data.get("role"),
            data.get("password"),
            data.get("commune"),
            data.get("organisation"),
        )
        change.after = accounts.user_summary(accounts.get_user(db, change.object_id))
    return jsonify(_user_json(change.after)), 201


@bp.get("/users/<int:user_id>")
@requires(Permission.USERS_MANAGE)
def show_user(user_id: int) -> Response:
    return jsonify(_user_json(accounts.user_summary(accounts.get_user(get_db(), user_id))))


@bp.patch("/users/<int:user_id>")
@requires(Permission.USERS_MANAGE)
def update_user(user_id: int) -> Response:
    """Role, commune, organisation, password, ``disabled``: disabling ends the user's sessions and tokens."""
    changes = json_object()
    db = get_db()
    with audited(db, "user.update", "user", user_id, publish_after=False) as change:
        change.before, change.after = accounts.update_user(db, user_id, changes)
        change.recorded = change.before != change.after
        if change.after["disabled"] and not change.before["disabled"]:
            change.action = "user.disable"
    return jsonify(_user_json(accounts.user_summary(accounts.get_user(db, user_id))))
