"""/audit: the audit log, read only; no method here, nor anywhere, edits or deletes an entry."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from controller.domain import audit
from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.web.api_common import page_answer, page_params
from controller.web.auth import requires
from controller.web.context import get_db

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@requires(Permission.AUDIT_VIEW)
def audit_log() -> Response:
    """Newest first, filtered; ``?format=csv`` exports every matching entry (no pagination) for a spreadsheet."""
    filters = {key: request.args[key] for key in audit.FILTERS if request.args.get(key)}
    db = get_db()
    if request.args.get("format") == "csv":
        found, _total = audit.entries(db, filters)
        return Response(
            audit.entries_csv(found).encode("utf-8"),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="journal-audit.csv"'},
        )
    limit, offset = page_params()
    found, total = audit.entries(db, filters, limit, offset)
    return page_answer("entries", found, total, limit, offset)


@bp.get("/audit/<int:entry_id>")
@requires(Permission.AUDIT_VIEW)
def audit_entry(entry_id: int) -> Response:
    found = audit.entry(get_db(), entry_id)
    if found is None:
        raise FieldError("entry_id", "no audit entry {entry_id}", status=404, entry_id=entry_id)
    return jsonify(found)
