"""Queuing a message, from a person's request to signed schedules: checked and drawn before the write
lock, then recorded and signed in one transaction; edits, approvals and cancellations likewise.

The rules of what a message is live in ``controller.domain.messages``; this module adds what only
publishing knows: whether every panel it reaches can still take it, and the panels' new schedules."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.domain.accounts import approval_required
from controller.domain.errors import FieldError
from controller.domain.messages import (
    APPROVED,
    PENDING,
    REJECTED,
    Draft,
    check_edit_request,
    check_renders,
    content_columns,
    fetch_message,
    message_targets,
    parse_content,
    reached_panels,
    schedule_fields,
    unshown_warnings,
)
from controller.domain.panels import Panel
from controller.domain.schedule_fields import targets_to_json
from controller.publishing.schedules import (
    Planned,
    build_schedules,
    check_message,
    draw_ahead,
    fit_problems,
    republish,
    stage,
)
from controller.storage.db import insert_row, transaction
from controller.storage.message_store import item_id_for


@dataclass(frozen=True)
class QueuedMessage:
    """``seqs``: each reached panel's new sequence number; empty while the message awaits approval."""

    id: int
    item_id: str
    panels: list[str]
    seqs: dict[str, int]
    warnings: list[dict[str, str]]
    approval: str


def queue_message(
    db: Database,
    key: Ed25519PrivateKey,
    data: Any,
    *,
    created_by: str,
    organisation: str | None = None,
    commune_insee: str | None = None,
    now: float | None = None,
    dry_run: bool = False,
) -> QueuedMessage:
    """Check, draw, then record and sign in one transaction: ``draft_message``, then ``record_message``."""
    now = time.time() if now is None else now
    draft = draft_message(db, data, commune_insee=commune_insee, now=now)
    return record_message(
        db, key, draft, created_by=created_by, organisation=organisation, now=now, dry_run=dry_run
    )


def draft_message(db: Database, data: Any, *, commune_insee: str | None = None, now: float) -> Draft:
    """Everything is checked and rendered before anything is written or locked: a refusal leaves no
    trace, and a slow drawing holds no other writer (an alert least of all).

    Rendering happens once per profile, however many panels share it, and what else those panels show
    is drawn too, so the transaction that signs them finds every drawing made. A message of a
    commune's user (``commune_insee``) reaches that commune's panels only.
    """
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    content = parse_content(data, now)
    fields = schedule_fields(db, data, now, commune_insee)
    targets, panels = message_targets(db, data, commune_insee)
    check_renders(content, panels)
    draw_ahead(db, panels, now)
    row = {
        **content_columns(content),
        **fields,
        "targets": targets_to_json(targets),
        "created_at": int(now),
        "paused": 0,
        "commune_insee": commune_insee,
    }
    return Draft(row, panels, unshown_warnings(content))


def record_message(
    db: Database,
    key: Ed25519PrivateKey,
    draft: Draft,
    *,
    created_by: str,
    organisation: str | None,
    now: float,
    dry_run: bool = False,
) -> QueuedMessage:
    """Write a drafted message and sign afresh the schedules of the panels it reaches, in one
    transaction (the caller's, when it has one). One of an organisation that wants a second person
    waits, on no panel, until approved. A dry run goes through every check and rolls back: the
    resolved panels and warnings, nothing published."""
    row = {
        **draft.row,
        "created_by": created_by,
        "organisation": organisation,
        "approval": PENDING if approval_required(db, organisation, "messages") else APPROVED,
    }
    try:
        with transaction(db):
            queued = _record(db, key, row, draft.panels, now=now)
            queued = replace(queued, warnings=draft.warnings + queued.warnings)
            if dry_run:
                raise _DryRun(queued)
    except _DryRun as rolled_back:
        return replace(rolled_back.queued, id=0, item_id="", seqs={})
    return queued


class _DryRun(Exception):
    """Raised inside the transaction to roll it back while keeping what it found."""

    def __init__(self, queued: QueuedMessage) -> None:
        super().__init__("dry run")
        self.queued = queued


def _record(
    db: Database, key: Ed25519PrivateKey, row: dict[str, Any], panels: dict[str, Panel], *, now: float
) -> QueuedMessage:
    message_id = insert_row(db, "messages", row)
    db.table("message_targets").insert_all(
        {"message_id": message_id, "panel_id": panel_id} for panel_id in panels
    )
    plans, warnings = _checked(db, message_id, panels, set(panels), now)
    seqs = stage(db, key, plans, now=now) if row["approval"] == APPROVED else {}
    return QueuedMessage(message_id, item_id_for(message_id), sorted(panels), seqs, warnings, row["approval"])


