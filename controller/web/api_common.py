"""What every /api/v1 blueprint shares: JSON errors naming the field, bodies, pages of lists, PNG
answers, and the shape of an audited change (before, change, after, audit entry, then publish)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

from flask import Blueprint, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from sqlite_utils import Database
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from controller.domain import audit
from controller.domain.errors import FieldError, translatable
from controller.storage.db import transaction
from controller.web.auth import Forbidden, Unauthorized, csrf, current_actor
from controller.web.context import mqtt_link
from controller.web.i18n import error_text

API_PREFIX = "/api/v1"

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# SQLite's integers are 64-bit: no row has a larger id, no query a larger offset.
MAX_INTEGER = 2**63 - 1
# Our bodies nest 3 levels at most (a message's recurrence); this leaves room, and no stack to blow.
MAX_JSON_DEPTH = 16
# Half a UTF-16 pair alone: JSON's "\ud800" decodes to it, and no UTF-8 (SQLite, the panels) can hold it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def error(
    status: int, code: str, message: str, field: str | None = None, /, **params: object
) -> tuple[Response, int]:
    """``{"error": {"code", "message", "field"?}}``: the message, an English template with ``{name}``
    placeholders (pybabel keyword ``error:3``), in the client's language; the code and field as they are."""
    body: dict[str, Any] = {"code": code, "message": error_text(message, params)}
    if field is not None:
        body["field"] = field
    return jsonify({"error": body}), status


def _field_error(exc: FieldError) -> tuple[Response, int]:
    return error(exc.status, "invalid", exc.template, exc.field, **exc.params)


def _unauthorized(_exc: Unauthorized) -> tuple[Response, int]:
    response, status = error(401, "unauthorized", "a valid token is required: Authorization: Bearer <token>")
    response.headers["WWW-Authenticate"] = 'Bearer realm="relais"'
    return response, status


def _forbidden(exc: Forbidden) -> tuple[Response, int]:
    return error(403, "forbidden", exc.template, **exc.params)


def _csrf(exc: CSRFError) -> tuple[Response, int]:
    return error(
        400,
        "csrf",
        "a browser session must send the page's X-CSRFToken header ({reason})",
        reason=exc.description,
    )


def http_error(exc: HTTPException) -> tuple[Response, int]:
    """Werkzeug's refusals as JSON: ours (``IdOutOfRange``, ``BodyTooLarge``) with their template, werkzeug's
    own 404 and 405 in the client's language too, any other as werkzeug words it."""
    field = getattr(exc, "field", None)
    code = exc.name.lower().replace(" ", "-")
    if isinstance(exc, IdOutOfRange | BodyTooLarge):
        return error(exc.code or 500, code, exc.template, field, **exc.params)
    if isinstance(exc, NotFound) and exc.description == NotFound.description:
        return error(
            404,
            code,
            "The requested URL was not found on the server. If you entered the URL manually please check"
            " your spelling and try again.",
        )
    if isinstance(exc, MethodNotAllowed) and exc.description == MethodNotAllowed.description:
        return error(405, code, "The method is not allowed for the requested URL.")
    return error(exc.code or 500, code, "{reason}", field, reason=exc.description or exc.name)


class IdOutOfRange(NotFound):
    """An id in the path (``/messages/<int:message_id>``) larger than any row can have."""

    template = translatable("{name} {value} is out of range: ids go up to {highest}")

    def __init__(self, field: str, value: int) -> None:
        self.params: dict[str, object] = {"name": field, "value": value, "highest": MAX_INTEGER}
        super().__init__(self.template.format(**self.params))
        self.field = field


