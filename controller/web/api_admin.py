"""The administration API under /api/v1: who am I, users, tokens, organisations, the audit log, the
OpenAPI document.

It answers with the same JSON errors as ``controller.web.api`` (whose handlers it registers) and records
every change with ``audit.record`` inside the transaction that makes it. The audit log has read routes
only: no method here, nor anywhere, edits or deletes an entry.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from controller.dates import iso_utc
from controller.domain import accounts, audit
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.storage.db import transaction
from controller.web.api_common import json_object, page_answer, page_params, register_error_handlers
from controller.web.auth import Forbidden, csrf, current_actor, requires
from controller.web.context import get_db
from controller.web.openapi import openapi_document

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1")
# Like the main API: scripts with a token have no cookie, and ``requires`` checks CSRF for sessions.
csrf.exempt(bp)
register_error_handlers(bp)


def _user_json(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        **summary,
        "disabled_at": iso_utc(summary["disabled_at"]),
        "created_at": iso_utc(summary["created_at"]),
    }


def _token_json(token: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": token["id"],
        "label": token["label"],
        "user": token["user"],
        "created_at": iso_utc(token["created_at"]),
        "revoked_at": iso_utc(token["revoked_at"]),
    }


def _organisation_json(summary: dict[str, Any]) -> dict[str, Any]:
    return {**summary, "created_at": iso_utc(summary["created_at"])}


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


# --- users -------------------------------------------------------------------------------------------


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
    unknown = sorted(set(data) - {"name", "role", "commune", "organisation", "password"})
    if unknown:
        raise FieldError(unknown[0], "is not a user field: name, role, commune, organisation, password")
    if "password" in data and not isinstance(data["password"], str):
        raise FieldError("password", "must be a string")
    db = get_db()
    with transaction(db):
        user_id = accounts.create_user(
            db,
            data.get("name"),
            data.get("role"),
            data.get("password"),
            data.get("commune"),
            data.get("organisation"),
        )
        created = accounts.user_summary(accounts.get_user(db, user_id))
        audit.record(
            db, current_actor(), "user.create", "user", user_id, after=created, ip=request.remote_addr
        )
    return jsonify(_user_json(created)), 201


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
    with transaction(db):
        before, after = accounts.update_user(db, user_id, changes)
        if before != after:
            action = "user.disable" if after["disabled"] and not before["disabled"] else "user.update"
            audit.record(db, current_actor(), action, "user", user_id, before, after, ip=request.remote_addr)
    return jsonify(_user_json(accounts.user_summary(accounts.get_user(db, user_id))))


# --- tokens ------------------------------------------------------------------------------------------


def _token_owner(name: Any) -> dict[str, Any]:
    """The user whose tokens are asked for: oneself, or anyone for an administrator (``user``)."""
    actor = current_actor()
    if name is None or name == actor.name:
        return accounts.get_user(get_db(), actor.user_id)
    if not isinstance(name, str):
        raise FieldError("user", "must be a user name")
    if not actor.can(Permission.USERS_MANAGE):
        raise Forbidden(
            f"the role {actor.role.value} may only see and make its own tokens (needs users.manage)"
        )
    found = accounts.user_by_name(get_db(), name)
    if found is None:
        raise FieldError("user", f"no user named {name!r}", status=404)
    return found


@bp.get("/tokens")
@requires()
def list_tokens() -> Response:
    """One's own tokens, newest first, without their secret; an administrator may ask for ``?user=``."""
    owner = _token_owner(request.args.get("user"))
    limit, offset = page_params()
    found = list(reversed(accounts.list_tokens(get_db(), owner["id"])))
    return page_answer(
        "tokens",
        [_token_json(token) for token in found[offset : offset + limit]],
        len(found),
        limit,
        offset,
    )


