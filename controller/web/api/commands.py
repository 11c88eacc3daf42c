"""/panels/<id>/commands: what was sent to a panel, and sending it one (refresh, brightness, blank, test
pattern, screenshot, identify), signed and handed to the broker at once."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify

from controller.domain.access import Permission
from controller.domain.commands import command_log, record_command
from controller.domain.errors import FieldError
from controller.publishing.outbox import command_expires_at, seal_command
from controller.web.api.panels import one_panel
from controller.web.api_common import audited, error, json_object, page_answer, page_params
from controller.web.auth import current_actor, requires
from controller.web.context import get_db, mqtt_link, signing_key
from controller.web.idempotency import idempotent
from relais import wire

bp = Blueprint("commands", __name__)


@bp.get("/panels/<panel_id>/commands")
@requires(Permission.PANELS_VIEW)
def panel_commands(panel_id: str) -> Response:
    """The commands sent to a panel, newest first, each with the panel's acknowledgement once it came."""
    one_panel(panel_id)
    limit, offset = page_params()
    rows, total = command_log(get_db(), panel_id, limit, offset)
    return page_answer("commands", rows, total, limit, offset)


@bp.post("/panels/<panel_id>/commands")
@requires(Permission.PANELS_COMMAND)
@idempotent
def send_command(panel_id: str) -> tuple[Response, int]:
    """``{"command", "args"}``, checked with the agent's own rules so a typo is a 400, not a refusal later.

    The command is recorded, audited and handed to the broker in one transaction: one the broker did
    not take leaves no trace.
    """
    one_panel(panel_id)
    data = json_object()
    try:
        command = wire.Command.from_content(data, patterns=wire.TEST_PATTERNS)
    except wire.CommandError as exc:
        raise FieldError(exc.field, exc.template, 400, **exc.params) from None
    link = mqtt_link()
    if link is None or not link.connected.is_set():
        return error(503, "broker-unavailable", "the broker is not reachable now; try again")
    db, now = get_db(), time.time()
    with audited(db, "command.send", "panel", panel_id, publish_after=False) as change:
        seq, payload = seal_command(db, signing_key(), panel_id, command.name, now, command.args)
        shown = {"panel": panel_id, "command": command.name, "args": command.args, "seq": seq}
        change.after = {"id": record_command(db, panel_id, seq, command, current_actor().name, now), **shown}
        if not link.send_command(panel_id, payload, command_expires_at(now)):
            raise _BrokerRefused()
    return jsonify(change.after), 202


class _BrokerRefused(Exception):
    """Raised inside the command's transaction to roll it back."""


@bp.errorhandler(_BrokerRefused)
def _broker_refused(_exc: _BrokerRefused) -> tuple[Response, int]:
    return error(503, "broker-unavailable", "the command could not be handed to the broker")
