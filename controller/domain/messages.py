"""Queuing a message: validate, render once per panel profile, then record and seal in one transaction."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from controller.dates import PARIS, iso_utc
from controller.domain.access import Actor
from controller.domain.accounts import approval_required
from controller.domain.errors import FieldError, undrawable, within_length
from controller.domain.panels import Panel, get_panels
from controller.domain.schedule_fields import (
    TARGET_FIELDS,
    parse_instant,
    parse_priority,
    parse_recurrence,
    recurrence_from_json,
    recurrence_to_json,
    targets_to_json,
    utc,
)
from controller.domain.scope import sees_message, targets_seen_by
from controller.domain.target_choices import targeted_panels
from controller.rendering.drawings import drawable
from controller.rendering.engine import (
    ROLES,
    MessageContent,
    RenderError,
    Rendering,
    unshown_fields,
)
from controller.rendering.images import MAX_IMAGE_BYTES
from controller.rendering.markup import MARKUP_SYNTAXES
from controller.rendering.profiles import PanelProfile
from controller.scheduling.model import Targets
from controller.scheduling.recurrence import active_intervals
from controller.storage.message_store import item_id_for

MAX_TEXT_LENGTH = 1000
MAX_SHORT_TEXT_LENGTH = 200

APPROVED, PENDING, REJECTED = "approved", "pending", "rejected"
CONTENT_FIELDS = ("text", "title", "footer", "layout", "pictogram", "qr", "image", "markup", "role", "paging")
SCHEDULE_FIELDS = ("starts_at", "ends_at", "recurrence", "priority", "dwell_s", "campaign")
EDITABLE_FIELDS = frozenset((*CONTENT_FIELDS, *SCHEDULE_FIELDS, *TARGET_FIELDS))
STATUSES = ("pending-approval", "rejected", "scheduled", "on-air", "paused", "cancelled", "ended")
# Every column but the image, which lists and audit entries do not carry.
COLUMNS = """m.id, m.text, m.title, m.footer, m.layout, m.pictogram, m.qr, m.markup, m.role, m.paging,
    m.image is not null as has_image, m.created_by, m.created_at, m.starts_at, m.ends_at, m.recurrence,
    m.priority, m.dwell_s, m.campaign_id, m.targets, m.paused, m.cancelled_at, m.organisation,
    m.commune_insee, m.approval, m.approved_by, m.approved_at, m.rejected_by, m.rejected_at,
    m.rejected_reason, m.changed_by, m.changed_at"""


def _optional_text(data: dict[str, Any], field: str, limit: int) -> str:
    value = data.get(field) or ""
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    return within_length(field, value, limit).strip()


def _choice(data: dict[str, Any], field: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(field, default)
    if value not in choices:
        raise FieldError(field, "must be one of {choices}", choices=", ".join(choices))
    return value


def parse_content(data: Any, issued_at: float) -> MessageContent:
    """The message fields of a request, checked; each error names its field."""
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FieldError("text", "is required and must not be empty")
    within_length("text", text, MAX_TEXT_LENGTH)
    image = None
    if data.get("image") is not None:
        if not isinstance(data["image"], str):
            raise FieldError("image", "must be a base64 string")
        try:
            image = base64.b64decode(data["image"], validate=True)
        except binascii.Error:
            raise FieldError("image", "is not valid base64") from None
        if len(image) > MAX_IMAGE_BYTES:
            raise FieldError(
                "image",
                "is {size} bytes, the limit is {max_image_bytes}",
                size=len(image),
                max_image_bytes=MAX_IMAGE_BYTES,
            )
    paging = data.get("paging", True)
    if not isinstance(paging, bool):
        raise FieldError("paging", "must be true or false")
    layout = data.get("layout", "text")
    if not isinstance(layout, str):
        raise FieldError("layout", "must be the name of a layout")
    return MessageContent(
        body=text,  # as typed: the markup's error positions count from its first character
        title=_optional_text(data, "title", MAX_SHORT_TEXT_LENGTH),
        footer=_optional_text(data, "footer", MAX_SHORT_TEXT_LENGTH),
        pictogram=_optional_text(data, "pictogram", 40) or None,
        qr=_optional_text(data, "qr", 500) or None,
        image=image,
        layout=layout,
        markup=_choice(data, "markup", MARKUP_SYNTAXES, "relais"),  # type: ignore[arg-type]
        role=_choice(data, "role", ROLES, "normal"),
        issued_at=datetime.fromtimestamp(int(issued_at), PARIS),
        paging=paging,
    )


def render_for(content: MessageContent, profile: PanelProfile, panel_id: str | None = None) -> Rendering:
    """Render, turning any rendering problem into a FieldError (422) that names the panel."""
    rendering = drawable(content, profile)
    if isinstance(rendering, RenderError):
        raise undrawable(rendering, f"panneau {panel_id}" if panel_id else f"profil {profile.id}")
    return rendering


def schedule_fields(
    db: Database, data: dict[str, Any], now: float, commune_insee: str | None = None
) -> dict[str, Any]:
    """When, how often, how urgent, how long, for which campaign: each checked, each error naming its field.

    A commune's own message joins no campaign: campaigns are the prefecture's, with the commune's consent.
    """
    starts_at = parse_instant(data, "starts_at") or int(now)
    ends_at = parse_instant(data, "ends_at")
    # The past first: an end before a start left empty (now) is an end in the past, not before starts_at.
    if ends_at is not None and ends_at <= now:
        raise FieldError("ends_at", "is in the past: the message would never be shown", status=422)
    if ends_at is not None and ends_at <= starts_at:
        raise FieldError("ends_at", "must come after starts_at")
    dwell_s = data.get("dwell_s")
    if dwell_s is not None and (
        not isinstance(dwell_s, int | float) or isinstance(dwell_s, bool) or not 0.5 <= dwell_s <= 3600
    ):
        raise FieldError("dwell_s", "must be a number of seconds from 0.5 to 3600")
    campaign_id = data.get("campaign")
    if campaign_id is not None:
        if not isinstance(campaign_id, int) or isinstance(campaign_id, bool):
            raise FieldError("campaign", "must be a campaign id (a number)")
        if commune_insee is not None:
            raise FieldError("campaign", "a commune's message cannot join a campaign", status=403)
        if not db.execute("select 1 from campaigns where id = ?", [campaign_id]).fetchone():
            raise FieldError("campaign", "no campaign {campaign_id}", status=422, campaign_id=campaign_id)
    recurrence = parse_recurrence(data)
    return {
        "starts_at": starts_at,
        "ends_at": ends_at,
        "recurrence": recurrence_to_json(recurrence),
        "priority": parse_priority(data),
        "dwell_s": dwell_s,
        "campaign_id": campaign_id,
    }


def message_targets(
    db: Database, data: dict[str, Any], commune_insee: str | None = None
) -> tuple[Targets, dict[str, Panel]]:
    """The targets and the panels they reach; a commune's user reaches its own commune only."""
    panels = get_panels(db)
    targets, chosen = targeted_panels(panels, data, commune_insee)
    if not chosen:
        raise FieldError("panels", "no panel matches these targets", status=422)
    return targets, {panel_id: panels[panel_id] for panel_id in chosen}


