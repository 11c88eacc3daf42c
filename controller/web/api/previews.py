"""Previews: a queued message, a campaign's, or a draft not stored, drawn as one panel (or one profile) shows it."""

from __future__ import annotations

import time
from urllib.parse import quote

from flask import Blueprint, Response, request

from controller.domain.access import Permission
from controller.domain.alerts import alert_content, alert_words
from controller.domain.errors import FieldError
from controller.domain.messages import parse_content, render_for
from controller.rendering.preview import preview_png
from controller.rendering.profiles import PanelProfile, ProfileError, get_profile
from controller.storage.message_store import stored_content
from controller.web.api.campaigns import visible_campaign
from controller.web.api.messages import visible_message
from controller.web.api.panels import visible_panel
from controller.web.api_common import json_object, png
from controller.web.auth import requires
from controller.web.context import get_db

bp = Blueprint("previews", __name__)


@bp.get("/messages/<int:message_id>/preview.png")
@requires(Permission.MESSAGES_VIEW)
def message_preview(message_id: int) -> Response:
    """What a queued message looks like on one panel, as the panel will show it."""
    panel_id = request.args.get("panel")
    if not panel_id:
        raise FieldError("panel", "is required: ?panel=<panel id>")
    panel = visible_panel(panel_id, "panel", 404)
    visible_message(message_id)
    content = stored_content(get_db(), message_id)
    if content is None:
        raise FieldError("message_id", "no message {message_id}", status=404, message_id=message_id)
    return png(preview_png(render_for(content, panel.profile, panel_id)))


@bp.post("/alerts/preview.png")
@requires(Permission.ALERTS_SEND)
def alert_preview() -> Response:
    """An alert not yet sent, as one kind of panel (``profile``) will draw it: the same layout choice and
    drawing as on air, nothing stored. The sender sees it on each kind of panel before confirming."""
    data = json_object()
    text, title = alert_words(data)
    profile = _profile(data.get("profile"))
    return png(preview_png(render_for(alert_content(text, title, profile), profile)))


def _profile(profile_id: object) -> PanelProfile:
    if not isinstance(profile_id, str):
        raise FieldError("profile", "is required: a profile id, e.g. led-amber-192x64")
    try:
        return get_profile(profile_id)
    except ProfileError as exc:
        raise FieldError("profile", str(exc), status=422) from None


@bp.get("/campaigns/<int:campaign_id>/preview.png")
@requires(Permission.CAMPAIGNS_VIEW)
def campaign_preview(campaign_id: int) -> Response:
    """One of a campaign's messages on one panel: what an invited commune reads before it answers. A
    commune's user sees its own panels only, and may not see the message itself (it reaches beyond)."""
    panel_id, message = request.args.get("panel"), request.args.get("message")
    if not panel_id:
        raise FieldError("panel", "is required: ?panel=<panel id>")
    if message is not None and not message.isdigit():
        raise FieldError("message", "is the id of one of the campaign's messages (a number)")
    messages = visible_campaign(campaign_id)["messages"]
    message_id = int(message) if message is not None else (messages[0] if messages else None)
    if message_id is None or message_id not in messages:
        raise FieldError(
            "message", "campaign {campaign_id} has no such message", status=404, campaign_id=campaign_id
        )
    panel = visible_panel(panel_id, "panel", 404)
    content = stored_content(get_db(), message_id)
    if content is None:
        raise FieldError("message", "no message {message_id}", status=404, message_id=message_id)
    return png(preview_png(render_for(content, panel.profile, panel_id)))


@bp.post("/preview.png")
@requires(Permission.PANELS_VIEW)
def draft_preview() -> Response:
    """A message not yet queued, on one panel (``panel``) or one profile (``profile``): nothing is stored."""
    data = json_object()
    content = parse_content(data, time.time())
    panel_id, profile_id = data.get("panel"), data.get("profile")
    if isinstance(panel_id, str):
        panel = visible_panel(panel_id, "panel", 422)
        rendering = render_for(content, panel.profile, panel_id)
    elif isinstance(profile_id, str):
        rendering = render_for(content, _profile(profile_id))
    else:
        raise FieldError("panel", "give a panel id (panel) or a profile id (profile)")
    response = png(preview_png(rendering))
    response.headers["X-Relais-Pages"] = str(len(rendering.pages))
    # How long one showing lasts, all pages included: the editor weighs it before sending.
    response.headers["X-Relais-Seconds"] = f"{sum(page.dwell_s for page in rendering.pages):g}"
    response.headers["X-Relais-Notes"] = quote(" | ".join(rendering.notes))
    return response
