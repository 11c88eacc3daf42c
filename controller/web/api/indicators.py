"""/indicators: the prefecture's steering indicators, per campaign, commune and ISO week, and the
department's panels online; JSON, or CSV for a spreadsheet (``table=online``: the panels online per day)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from controller.domain import indicators
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.web.auth import current_actor, requires
from controller.web.context import get_db
from controller.web.public import visits

bp = Blueprint("indicators", __name__)
CSV_TABLES = {"weeks": indicators.weeks_csv, "online": indicators.online_csv}


def figures() -> dict[str, object]:
    """The figures the request's filters ask for, the public channels' latest openings written first."""
    filters = indicators.parse_filters(request.args)
    visits().write(get_db())
    return indicators.indicators(get_db(), current_actor(), filters, time.time())


@bp.get("/indicators")
@requires(Permission.CAMPAIGNS_MANAGE)
def reach() -> Response:
    """Filters: ``campaign``, ``commune`` (INSEE), ``from`` and ``to`` (ISO weeks, included)."""
    table = request.args.get("table", "weeks")
    if table not in CSV_TABLES:
        raise FieldError("table", "must be one of {choices}", choices=", ".join(CSV_TABLES))
    data = figures()
    if request.args.get("format") == "csv" or request.accept_mimetypes.best == "text/csv":
        return Response(
            CSV_TABLES[table](data),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="indicateurs-{table}.csv"'},
        )
    return jsonify(data)