@dataclass(frozen=True)
class Draft:
    """A message checked and drawn for every panel it reaches; nothing written yet."""

    row: dict[str, Any]
    panels: dict[str, Panel]
    warnings: list[dict[str, str]]


def unshown_warnings(content: MessageContent) -> list[dict[str, str]]:
    """A warning for each field given that the layout has no zone for: it is stored, never shown."""
    return [
        {
            "level": "warning",
            "code": "field-not-shown",
            "field": field,
            "message": f"the layout '{content.layout}' has no {field} zone: this {field} is not shown",
        }
        for field in unshown_fields(content)
    ]


def check_renders(content: MessageContent, panels: dict[str, Panel]) -> None:
    """Render once per profile among the panels: a text that fits nowhere is refused before any write."""
    checked = set()
    for panel in panels.values():
        if panel.profile_id not in checked:
            render_for(content, panel.profile, panel.id)
            checked.add(panel.profile_id)


def content_columns(content: MessageContent) -> dict[str, Any]:
    return {
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
    }


def fetch_message(db: Database, message_id: int) -> dict[str, Any]:
    row = db.execute(f"select {COLUMNS} from messages m where m.id = ?", [message_id]).fetchone()
    if row is None:
        raise FieldError("message_id", "no message {message_id}", status=404, message_id=message_id)
    names = [column[0] for column in db.execute(f"select {COLUMNS} from messages m limit 0").description]
    return dict(zip(names, row, strict=True))


