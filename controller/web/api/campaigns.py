"""/campaigns: a department's campaign, the communes it invites and their answers, launching and
stopping it, and its report (JSON or CSV)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlite_utils import Database

from controller.domain import campaigns, messages
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.domain.panels import get_panels
from controller.domain.schedule_fields import TARGET_FIELDS
from controller.domain.scope import answering_commune
from controller.publishing import queueing
from controller.publishing.schedules import republish
from controller.web.api_common import audited, json_body, paged, record_change
from controller.web.auth import current_actor, requires
from controller.web.context import get_db, signing_key
from controller.web.idempotency import idempotent

bp = Blueprint("campaigns", __name__)


def visible_campaign(campaign_id: int) -> dict[str, Any]:
    """A campaign the actor may see; one a commune's user is not invited to answers 404."""
    found = campaigns.get_campaign(get_db(), campaign_id, current_actor())
    if found is None:
        raise FieldError("campaign_id", "no campaign {campaign_id}", status=404, campaign_id=campaign_id)
    return found


def _campaign_panels(campaign_id: int) -> list[str]:
    found = campaigns.get_campaign(get_db(), campaign_id)
    if found is None:
        raise FieldError("campaign_id", "no campaign {campaign_id}", status=404, campaign_id=campaign_id)
    communes = [commune["insee"] for commune in found["communes"]]
    return [panel.id for panel in get_panels(get_db()).values() if panel.commune_insee in communes]


@bp.get("/campaigns")
@requires(Permission.CAMPAIGNS_VIEW)
def list_campaigns() -> Response:
    return paged("campaigns", campaigns.list_campaigns(get_db(), current_actor()))


@bp.post("/campaigns")
@requires(Permission.CAMPAIGNS_MANAGE)
@idempotent
def create_campaign() -> tuple[Response, int]:
    """The campaign, its invited communes, and its ``messages`` (each a message's fields; targets default
    to the campaign's), all or nothing."""
    actor, db, now = current_actor(), get_db(), time.time()
    data = json_body()
    drafts = _draft_campaign_messages(db, data, now)
    with audited(db, "campaign.create", "campaign", read=visible_campaign) as change:
        change.object_id = campaign_id = campaigns.create_campaign(db, data, created_by=actor.name, now=now)
        for draft in drafts:
            queued = queueing.record_message(
                db,
                signing_key(),
                replace(draft, row={**draft.row, "campaign_id": campaign_id}),
                created_by=actor.name,
                organisation=actor.organisation,
                now=now,
            )
            shown = messages.visible_message(db, actor, queued.id, now)
            record_change(db, "message.create", "message", queued.id, None, shown)
    return jsonify(change.after), 201


def _draft_campaign_messages(db: Database, data: Any, now: float) -> list[messages.Draft]:
    """The campaign's ``messages`` checked and drawn before its transaction; each joins the campaign
    when recorded. Targets default to the campaign's."""
    found = data.get("messages") or [] if isinstance(data, dict) else []
    if not isinstance(found, list) or not all(isinstance(message, dict) for message in found):
        raise FieldError("messages", "must be a list of messages (objects with text…)")
    targets = {field: data[field] for field in TARGET_FIELDS if data.get(field)}
    drafts = []
    for number, message in enumerate(found):
        own = any(message.get(field) for field in TARGET_FIELDS)
        try:
            drafts.append(
                queueing.draft_message(db, {**({} if own else targets), **message, "campaign": None}, now=now)
            )
        except FieldError as exc:
            raise exc.at(f"messages[{number}].{exc.field}") from None
    return drafts


@bp.get("/campaigns/<int:campaign_id>")
@requires(Permission.CAMPAIGNS_VIEW)
def show_campaign(campaign_id: int) -> Response:
    return jsonify(visible_campaign(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/invitations")
@requires(Permission.CAMPAIGNS_MANAGE)
def invite_communes(campaign_id: int) -> Response:
    """``{"communes": ["01004", …]}``: more communes are asked; those asked already keep their answer."""
    db, now = get_db(), time.time()
    data = json_body()
    with audited(
        db, "campaign.invite", "campaign", campaign_id, visible_campaign, publish_after=False
    ) as change:
        campaigns.invite(db, campaign_id, data, now)
    return jsonify(change.after)


@bp.post("/campaigns/<int:campaign_id>/answers")
@requires(Permission.CAMPAIGNS_ANSWER)
def answer_campaign(campaign_id: int) -> Response:
    """A commune's answer to an invitation: ``{"commune": "01053", "status": "accepted", "hours": {…}, "max_share": 0.3}``.

    A commune's user answers for its own commune, which ``commune`` defaults to.
    """
    data = json_body()
    commune = answering_commune(current_actor(), data.get("commune") if isinstance(data, dict) else None)
    db, now = get_db(), time.time()
    with audited(db, "campaign.answer", "campaign", campaign_id, visible_campaign) as change:
        campaigns.answer(db, campaign_id, commune, data, answered_by=current_actor().name, now=now)
        # Only the answering commune's panels can change, and only once the campaign is on: a
        # department's 400 answers before launch must not re-sign every panel's schedule 400 times.
        if change.before["launched_at"] is not None:
            panel_ids = [panel.id for panel in get_panels(db).values() if panel.commune_insee == commune]
            republish(db, signing_key(), now=now, panel_ids=panel_ids)
    return jsonify(change.after)


@bp.post("/campaigns/<int:campaign_id>/<action>")
@requires(Permission.CAMPAIGNS_MANAGE)
def campaign_action(campaign_id: int, action: str) -> Response:
    if action not in ("launch", "stop"):
        raise FieldError("action", "is launch or stop", status=404)
    db, now = get_db(), time.time()
    with audited(db, f"campaign.{action}", "campaign", campaign_id, visible_campaign) as change:
        campaigns.set_state(db, campaign_id, action, now)
        republish(db, signing_key(), now=now, panel_ids=_campaign_panels(campaign_id))
    return jsonify(change.after)


@bp.get("/campaigns/<int:campaign_id>/report")
@requires(Permission.CAMPAIGNS_VIEW)
def campaign_report(campaign_id: int) -> Response:
    """Per panel and per commune: displays, hours on air, first and last display; CSV on request.
    A commune's user gets its own commune's part."""
    data = campaigns.report(get_db(), campaign_id, current_actor())
    wants_csv = request.args.get("format") == "csv" or request.accept_mimetypes.best == "text/csv"
    if wants_csv:
        return Response(
            campaigns.report_csv(data),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="campagne-{campaign_id}.csv"'},
        )
    return jsonify(data)
