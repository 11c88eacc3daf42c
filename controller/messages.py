"""Queuing a message: validate, render once per panel profile, then record and seal in one transaction."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from controller.clock import iso_utc
from controller.db import transaction
from controller.errors import FieldError
from controller.outbox import stage_desired
from controller.panels import Panel, get_panels
from controller.rendering.engine import ROLES, MessageContent, RenderError, Rendering, render
from controller.rendering.images import MAX_IMAGE_BYTES, ImageError
from controller.rendering.layouts import LayoutError
from controller.rendering.markup import MARKUP_SYNTAXES, MarkupError
from controller.rendering.pictograms import UnknownPictogram
from controller.rendering.profiles import PanelProfile
from controller.rendering.qr import QrError

MAX_TEXT_LENGTH = 1000
MAX_SHORT_TEXT_LENGTH = 200
MAX_TARGETS = 5000
PANEL_TIME_ZONE = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    item_id: str
    seqs: dict[str, int]


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


def _targets(db: Database, data: dict[str, Any]) -> dict[str, Panel]:
    panel_ids = data.get("panels")
    if not isinstance(panel_ids, list) or not panel_ids:
        raise FieldError("panels", "is required: a non-empty list of panel ids")
    if not all(isinstance(panel_id, str) for panel_id in panel_ids):
        raise FieldError("panels", "must contain panel ids as strings")
    if len(panel_ids) > MAX_TARGETS:
        raise FieldError("panels", f"targets {len(panel_ids)} panels, the limit is {MAX_TARGETS}")
    panels = get_panels(db, list(dict.fromkeys(panel_ids)))
    unknown = [panel_id for panel_id in panel_ids if panel_id not in panels]
    if unknown:
        raise FieldError("panels", f"unknown panel(s): {', '.join(unknown)}", status=422)
    return panels


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
    """Everything is checked and rendered before anything is written: a refusal leaves no trace.

    Rendering happens once per profile, however many panels share it.
    """
    now = time.time() if now is None else now
    content = parse_content(data, now)
    panels = _targets(db, data)
    renderings = {}
    for panel in panels.values():
        if panel.profile_id not in renderings:
            renderings[panel.profile_id] = render_for(content, panel.profile, panel.id)
    with transaction(db):
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
                }
            )
            .last_pk
        )
        db["message_targets"].insert_all(
            {"message_id": message_id, "panel_id": panel_id} for panel_id in panels
        )
        item_id = item_id_for(message_id)
        seqs = {
            panel.id: stage_desired(
                db,
                key,
                panel.id,
                renderings[panel.profile_id].display_item(item_id, content.body),
                message_id=message_id,
                now=now,
                ttl_s=ttl_s,
            )
            for panel in panels.values()
        }
    return QueuedMessage(id=message_id, item_id=item_id, seqs=seqs)


def stored_content(db: Database, message_id: int) -> MessageContent | None:
    """A queued message's content exactly as it was rendered, for previews after the fact."""
    try:
        fields = db["messages"].get(message_id)
    except NotFoundError:
        return None
    return MessageContent(
        body=fields["text"],
        title=fields["title"] or "",
        footer=fields["footer"] or "",
        pictogram=fields["pictogram"],
        qr=fields["qr"],
        image=fields["image"],
        layout=fields["layout"] or "text",
        markup=fields["markup"] or "plain",
        role=fields["role"] or "normal",
        issued_at=datetime.fromtimestamp(fields["created_at"], PANEL_TIME_ZONE),
        paging=bool(fields["paging"]),
    )


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
