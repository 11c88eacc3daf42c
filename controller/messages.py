"""Queuing a message: validate, render once per panel profile, then record and seal in one transaction."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.clock import iso_utc
from controller.db import transaction
from controller.errors import FieldError
from controller.message_store import PANEL_TIME_ZONE, item_id_for
from controller.panels import Panel, get_panels
from controller.publishing import check_message, republish
from controller.rendering.engine import ROLES, MessageContent, RenderError, Rendering, render
from controller.rendering.images import MAX_IMAGE_BYTES, ImageError
from controller.rendering.layouts import LayoutError
from controller.rendering.markup import MARKUP_SYNTAXES, MarkupError
from controller.rendering.pictograms import UnknownPictogram
from controller.rendering.profiles import PanelProfile
from controller.rendering.qr import QrError
from controller.schedule_input import (
    parse_instant,
    parse_priority,
    parse_recurrence,
    parse_targets,
    recurrence_to_json,
    targets_to_json,
)
from controller.scheduling.model import Targets
from controller.scheduling.targets import resolve_targets

MAX_TEXT_LENGTH = 1000
MAX_SHORT_TEXT_LENGTH = 200
MAX_TARGETS = 5000


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    item_id: str
    seqs: dict[str, int]
    warnings: list[dict[str, str]]


def _optional_text(data: dict[str, Any], field: str, limit: int) -> str:
    value = data.get(field) or ""
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    if len(value) > limit:
        raise FieldError(field, f"is {len(value)} characters long, the limit is {limit}")
    return value.strip()


def _choice(data: dict[str, Any], field: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(field, default)
    if value not in choices:
        raise FieldError(field, f"must be one of {', '.join(choices)}")
    return value


def parse_content(data: Any, issued_at: float) -> MessageContent:
    """The message fields of a request, checked; each error names its field."""
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FieldError("text", "is required and must not be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise FieldError("text", f"is {len(text)} characters long, the limit is {MAX_TEXT_LENGTH}")
    image = None
    if data.get("image") is not None:
        if not isinstance(data["image"], str):
            raise FieldError("image", "must be a base64 string")
        try:
            image = base64.b64decode(data["image"], validate=True)
        except binascii.Error:
            raise FieldError("image", "is not valid base64") from None
        if len(image) > MAX_IMAGE_BYTES:
            raise FieldError("image", f"is {len(image)} bytes, the limit is {MAX_IMAGE_BYTES}")
    paging = data.get("paging", True)
    if not isinstance(paging, bool):
        raise FieldError("paging", "must be true or false")
    layout = data.get("layout", "text")
    if not isinstance(layout, str):
        raise FieldError("layout", "must be the name of a layout")
    return MessageContent(
        body=text.strip(),
        title=_optional_text(data, "title", MAX_SHORT_TEXT_LENGTH),
        footer=_optional_text(data, "footer", MAX_SHORT_TEXT_LENGTH),
        pictogram=_optional_text(data, "pictogram", 40) or None,
        qr=_optional_text(data, "qr", 500) or None,
        image=image,
        layout=layout,
        markup=_choice(data, "markup", MARKUP_SYNTAXES, "relais"),  # type: ignore[arg-type]
        role=_choice(data, "role", ROLES, "normal"),
        issued_at=datetime.fromtimestamp(int(issued_at), PANEL_TIME_ZONE),
        paging=paging,
    )


def render_for(content: MessageContent, profile: PanelProfile, panel_id: str | None = None) -> Rendering:
    """Render, turning any rendering problem into a FieldError (422) that names the panel."""
    where = f" (panel {panel_id})" if panel_id else f" (profile {profile.id})"
    try:
        return render(content, profile)
    except MarkupError as exc:
        raise FieldError("text", str(exc), status=422) from None
    except RenderError as exc:
        raise FieldError(exc.field, f"{exc.message}{where}", status=422) from None
    except ValueError as exc:
        # Unknown layout or pictogram, missing glyph, unreadable image, QR too long: all say what.
        raise FieldError(_field_of(exc), f"{exc}{where}", status=422) from None


def _field_of(exc: ValueError) -> str:
    fields: tuple[tuple[type[ValueError], str], ...] = (
        (LayoutError, "layout"),
        (UnknownPictogram, "pictogram"),
        (ImageError, "image"),
        (QrError, "qr"),
    )
    return next((field for kind, field in fields if isinstance(exc, kind)), "text")


def _schedule_fields(db: Database, data: dict[str, Any], now: float) -> dict[str, Any]:
    """When, how often, how urgent, how long, for which campaign: each checked, each error naming its field."""
    starts_at = parse_instant(data, "starts_at") or int(now)
    ends_at = parse_instant(data, "ends_at")
    if ends_at is not None and ends_at <= starts_at:
        raise FieldError("ends_at", "must come after starts_at")
    if ends_at is not None and ends_at <= now:
        raise FieldError("ends_at", "is in the past: the message would never be shown", status=422)
    dwell_s = data.get("dwell_s")
    if dwell_s is not None and (
        not isinstance(dwell_s, int | float) or isinstance(dwell_s, bool) or not 0.5 <= dwell_s <= 3600
    ):
        raise FieldError("dwell_s", "must be a number of seconds from 0.5 to 3600")
    campaign_id = data.get("campaign")
    if campaign_id is not None:
        if not isinstance(campaign_id, int) or isinstance(campaign_id, bool):
            raise FieldError("campaign", "must be a campaign id (a number)")
        if not db.execute("select 1 from campaigns where id = ?", [campaign_id]).fetchone():
            raise FieldError("campaign", f"no campaign {campaign_id}", status=422)
    recurrence = parse_recurrence(data)
    return {
        "starts_at": starts_at,
        "ends_at": ends_at,
        "recurrence": recurrence_to_json(recurrence),
        "priority": parse_priority(data),
        "dwell_s": dwell_s,
        "campaign_id": campaign_id,
    }


def _targets(db: Database, data: dict[str, Any]) -> tuple[Targets, dict[str, Panel]]:
    if isinstance(data.get("panels"), list) and len(data["panels"]) > MAX_TARGETS:
        raise FieldError("panels", f"targets {len(data['panels'])} panels, the limit is {MAX_TARGETS}")
    targets = parse_targets(data)
    panels = get_panels(db)
    unknown = sorted(targets.panels - set(panels))
    if unknown:
        raise FieldError("panels", f"unknown panel(s): {', '.join(unknown)}", status=422)
    chosen = resolve_targets(targets, [panel.info for panel in panels.values()])
    if not chosen:
        raise FieldError("panels", "no panel matches these targets", status=422)
    return targets, {panel_id: panels[panel_id] for panel_id in chosen}


def queue_message(
    db: Database,
    key: Ed25519PrivateKey,
    data: Any,
    *,
    created_by: str,
    now: float | None = None,
    dry_run: bool = False,
) -> QueuedMessage:
    """Everything is checked and rendered before anything is written: a refusal leaves no trace.

    Rendering happens once per profile, however many panels share it; then the schedules of the
    panels it reaches are signed afresh, in the same transaction as the message itself. A dry run
    goes through every check and rolls back: the resolved panels and warnings, nothing published.
    """
    now = time.time() if now is None else now
    content = parse_content(data, now)
    fields = _schedule_fields(db, data, now)
    targets, panels = _targets(db, data)
    checked = set()
    for panel in panels.values():
        if panel.profile_id not in checked:
            render_for(content, panel.profile, panel.id)
            checked.add(panel.profile_id)
    try:
        with transaction(db):
            queued = _record(db, key, content, fields, targets, panels, created_by=created_by, now=now)
            if dry_run:
                raise _DryRun(queued)
    except _DryRun as rolled_back:
        return replace(rolled_back.queued, id=0, item_id="", seqs=dict.fromkeys(rolled_back.queued.seqs, 0))
    return queued


class _DryRun(Exception):
    """Raised inside the transaction to roll it back while keeping what it found."""

    def __init__(self, queued: QueuedMessage) -> None:
        super().__init__("dry run")
        self.queued = queued


def _record(
    db: Database,
    key: Ed25519PrivateKey,
    content: MessageContent,
    fields: dict[str, Any],
    targets: Targets,
    panels: dict[str, Panel],
    *,
    created_by: str,
    now: float,
) -> QueuedMessage:
    message_id = (
        db["messages"]
        .insert(
            {
                "text": content.body,
                "title": content.title,
                "footer": content.footer,
                "layout": content.layout,
                "pictogram": content.pictogram,
                "qr": content.qr,
                "markup": content.markup,
                "role": content.role,
                "paging": int(content.paging),
                "image": content.image,
                "created_by": created_by,
                "created_at": int(now),
                "targets": targets_to_json(targets),
                "paused": 0,
                **fields,
            }
        )
        .last_pk
    )
    db["message_targets"].insert_all({"message_id": message_id, "panel_id": panel_id} for panel_id in panels)
    problems = check_message(db, item_id_for(message_id), panels.values(), now)
    error = next((problem for problem in problems if problem.level == "error"), None)
    if error is not None:
        raise FieldError(error.field, error.message, status=422)
    seqs = republish(db, key, now=now, panel_ids=panels)
    warnings = [asdict(problem) for problem in problems if problem.level == "warning"]
    return QueuedMessage(id=message_id, item_id=item_id_for(message_id), seqs=seqs, warnings=warnings)


def list_messages(db: Database, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = db.query(
        """select m.id, m.text, m.title, m.layout, m.role, m.created_by, m.created_at,
                  group_concat(t.panel_id) as panels
           from messages m left join message_targets t on t.message_id = m.id
           group by m.id order by m.id desc limit ? offset ?""",
        [limit, offset],
    )
    return [
        {
            "id": row["id"],
            "item_id": item_id_for(row["id"]),
            "text": row["text"],
            "title": row["title"],
            "layout": row["layout"],
            "role": row["role"],
            "panels": sorted((row["panels"] or "").split(",")) if row["panels"] else [],
            "created_by": row["created_by"],
            "created_at": iso_utc(row["created_at"]),
        }
        for row in rows
    ]
