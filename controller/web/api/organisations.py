"""/organisations: each organisation and whether it wants a second person to approve its messages and
alerts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from controller.dates import iso_utc
from controller.domain import accounts
from controller.domain.access import Permission
from controller.web.api_common import audited, json_object, page_answer, page_params
from controller.web.auth import current_actor, requires
from controller.web.context import get_db

bp = Blueprint("organisations", __name__)


def _organisation_json(summary: dict[str, Any]) -> dict[str, Any]:
    return {**summary, "created_at": iso_utc(summary["created_at"])}


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
    with audited(db, "organisation.update", "organisation", organisation_id, publish_after=False) as change:
        change.before, change.after = accounts.update_organisation(db, organisation_id, changes)
        change.recorded = change.before != change.after
    return jsonify(_organisation_json(change.after))
