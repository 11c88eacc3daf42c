"""/openapi.json: the API's own description."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from controller.web.openapi import openapi_document

bp = Blueprint("reference", __name__)


@bp.get("/openapi.json")
def openapi() -> Response:
    """Public, like any API reference: it describes the routes, it opens none of them."""
    return jsonify(openapi_document())
