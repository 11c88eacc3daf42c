"""``GET /metrics`` for Prometheus, and what every request leaves behind: its route, status and duration
counted, a line in the log, and an id in that line and in the ``X-Request-Id`` header.

Who may scrape, any of: an address in ``METRICS_ALLOW`` (networks, ``["127.0.0.1/32", "10.0.0.0/8"]``),
the bearer ``METRICS_TOKEN`` (a secret of the operator's, compared in constant time), or the API token
of a user whose role holds ``metrics.view`` (administrators). Anyone else gets 401 or 403, as the API.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from controller.domain.access import Permission
from controller.publishing.metrics import PER_PANEL_LIMIT, FleetCollector, LinkInstruments
from controller.web.api_common import error
from controller.web.auth import Unauthorized, request_actor
from controller.web.context import broker_watch
from relais.logs import REQUEST_ID

log = logging.getLogger("controller.web.access")

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's own request id (a proxy's) is kept when it is this plain; any other is replaced by ours.
_CALLERS_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The route label of a request no route took (a 404): one value, not one per path tried.
UNMATCHED = "unmatched"

METRICS_DEFAULTS = {"METRICS_ALLOW": (), "METRICS_TOKEN": None, "METRICS_PER_PANEL_LIMIT": PER_PANEL_LIMIT}

bp = Blueprint("metrics", __name__)


def allowed_networks(
    entries: Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``METRICS_ALLOW`` read once at start: a wrong entry stops the controller, naming it."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"METRICS_ALLOW: {entry!r} is not an address nor a network (10.0.0.0/8)"
            ) from None
    return tuple(networks)


def init_metrics(app: Flask) -> LinkInstruments:
    """The app's own registry, its HTTP instruments and /metrics; the instruments the MQTT link counts on."""
    app.extensions["relais.metrics_allow"] = allowed_networks(app.config["METRICS_ALLOW"])
    registry = CollectorRegistry(auto_describe=False)
    app.extensions["relais.metrics"] = registry
    app.extensions["relais.http_seconds"] = Histogram(
        "relais_http_request_duration_seconds",
        "HTTP requests by route template, method and status, with their duration.",
        ["route", "method", "status"],
        buckets=HTTP_BUCKETS,
        registry=registry,
    )
    registry.register(
        FleetCollector(
            Path(app.config["DATABASE"]),
            lambda: broker_watch(app.extensions.get("relais.mqtt_link")),
            app.config["METRICS_PER_PANEL_LIMIT"],
        )
    )
    app.before_request(_request_started)
    app.after_request(_request_done)
    app.teardown_request(_request_forgotten)
    app.register_blueprint(bp)
    return LinkInstruments.on(registry)


def _request_started() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _CALLERS_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    REQUEST_ID.set(g.request_id)


def _request_done(response: Response) -> Response:
    """Count and log the request; a streamed answer (the live panels) is counted when it starts."""
    started = g.get("request_started")
    if started is None:  # a request refused before ``before_request`` ran
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    current_app.extensions["relais.http_seconds"].labels(
        route, request.method, str(response.status_code)
    ).observe(seconds)
    response.headers[REQUEST_ID_HEADER] = g.request_id
    log.info(
        "%s %s %s %.1f ms",
        request.method,
        request.path,
        response.status_code,
        seconds * 1000,
        extra={
            "method": request.method,
            "path": request.path,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "client": request.remote_addr,
        },
    )
    return response


def _request_forgotten(_exc: BaseException | None = None) -> None:
    REQUEST_ID.set(None)


@bp.get("/metrics")
def metrics() -> Response | tuple[Response, int]:
    """The registry in Prometheus' text format, to those allowed (the module's docstring)."""
    refusal = _refusal()
    if refusal is not None:
        return refusal
    return Response(generate_latest(current_app.extensions["relais.metrics"]), mimetype=CONTENT_TYPE_LATEST)


def _refusal() -> tuple[Response, int] | None:
    address = ipaddress.ip_address(request.remote_addr or "0.0.0.0")
    if any(address in network for network in current_app.extensions["relais.metrics_allow"]):
        return None
    configured = current_app.config["METRICS_TOKEN"]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if (
        configured
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), configured.encode())
    ):
        return None
    try:
        actor = request_actor()
    except Unauthorized:
        actor = None
    if actor is None:
        response, status = error(
            401, "unauthorized", "a valid token is required: Authorization: Bearer <token>"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="relais"'
        return response, status
    if not actor.can(Permission.METRICS_VIEW):
        return error(
            403,
            "forbidden",
            "the role {role} may not do this (needs {permissions})",
            role=actor.role.value,
            permissions=Permission.METRICS_VIEW.value,
        )
    return None