def _checked(
    db: Database, message_id: int, panels: dict[str, Panel], panel_ids: set[str], now: float
) -> tuple[dict[str, Planned], list[dict[str, str]]]:
    """The scheduler's verdict on a message just written (uncommitted), and the schedules of
    ``panel_ids`` with it, as if approved: the first error refuses it (a panel it reaches too full to
    take it among them), warnings are returned (the other messages it pushed out of full panels)."""
    problems = check_message(db, message_id, panels.values(), now)
    plans = build_schedules(db, now, panel_ids, also_message=message_id)
    problems += fit_problems(plans, item_id_for(message_id), panels)
    error = next((problem for problem in problems if problem.level == "error"), None)
    if error is not None:
        raise FieldError(error.field, error.message, status=422)
    return plans, [asdict(problem) for problem in problems if problem.level == "warning"]


def check_edit(db: Database, message_id: int, data: Any, *, now: float) -> None:
    """Refuse a bad edit and draw what it will show, before the caller takes the write lock to make it."""
    edit = check_edit_request(db, message_id, data, now)
    draw_ahead(db, edit.before | set(edit.panels), now)


def update_message(
    db: Database, key: Ed25519PrivateKey, message_id: int, data: Any, *, changed_by: str, now: float
) -> list[dict[str, str]]:
    """Edit any field a message was queued with and/or pause or resume it; the panels it reached and
    reaches now get a fresh schedule. Edited content goes back to approval where the organisation wants
    a second person, and its editor (``changed_by``) may not approve it; a pause or resume puts no new
    words on air, so it changes neither. Returns the scheduler's warnings. The caller owns the
    transaction, and calls ``check_edit`` before taking it."""
    edit = check_edit_request(db, message_id, data, now)
    reached = edit.before | set(edit.panels)
    changed = {"changed_by": changed_by, "changed_at": int(now)} if edit.edited else {}
    with transaction(db):
        db.table("messages").update(message_id, edit.changes | changed)
        if not edit.edited:
            republish(db, key, now=now, panel_ids=edit.before)
            return []
        db.execute("delete from message_targets where message_id = ?", [message_id])
        db.table("message_targets").insert_all({"message_id": message_id, "panel_id": p} for p in edit.panels)
        plans, warnings = _checked(db, message_id, edit.panels, reached, now)
        if edit.changes.get("approval", edit.row["approval"]) == APPROVED:
            stage(db, key, plans, now=now)
        else:
            republish(db, key, now=now, panel_ids=reached)  # off the air until approved
    return edit.warnings + warnings


def decide(
    db: Database,
    key: Ed25519PrivateKey,
    message_id: int,
    *,
    by: str,
    approve: bool,
    reason: str | None,
    now: float,
) -> None:
    """A second person approves (the message goes on air) or rejects it with a reason; only a waiting
    message can be decided. The caller checks who may, and owns the transaction."""
    row = fetch_message(db, message_id)
    if row["approval"] != PENDING or row["cancelled_at"] is not None:
        raise FieldError(
            "message_id",
            "message {message_id} is not waiting for approval",
            status=409,
            message_id=message_id,
        )
    if approve:
        changes = {"approval": APPROVED, "approved_by": by, "approved_at": int(now)}
    else:
        changes = {
            "approval": REJECTED,
            "rejected_by": by,
            "rejected_at": int(now),
            "rejected_reason": reason,
        }
    with transaction(db):
        db.table("messages").update(message_id, changes)
        if approve:
            republish(
                db, key, now=now, panel_ids=[p for p, _ in reached_panels(db, [message_id])[message_id]]
            )


def cancel_message(db: Database, key: Ed25519PrivateKey, message_id: int, *, now: float) -> bool:
    """Take a message off every panel for good; False when it was cancelled already."""
    if fetch_message(db, message_id)["cancelled_at"] is not None:
        return False
    with transaction(db):
        db.table("messages").update(message_id, {"cancelled_at": int(now)})
        republish(db, key, now=now, panel_ids=[p for p, _ in reached_panels(db, [message_id])[message_id]])
    return True
