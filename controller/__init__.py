"""Relais controller: the web app and REST API, the renderer, the outbox and the MQTT link.

``create_app(config)`` builds the Flask app; it connects to a broker only when ``BROKER_URL`` is
set (``BROKER_CA_FILE``: the CA it trusts for ``mqtts://``), and starts the scheduler only when ``SCHEDULER_ENABLED`` is true, so tests choose what runs.
``MAX_CONTENT_LENGTH`` caps every request body (default ``MAX_REQUEST_BYTES``). ``METRICS_ALLOW``,
``METRICS_TOKEN`` and ``METRICS_PER_PANEL_LIMIT``: who may read ``/metrics`` and how many panels get
series of their own (``controller.web.metrics``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from controller.rendering.images import MAX_IMAGE_BYTES
from relais.keys import load_or_create_signing_key
from relais.wire import DEFAULT_TOPIC_BASE, Topics

DEFAULT_DATA_DIR = "relais-data"
# The largest legitimate request: a message whose image is as heavy as allowed, in base64 (4 bytes for
# 3), and a megabyte for its other fields (5,000 panel ids are 350 kB). Anything larger is refused
# before it is read.
MAX_REQUEST_BYTES = 4 * -(-MAX_IMAGE_BYTES // 3) + 1024 * 1024
# On every response. The pages load scripts and styles from /static only: the JSON in their <script
# type="application/json"> is data, which CSP does not run; previews are blob: URLs.
SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def default_data_dir() -> Path:
    return Path(os.environ.get("RELAIS_DATA_DIR") or DEFAULT_DATA_DIR)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from controller.publishing import reports
    from controller.publishing.jobs import JobContext, start_scheduler
    from controller.storage.db import open_database, private_data_dir
    from controller.web import login, pages, public
    from controller.web.api import (
        alerts,
        audit_log,
        campaigns,
        catalogue,
        commands,
        indicators,
        messages,
        notifications,
        official_alerts,
        organisations,
        panels,
        posters,
        previews,
        reference,
        targets,
        tokens,
        users,
        webhooks,
    )
    from controller.web.api_common import (
        API_PREFIX,
        api_blueprint,
        body_too_large,
        http_error,
        refuse_ids_out_of_range,
    )
    from controller.web.auth import COOKIE_DEFAULTS, init_auth
    from controller.web.context import close_db
    from controller.web.metrics import METRICS_DEFAULTS, init_metrics

    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(
        DATA_DIR=default_data_dir(),
        BROKER_URL=None,
        TOPIC_BASE=DEFAULT_TOPIC_BASE,
        MQTT_CLIENT_ID="relais-controller",
        # What each panel may send of events (``controller.publishing.reports.EventBudget``), and how long they are kept.
        EVENTS_PER_PANEL_PER_MINUTE=reports.EVENTS_PER_MINUTE,
        EVENTS_BURST_PER_PANEL=reports.EVENTS_BURST,
        EVENTS_KEPT_DAYS=reports.EVENTS_KEPT_DAYS,
        SCHEDULER_ENABLED=False,
        # The notifier's round, in seconds (None: no notifier); where people open the controller, for the
        # links in notifications; the CA that SMTP servers' certificates are checked against.
        NOTIFY_EVERY_S=None,
        PUBLIC_URL="http://127.0.0.1:8080",
        NOTIFY_CA_FILE=None,
        # The public webhooks' round, in seconds (None: no webhooks sent).
        PUBLIC_HOOKS_EVERY_S=None,
        # Webhooks go to public addresses, and to these private networks ("10.0.0.0/8", "127.0.0.1/32").
        WEBHOOK_PRIVATE_NETWORKS=(),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        **COOKIE_DEFAULTS,
        **METRICS_DEFAULTS,
    )
    app.config.update(config or {})
    if app.config.get("BEHIND_HTTPS_PROXY"):
        # One proxy in front: trust its X-Forwarded-For/-Proto, so the login limit counts real clients.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    data_dir = private_data_dir(Path(app.config["DATA_DIR"]))
    app.config.setdefault("DATABASE", data_dir / "relais.db")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    open_database(Path(app.config["DATABASE"])).close()
    app.extensions["relais.signing_key"] = load_or_create_signing_key(data_dir / "keys")
    app.teardown_appcontext(close_db)
    init_auth(app, data_dir)
    instruments = init_metrics(app)
    login.limiter.init_app(app)
    # Every route of the API, once: the resources, then their administration.
    resources = (
        panels,
        commands,
        messages,
        previews,
        posters,
        alerts,
        official_alerts,
        campaigns,
        indicators,
        catalogue,
        targets,
    )
    administration = (users, tokens, organisations, audit_log, reference, notifications, webhooks)
    app.register_blueprint(api_blueprint("api", [module.bp for module in resources]))
    app.register_blueprint(api_blueprint("api_admin", [module.bp for module in administration]))
    app.register_blueprint(login.bp)
    pages.init_app(app)
    public.init_app(app)
    app.url_value_preprocessor(refuse_ids_out_of_range)
    app.register_error_handler(RequestEntityTooLarge, body_too_large)
    app.after_request(_security_headers)

    @app.errorhandler(HTTPException)
    def _json_errors_under_api(exc: HTTPException) -> Any:
        if request.path.startswith(API_PREFIX):
            return http_error(exc)
        return exc

    if app.config["BROKER_URL"]:
        from controller.publishing.link import MqttLink
        from controller.publishing.reports import EventBudget

        link = MqttLink(
            Path(app.config["DATABASE"]),
            app.config["BROKER_URL"],
            Topics(app.config["TOPIC_BASE"]),
            app.config["MQTT_CLIENT_ID"],
            ca_file=app.config.get("BROKER_CA_FILE"),
            event_budget=EventBudget(
                app.config["EVENTS_PER_PANEL_PER_MINUTE"], app.config["EVENTS_BURST_PER_PANEL"]
            ),
            instruments=instruments,
        )
        link.start()
        app.extensions["relais.mqtt_link"] = link
    app.extensions["relais.jobs"] = JobContext(
        Path(app.config["DATABASE"]),
        app.extensions["relais.signing_key"],
        app.extensions.get("relais.mqtt_link"),
        app.config["EVENTS_KEPT_DAYS"],
    )
    if app.config["SCHEDULER_ENABLED"]:
        app.extensions["relais.scheduler"] = start_scheduler(app.extensions["relais.jobs"])
    if app.config["NOTIFY_EVERY_S"]:
        from controller.publishing.notifier import Notifier
        from controller.web.context import broker_watch, webhook_destinations

        notifier = Notifier(
            Path(app.config["DATABASE"]),
            lambda: broker_watch(app.extensions.get("relais.mqtt_link")),
            app.config["PUBLIC_URL"],
            app.config["NOTIFY_EVERY_S"],
            app.config["NOTIFY_CA_FILE"],
            webhook_destinations(app),
        )
        notifier.start()
        app.extensions["relais.notifier"] = notifier
    if app.config["PUBLIC_HOOKS_EVERY_S"]:
        from controller.publishing.public_hooks import PublicHooks
        from controller.web.context import webhook_destinations

        hooks = PublicHooks(
            Path(app.config["DATABASE"]),
            lambda: str(app.config["PUBLIC_URL"]),
            app.config["PUBLIC_HOOKS_EVERY_S"],
            destinations=webhook_destinations(app),
        )
        hooks.start()
        app.extensions["relais.public_hooks"] = hooks
    return app


def _security_headers(response: Response) -> Response:
    # A response that says itself who may frame it (the public widget) gets no X-Frame-Options: DENY.
    own_framing = "frame-ancestors" in response.headers.get("Content-Security-Policy", "")
    for name, value in SECURITY_HEADERS.items():
        if not (own_framing and name == "X-Frame-Options"):
            response.headers.setdefault(name, value)
    return response


def shutdown_app(app: Flask) -> None:
    """Stop what ``create_app`` started: the notifier and webhooks, the scheduler, then the MQTT link."""
    for name in ("relais.notifier", "relais.public_hooks"):
        running = app.extensions.pop(name, None)
        if running is not None:
            running.stop()
    scheduler = app.extensions.pop("relais.scheduler", None)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    app.extensions["relais.jobs"].sources.stop()
    link = app.extensions.pop("relais.mqtt_link", None)
    if link is not None:
        link.stop()


__all__ = ["create_app", "default_data_dir", "shutdown_app"]