def refuse_ids_out_of_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """For every route of the app, pages too: an int in its path that SQLite cannot hold is a 404."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and value > MAX_INTEGER:
            raise IdOutOfRange(name, value)


class BodyTooLarge(RequestEntityTooLarge):
    """A body over ``MAX_CONTENT_LENGTH``, refused before it is read."""

    template = translatable("the request body is over the limit of {limit} bytes")

    def __init__(self, limit: int | None) -> None:
        self.params: dict[str, object] = {"limit": limit}
        super().__init__(self.template.format(**self.params))
        self.field = "body"


def body_too_large(_exc: RequestEntityTooLarge) -> tuple[Response, int] | HTTPException:
    """Naming the limit: as JSON under /api, as werkzeug's page for the pages' forms."""
    refusal = BodyTooLarge(request.max_content_length)
    return http_error(refusal) if request.path.startswith("/api/") else refusal


def api_blueprint(name: str, resources: Iterable[Blueprint]) -> Blueprint:
    """The resources' blueprints under /api/v1, each failure of their routes as
    ``{"error": {"code", "message", "field"?}}``.

    CSRF is checked by ``requires``, and only for browser sessions: scripts with a token have no cookie.
    """
    parent = Blueprint(name, __name__, url_prefix=API_PREFIX)
    parent.register_error_handler(FieldError, _field_error)
    parent.register_error_handler(Unauthorized, _unauthorized)
    parent.register_error_handler(Forbidden, _forbidden)
    parent.register_error_handler(CSRFError, _csrf)
    parent.register_error_handler(HTTPException, http_error)
    for resource in resources:
        csrf.exempt(resource)  # flask-wtf exempts a nested blueprint by its own name only
        parent.register_blueprint(resource)
    return parent


def dry_run_asked() -> bool:
    """``?dry_run=1``: check (and draw) what the request would do, write nothing."""
    return request.args.get("dry_run", "").lower() in ("1", "true", "yes")


def json_body() -> Any:
    """The request's JSON, every value checked: nesting, text that UTF-8 can hold, 64-bit numbers."""
    not_json = FieldError("body", "must be JSON (Content-Type: application/json)")
    if not request.is_json:
        raise not_json
    try:
        data = json.loads(request.get_data(cache=True), parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise not_json from None
    _check_values(data)
    return data


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _too_deep() -> FieldError:
    return FieldError("body", "is nested too deep: the limit is {limit} levels", limit=MAX_JSON_DEPTH)


def _check_values(data: Any) -> None:
    """Refuse, naming the field (``panels[2]``, ``recurrence.windows``), what would fail further on:
    nesting deeper than ``MAX_JSON_DEPTH``, a lone surrogate in a string or a key, a whole number
    SQLite cannot store, a number that is not finite (``1e999``)."""
    pending: list[tuple[Any, str, int]] = [(data, "body", 1)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            for key, item in value.items():
                inner = key if path == "body" else f"{path}.{key}"
                if not key.isascii() and LONE_SURROGATE.search(key):
                    raise FieldError(path, "has a key that is not valid Unicode (a lone surrogate)")
                pending.append((item, inner, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str):
            if not value.isascii() and LONE_SURROGATE.search(value):
                raise FieldError(path, "is not valid Unicode text (a lone surrogate such as \\ud800)")
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
            raise FieldError(
                path,
                "is out of range: whole numbers go from {lowest} to {highest}",
                lowest=-MAX_INTEGER - 1,
                highest=MAX_INTEGER,
            )
        elif isinstance(value, float) and not math.isfinite(value):
            raise FieldError(path, "must be a finite number")


def json_object() -> dict[str, Any]:
    data = json_body()
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    return data


def page_params() -> tuple[int, int]:
    """``limit`` (1 to ``MAX_PAGE_SIZE``, default ``DEFAULT_PAGE_SIZE``) and ``offset`` from the query
    string."""
    limit = _whole_number("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = _whole_number("offset", 0, 0, MAX_INTEGER)
    return limit, offset


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        raise FieldError(name, "{name} must be a whole number", name=name) from None
    if not low <= value <= high:
        raise FieldError(name, "{name} must be {low} to {high}", name=name, low=low, high=high)
    return value


def page_answer(key: str, items: list[Any], total: int, limit: int, offset: int) -> Response:
    """A list answer, as every list of the API answers: one page of items with the total."""
    return jsonify({key: items, "total": total, "limit": limit, "offset": offset})


def paged(key: str, items: list[Any]) -> Response:
    """A list held whole: one page of ``items`` with the total."""
    limit, offset = page_params()
    return page_answer(key, items[offset : offset + limit], len(items), limit, offset)


def png(data: bytes) -> Response:
    return Response(data, mimetype="image/png", headers={"Cache-Control": "no-store"})


def publish() -> None:
    """Hand what was just sealed to the broker now rather than at the next outbox sweep."""
    link = mqtt_link()
    if link is not None:
        link.flush()


def record_change(
    db: Database, action: str, object_type: str, object_id: object, before: Any, after: Any
) -> None:
    """An audit entry for this request's actor; call inside the transaction making the change."""
    audit.record(
        db, current_actor(), action, object_type, str(object_id), before, after, ip=request.remote_addr
    )


@dataclass
class Change:
    """One audited change: the route may set what ``audited`` cannot read itself (a new object's id,
    an ``after`` it already holds, an ``action`` known once the change is made), or ``recorded = False``
    when nothing changed."""

    action: str
    object_id: object
    before: Any = None
    after: Any = None
    recorded: bool = True


@contextmanager
def audited(
    db: Database,
    action: str,
    object_type: str,
    object_id: object = None,
    read: Callable[[Any], Any] | None = None,
    *,
    publish_after: bool = True,
) -> Iterator[Change]:
    """A change in one write transaction with its audit entry, then published.

    ``read(object_id)`` gives the object as the API shows it: before the change (when the object
    exists) and after it (unless the route set ``after``). What must not happen under the write lock
    (drafting, drawing, checks of the body) comes before. ``publish_after`` hands what the change
    sealed to the broker once committed.
    """
    with transaction(db):
        before = read(object_id) if read is not None and object_id is not None else None
        change = Change(action, object_id, before)
        yield change
        if change.recorded:
            if change.after is None and read is not None:
                change.after = read(change.object_id)
            record_change(db, change.action, object_type, change.object_id, change.before, change.after)
    if publish_after:
        publish()
