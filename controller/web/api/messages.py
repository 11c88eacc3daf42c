"""/messages: queueing a message, editing, pausing, cancelling it, and a second person's approval or
rejection. The message is drafted and drawn before the write lock is taken, then recorded, audited
and published in one transaction."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from controller.domain import messages
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.domain.scope import check_second_person, may_change_message
from controller.publishing import queueing
from controller.web.api_common import audited, dry_run_asked, json_body, paged
from controller.web.auth import Forbidden, current_actor, requires
from controller.web.context import get_db, signing_key
from controller.web.idempotency import idempotent

bp = Blueprint("messages", __name__)


def visible_message(message_id: int) -> dict[str, Any]:
    """A message the actor may see, as the API shows it; another commune's answers 404."""
    return messages.visible_message(get_db(), current_actor(), message_id, time.time())


def _changeable_message(message_id: int) -> dict[str, Any]:
    """A message the actor may change: another commune's is absent, the prefecture's is not theirs to change."""
    found = visible_message(message_id)
    if not may_change_message(current_actor(), found["commune"]):
        raise Forbidden("message {message_id} is not your commune's: ask its author", message_id=message_id)
    return found


@bp.get("/messages")
@requires(Permission.MESSAGES_VIEW)
def list_messages() -> Response:
    """Newest first, filtered by ``status`` and ``commune``, paginated."""
    found = messages.list_messages(
        get_db(),
        current_actor(),
        time.time(),
        status=request.args.get("status") or None,
        commune=request.args.get("commune") or None,
    )
    return paged("messages", found)


@bp.post("/messages")
@requires(Permission.MESSAGES_EDIT)
@idempotent
def create_message() -> tuple[Response, int]:
    """Queued at once, or only checked with ``?dry_run=1``: the panels it reaches and the warnings."""
    dry_run = dry_run_asked()
    actor, db, now = current_actor(), get_db(), time.time()
    draft = queueing.draft_message(db, json_body(), commune_insee=actor.commune_insee, now=now)
    with audited(db, "message.create", "message", publish_after=not dry_run) as change:
        queued = queueing.record_message(
            db,
            signing_key(),
            draft,
            created_by=actor.name,
            organisation=actor.organisation,
            now=now,
            dry_run=dry_run,
        )
        change.recorded = not dry_run  # a dry run rolls its own work back: nothing to record
        if not dry_run:
            change.object_id = queued.id
            change.after = messages.visible_message(db, actor, queued.id, now)
    if dry_run:
        return jsonify({"dry_run": True, "panels": queued.panels, "warnings": queued.warnings}), 200
    return jsonify(
        {
            "id": queued.id,
            "item_id": queued.item_id,
            "status": change.after["status"],
            "panels": queued.seqs or dict.fromkeys(queued.panels),
            "warnings": queued.warnings,
        }
    ), 201


@bp.get("/messages/<int:message_id>")
@requires(Permission.MESSAGES_VIEW)
def show_message(message_id: int) -> Response:
    return jsonify(visible_message(message_id))


@bp.patch("/messages/<int:message_id>")
@requires(Permission.MESSAGES_EDIT)
def change_message(message_id: int) -> Response:
    """Any field it was queued with, and/or ``"paused": true|false``; its panels get a fresh schedule."""
    actor, db, now = current_actor(), get_db(), time.time()
    data = json_body()
    _changeable_message(message_id)
    queueing.check_edit(db, message_id, data, now=now)
    if isinstance(data, dict) and set(data) == {"paused"}:
        action = "message.pause" if data["paused"] else "message.resume"
    else:
        action = "message.update"
    with audited(db, action, "message", message_id, _changeable_message) as change:
        warnings = queueing.update_message(
            db, signing_key(), message_id, data, changed_by=actor.name, now=now
        )
        change.after = visible_message(message_id)
    return jsonify({**change.after, "warnings": warnings})


@bp.delete("/messages/<int:message_id>")
@requires(Permission.MESSAGES_EDIT)
def cancel_message(message_id: int) -> Response:
    """Take the message off its panels for good (cancelling twice changes nothing)."""
    db, now = get_db(), time.time()
    with audited(db, "message.cancel", "message", message_id, _changeable_message) as change:
        change.recorded = queueing.cancel_message(db, signing_key(), message_id, now=now)
    return jsonify(visible_message(message_id))


@bp.post("/messages/<int:message_id>/approve")
@requires(Permission.MESSAGES_APPROVE)
def approve_message(message_id: int) -> Response:
    """A second person of the author's organisation puts the message on air."""
    return _decide(message_id, approve=True, reason=None)


@bp.post("/messages/<int:message_id>/reject")
@requires(Permission.MESSAGES_APPROVE)
def reject_message(message_id: int) -> Response:
    """``{"reason": "…"}``: the author reads why, edits, and the message waits for approval again."""
    data = json_body()
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        raise FieldError("reason", "is required: tell the author why")
    return _decide(message_id, approve=False, reason=reason.strip()[:500])


def _decide(message_id: int, *, approve: bool, reason: str | None) -> Response:
    actor, db, now = current_actor(), get_db(), time.time()
    action = "message.approve" if approve else "message.reject"
    with audited(db, action, "message", message_id, visible_message) as change:
        check_second_person(actor, Permission.MESSAGES_APPROVE, "message", change.before)
        queueing.decide(db, signing_key(), message_id, by=actor.name, approve=approve, reason=reason, now=now)
    return jsonify(change.after)
