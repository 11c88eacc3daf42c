"""/targets: what the pages' target picker offers and counts: the departments, communes and tags a
person may target with their panel counts, a search among their panels, and what a choice reaches."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from controller.domain.access import Permission
from controller.domain.panels import get_panels
from controller.domain.target_choices import resolve_choice, search_panels, target_choices
from controller.web.api_common import json_body, page_answer, page_params
from controller.web.auth import current_actor, requires
from controller.web.context import get_db

bp = Blueprint("targets", __name__)


@bp.get("/targets")
@requires(Permission.PANELS_VIEW)
def choices() -> Response:
    """A commune's user is offered its own commune and panels, and the tags no other commune uses."""
    return jsonify(target_choices(get_db(), current_actor().commune_insee))


@bp.get("/targets/panels")
@requires(Permission.PANELS_VIEW)
def panels() -> Response:
    """The panels one may target, found by name, id, commune or INSEE code (``search``), a page at a time."""
    limit, offset = page_params()
    found, total = search_panels(
        get_db(), current_actor().commune_insee, request.args.get("search", ""), limit, offset
    )
    return page_answer("panels", found, total, limit, offset)


@bp.post("/targets/resolve")
@requires(Permission.PANELS_VIEW)
def resolve() -> Response:
    """What a choice reaches, before anything is sent: checked as a message's targets are."""
    return jsonify(resolve_choice(get_panels(get_db()), json_body(), current_actor().commune_insee))