@bp.post("/tokens")
@requires()
def create_token() -> tuple[Response, int]:
    """``{"label", "user"?}`` (or ``?user=``): the answer holds the secret ``token``, shown this once."""
    data = json_object()
    owner = _token_owner(data.get("user", request.args.get("user")))
    if owner["disabled_at"] is not None:
        raise FieldError("user", f"{owner['name']} is disabled: enable the account first", status=409)
    db = get_db()
    with transaction(db):
        token_id, secret = accounts.create_token(db, owner["id"], data.get("label"))
        token = accounts.find_token(db, token_id)
        assert token is not None
        audit.record(
            db,
            current_actor(),
            "token.create",
            "token",
            token_id,
            after=_token_json(token),
            ip=request.remote_addr,
        )
    return jsonify({**_token_json(token), "token": secret}), 201


@bp.delete("/tokens/<int:token_id>")
@requires()
def revoke_token(token_id: int) -> Response:
    """Revoke one's own token (an administrator: anyone's); another user's answers 404 to others."""
    actor, db = current_actor(), get_db()
    token = accounts.find_token(db, token_id)
    if token is None or (token["user_id"] != actor.user_id and not actor.can(Permission.USERS_MANAGE)):
        raise FieldError("token_id", f"no token {token_id}", status=404)
    if token["revoked_at"] is None:
        with transaction(db):
            accounts.revoke_token(db, token_id, time.time())
            revoked = accounts.find_token(db, token_id)
            assert revoked is not None
            audit.record(
                db,
                actor,
                "token.revoke",
                "token",
                token_id,
                _token_json(token),
                _token_json(revoked),
                ip=request.remote_addr,
            )
        token = revoked
    return jsonify(_token_json(token))


# --- organisations -----------------------------------------------------------------------------------


@bp.get("/organisations")
@requires()
def list_organisations() -> Response:
    """Every organisation with its approval settings; a commune user sees only their own."""
    actor = current_actor()
    limit, offset = page_params()
    only = (actor.organisation or "") if actor.scoped else None
    found, total = accounts.list_organisations(get_db(), limit, offset, only)
    return page_answer("organisations", [_organisation_json(org) for org in found], total, limit, offset)


@bp.patch("/organisations/<organisation_id>")
@requires(Permission.USERS_MANAGE)
def update_organisation(organisation_id: str) -> Response:
    """``{"name", "messages_need_approval", "alerts_need_approval"}``: whether a second person approves."""
    changes = json_object()
    db = get_db()
    with transaction(db):
        before, after = accounts.update_organisation(db, organisation_id, changes)
        if before != after:
            audit.record(
                db,
                current_actor(),
                "organisation.update",
                "organisation",
                organisation_id,
                before,
                after,
                ip=request.remote_addr,
            )
    return jsonify(_organisation_json(after))


# --- audit log (read only) ---------------------------------------------------------------------------


@bp.get("/audit")
@requires(Permission.AUDIT_VIEW)
def audit_log() -> Response:
    """Newest first, filtered; ``?format=csv`` exports every matching entry (no pagination) for a spreadsheet."""
    filters = {key: request.args[key] for key in audit.FILTERS if request.args.get(key)}
    db = get_db()
    if request.args.get("format") == "csv":
        found, _total = audit.entries(db, filters)
        return Response(
            audit.entries_csv(found).encode("utf-8"),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="journal-audit.csv"'},
        )
    limit, offset = page_params()
    found, total = audit.entries(db, filters, limit, offset)
    return page_answer("entries", found, total, limit, offset)


@bp.get("/audit/<int:entry_id>")
@requires(Permission.AUDIT_VIEW)
def audit_entry(entry_id: int) -> Response:
    rows = list(get_db()["audit_log"].rows_where("id = ?", [entry_id]))
    if not rows:
        raise FieldError("entry_id", f"no audit entry {entry_id}", status=404)
    return jsonify(audit.entry_json(rows[0]))


@bp.get("/openapi.json")
def openapi() -> Response:
    """Public, like any API reference: it describes the routes, it opens none of them."""
    return jsonify(openapi_document())