def reached_panels(db: Database, message_ids: list[int] | None = None) -> dict[int, list[tuple[str, str]]]:
    """Each message's panels with their commune, as recorded when it was queued or last edited."""
    where = "" if message_ids is None else f"where t.message_id in ({','.join('?' for _ in message_ids)})"
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for message_id, panel_id, commune in db.execute(
        f"""select t.message_id, t.panel_id, p.commune_insee from message_targets t
            join panels p on p.id = t.panel_id {where} order by t.panel_id""",
        message_ids or [],
    ):
        found[message_id].append((panel_id, commune))
    return found


def message_status(row: dict[str, Any], now: float) -> str:
    """What a person asks first: waiting, refused, coming, showing now, paused, cancelled or over."""
    if row["cancelled_at"] is not None:
        return "cancelled"
    if row["approval"] == PENDING:
        return "pending-approval"
    if row["approval"] == REJECTED:
        return "rejected"
    if row["ends_at"] is not None and row["ends_at"] <= now:
        return "ended"
    if row["paused"]:
        return "paused"
    ends = None if row["ends_at"] is None else utc(row["ends_at"])
    recurrence = recurrence_from_json(row["recurrence"])
    showing = active_intervals(utc(row["starts_at"]), ends, recurrence, utc(now), utc(now + 1))
    return "on-air" if showing else "scheduled"


def message_json(row: dict[str, Any], panels: list[tuple[str, str]], actor: Actor | None, now: float) -> dict:
    """A message as the API shows it; a commune's user sees only its own commune's panels among those reached."""
    visible = [panel_id for panel_id, commune in panels if actor is None or actor.sees_commune(commune)]
    return {
        "id": row["id"],
        "item_id": item_id_for(row["id"]),
        "status": message_status(row, now),
        "text": row["text"],
        "title": row["title"],
        "footer": row["footer"],
        "layout": row["layout"],
        "pictogram": row["pictogram"],
        "qr": row["qr"],
        "markup": row["markup"],
        "role": row["role"],
        "paging": bool(row["paging"]),
        "has_image": bool(row["has_image"]),
        "starts_at": iso_utc(row["starts_at"]),
        "ends_at": iso_utc(row["ends_at"]),
        "recurrence": json.loads(row["recurrence"]) if row["recurrence"] else None,
        "priority": row["priority"],
        "dwell_s": row["dwell_s"],
        "campaign": row["campaign_id"],
        "targets": targets_seen_by(actor, json.loads(row["targets"] or "{}"), visible),
        "panels": visible,
        "paused": bool(row["paused"]),
        "organisation": row["organisation"],
        "commune": row["commune_insee"],
        "created_by": row["created_by"],
        "created_at": iso_utc(row["created_at"]),
        "changed_by": row["changed_by"],
        "changed_at": iso_utc(row["changed_at"]),
        "approved_by": row["approved_by"],
        "approved_at": iso_utc(row["approved_at"]),
        "rejected_by": row["rejected_by"],
        "rejected_at": iso_utc(row["rejected_at"]),
        "rejected_reason": row["rejected_reason"],
        "cancelled_at": iso_utc(row["cancelled_at"]),
    }


def visible_message(db: Database, actor: Actor, message_id: int, now: float) -> dict[str, Any]:
    """One message as the actor may see it; another commune's is answered as absent (404)."""
    row = fetch_message(db, message_id)
    panels = reached_panels(db, [message_id])[message_id]
    if not sees_message(actor, row["commune_insee"], (commune for _, commune in panels)):
        raise FieldError("message_id", "no message {message_id}", status=404, message_id=message_id)
    return message_json(row, panels, actor, now)


