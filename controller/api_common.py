"""What every /api/v1 blueprint answers alike: JSON errors naming the field, bodies, pages of lists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from controller.auth import Forbidden, Unauthorized
from controller.errors import FieldError

MAX_PAGE_SIZE = 200


def error(status: int, code: str, message: str, field: str | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return jsonify({"error": body}), status


def _field_error(exc: FieldError) -> tuple[Response, int]:
    return error(exc.status, "invalid", exc.message, exc.field)


def _unauthorized(_exc: Unauthorized) -> tuple[Response, int]:
    response, status = error(401, "unauthorized", "a valid token is required: Authorization: Bearer <token>")
    response.headers["WWW-Authenticate"] = 'Bearer realm="relais"'
    return response, status


def _forbidden(exc: Forbidden) -> tuple[Response, int]:
    return error(403, "forbidden", exc.message)


def _csrf(exc: CSRFError) -> tuple[Response, int]:
    return error(
        400, "csrf", f"a browser session must send the page's X-CSRFToken header ({exc.description})"
    )


def http_error(exc: HTTPException) -> tuple[Response, int]:
    return error(exc.code or 500, exc.name.lower().replace(" ", "-"), exc.description or exc.name)


def register_error_handlers(bp: Blueprint) -> None:
    """Every failure of an API route as ``{"error": {"code", "message", "field"?}}``."""
    bp.register_error_handler(FieldError, _field_error)
    bp.register_error_handler(Unauthorized, _unauthorized)
    bp.register_error_handler(Forbidden, _forbidden)
    bp.register_error_handler(CSRFError, _csrf)
    bp.register_error_handler(HTTPException, http_error)


def json_body() -> Any:
    data = request.get_json(silent=True)
    if data is None:
        raise FieldError("body", "must be JSON (Content-Type: application/json)")
    return data


def json_object() -> dict[str, Any]:
    data = json_body()
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    return data


def page_params() -> tuple[int, int]:
    """``limit`` (1 to 200, default 50) and ``offset`` from the query string."""
    try:
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise FieldError("limit", "limit and offset must be whole numbers") from None
    if not (1 <= limit <= MAX_PAGE_SIZE and offset >= 0):
        raise FieldError("limit", f"limit must be 1 to {MAX_PAGE_SIZE}, offset 0 or more")
    return limit, offset


def page_answer(key: str, items: list[Any], total: int, limit: int, offset: int) -> Response:
    """A list answer, as every list of the API answers: one page of items with the total."""
    return jsonify({key: items, "total": total, "limit": limit, "offset": offset})
