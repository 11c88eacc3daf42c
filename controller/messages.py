"""Queuing a message: validate, render once per panel profile, then record and seal in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.clock import iso_utc
from controller.db import transaction
from controller.errors import FieldError
from controller.outbox import stage_desired
from controller.panels import get_panels
from controller.rendering import PanelProfile, TextDoesNotFit, render_text
from relais.wire import DisplayItem, Frame, Page

MAX_TEXT_LENGTH = 1000
MAX_TARGETS = 5000
SINGLE_PAGE_DWELL_MS = 10_000


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    item_id: str
    seqs: dict[str, int]


def _validate(data: Any) -> tuple[str, list[str]]:
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FieldError("text", "is required and must not be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise FieldError("text", f"is {len(text)} characters long, the limit is {MAX_TEXT_LENGTH}")
    panel_ids = data.get("panels")
    if not isinstance(panel_ids, list) or not panel_ids:
        raise FieldError("panels", "is required: a non-empty list of panel ids")
    if not all(isinstance(panel_id, str) for panel_id in panel_ids):
        raise FieldError("panels", "must contain panel ids as strings")
    if len(panel_ids) > MAX_TARGETS:
        raise FieldError("panels", f"targets {len(panel_ids)} panels, the limit is {MAX_TARGETS}")
    return text.strip(), list(dict.fromkeys(panel_ids))


def item_id_for(message_id: int) -> str:
    return f"msg-{message_id}"


def queue_message(
    db: Database,
    key: Ed25519PrivateKey,
    data: Any,
    *,
    created_by: str,
    ttl_s: int,
    now: float | None = None,
) -> QueuedMessage:
    """Everything is checked and rendered before anything is written: a refusal leaves no trace."""
    text, panel_ids = _validate(data)
    now = time.time() if now is None else now
    panels = get_panels(db, panel_ids)
    unknown = [panel_id for panel_id in panel_ids if panel_id not in panels]
    if unknown:
        raise FieldError("panels", f"unknown panel(s): {', '.join(unknown)}", status=422)
    frames: dict[PanelProfile, Frame] = {}
    for panel in panels.values():
        if panel.profile in frames:
            continue
        try:
            frames[panel.profile] = Frame.from_image(render_text(text, panel.profile))
        except TextDoesNotFit as exc:
            raise FieldError("text", f"{exc} (panel {panel.id})", status=422) from None
        except ValueError as exc:
            raise FieldError("text", str(exc), status=422) from None
    with transaction(db):
        message_id = (
            db["messages"].insert({"text": text, "created_by": created_by, "created_at": int(now)}).last_pk
        )
        db["message_targets"].insert_all(
            {"message_id": message_id, "panel_id": panel_id} for panel_id in panel_ids
        )
        item_id = item_id_for(message_id)
        seqs = {
            panel.id: stage_desired(
                db,
                key,
                panel.id,
                DisplayItem(item_id, text, (Page(frames[panel.profile], SINGLE_PAGE_DWELL_MS),)),
                message_id=message_id,
                now=now,
                ttl_s=ttl_s,
            )
            for panel in panels.values()
        }
    return QueuedMessage(id=message_id, item_id=item_id, seqs=seqs)


def list_messages(db: Database, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = db.query(
        """select m.*, group_concat(t.panel_id) as panels from messages m
           left join message_targets t on t.message_id = m.id
           group by m.id order by m.id desc limit ? offset ?""",
        [limit, offset],
    )
    return [
        {
            "id": row["id"],
            "item_id": item_id_for(row["id"]),
            "text": row["text"],
            "panels": sorted((row["panels"] or "").split(",")) if row["panels"] else [],
            "created_by": row["created_by"],
            "created_at": iso_utc(row["created_at"]),
        }
        for row in rows
    ]