def list_messages(
    db: Database, actor: Actor, now: float, *, status: str | None = None, commune: str | None = None
) -> list[dict[str, Any]]:
    """The messages the actor may see, newest first; ``status`` and ``commune`` (a commune whose
    panels they reach, or whose message it is) narrow them."""
    if status is not None and status not in STATUSES:
        raise FieldError("status", "must be one of {choices}", choices=", ".join(STATUSES))
    reached = reached_panels(db)
    names = [column[0] for column in db.execute(f"select {COLUMNS} from messages m limit 0").description]
    found = []
    for values in db.execute(f"select {COLUMNS} from messages m order by m.id desc"):
        row = dict(zip(names, values, strict=True))
        panels = reached.get(row["id"], [])
        communes = {panel_commune for _, panel_commune in panels}
        if not sees_message(actor, row["commune_insee"], communes):
            continue
        if commune is not None and commune != row["commune_insee"] and commune not in communes:
            continue
        shown = message_json(row, panels, actor, now)
        if status is None or shown["status"] == status:
            found.append(shown)
    return found


def _as_request(row: dict[str, Any], image: bytes | None) -> dict[str, Any]:
    """A stored message written back as the request that would queue it, to apply an edit over it."""
    data: dict[str, Any] = {
        field: row[field]
        for field in ("text", "title", "footer", "layout", "pictogram", "qr", "markup", "role")
    }
    data.update(
        paging=bool(row["paging"]),
        image=None if image is None else base64.b64encode(image).decode(),
        starts_at=iso_utc(row["starts_at"]),
        ends_at=iso_utc(row["ends_at"]),
        recurrence=json.loads(row["recurrence"]) if row["recurrence"] else None,
        priority=row["priority"],
        dwell_s=row["dwell_s"],
        campaign=row["campaign_id"],
    )
    targets = json.loads(row["targets"] or "{}")
    return {**data, **{field: targets.get(field) or None for field in TARGET_FIELDS}}


@dataclass(frozen=True)
class Edit:
    """An edit checked against the message as stored: the columns it changes, the panels the message
    reached before and the ones it reaches after, and whether anything but ``paused`` changes."""

    row: dict[str, Any]
    changes: dict[str, Any]
    before: set[str]
    panels: dict[str, Panel]
    edited: bool
    warnings: list[dict[str, str]]


def check_edit_request(db: Database, message_id: int, data: Any, now: float) -> Edit:
    if not isinstance(data, dict) or not data:
        raise FieldError("body", "must be a JSON object with the fields to change")
    unknown = sorted(set(data) - EDITABLE_FIELDS - {"paused"})
    if unknown:
        raise FieldError(unknown[0], "cannot be changed: not a message field")
    row = fetch_message(db, message_id)
    if row["cancelled_at"] is not None:
        raise FieldError(
            "message_id",
            "message {message_id} is cancelled: queue a new one",
            status=409,
            message_id=message_id,
        )
    changes: dict[str, Any] = {}
    warnings: list[dict[str, str]] = []
    if "paused" in data:
        if not isinstance(data["paused"], bool):
            raise FieldError("paused", "must be true or false")
        changes["paused"] = int(data["paused"])
    before = {panel_id for panel_id, _ in reached_panels(db, [message_id])[message_id]}
    panels = get_panels(db, sorted(before))
    edits = {field: value for field, value in data.items() if field != "paused"}
    if edits:
        merged = _as_request(row, db.table("messages").get(message_id)["image"])
        if any(field in edits for field in TARGET_FIELDS):
            merged.update(dict.fromkeys(TARGET_FIELDS))  # new targets replace the old ones whole
        merged.update(edits)
        content = parse_content(merged, row["created_at"])
        fields = schedule_fields(db, merged, now, row["commune_insee"])
        targets, panels = message_targets(db, merged, row["commune_insee"])
        check_renders(content, panels)
        warnings = unshown_warnings(content)
        changes.update(content_columns(content), **fields, targets=targets_to_json(targets))
        if approval_required(db, row["organisation"], "messages"):
            changes.update(approval=PENDING, approved_by=None, approved_at=None)
            changes.update(rejected_by=None, rejected_at=None, rejected_reason=None)
    return Edit(row, changes, before, panels, bool(edits), warnings)
