"""``relais serve``: the controller (web app, API, publisher) against a broker."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from programs.cli.broker import add_ca_file, broker_ca_file, broker_dir
from programs.cli.common import (
    Commands,
    add_command,
    add_data_dir,
    add_log_format,
    at_least,
    data_dir,
    setup_logging,
)

# How often the notifier looks at the fleet: a panel is reported within this much of its delay.
NOTIFY_EVERY_S = 15.0
# A scraper's bearer shorter than this is refused: a guessable one would open the metrics to anyone.
MIN_METRICS_TOKEN = 24


def cmd_serve(args: argparse.Namespace) -> int:
    from controller import create_app, shutdown_app
    from controller.publishing.public_hooks import DEFAULT_EVERY_S as PUBLIC_HOOKS_EVERY_S
    from controller.web.server import serve_until_stopped

    setup_logging(args.verbose, args.log_format)
    app = create_app(
        {
            "DATA_DIR": data_dir(args),
            "BROKER_URL": _controller_broker_url(args),
            "BROKER_CA_FILE": broker_ca_file(args),
            "TOPIC_BASE": args.topic_base,
            "SCHEDULER_ENABLED": True,
            "BEHIND_HTTPS_PROXY": args.behind_https_proxy,
            **{
                key: value
                for key, value in (
                    ("EVENTS_PER_PANEL_PER_MINUTE", args.events_per_minute),
                    ("EVENTS_BURST_PER_PANEL", args.events_burst),
                    ("EVENTS_KEPT_DAYS", args.events_kept_days),
                )
                if value is not None
            },
            **({"MAX_CONTENT_LENGTH": args.max_request_bytes} if args.max_request_bytes else {}),
            "METRICS_ALLOW": args.metrics_allow or (),
            "METRICS_TOKEN": _metrics_token(args.metrics_token_file),
            "NOTIFY_EVERY_S": NOTIFY_EVERY_S,
            "PUBLIC_HOOKS_EVERY_S": PUBLIC_HOOKS_EVERY_S,
            "PUBLIC_URL": args.public_url or f"http://{args.host}:{args.http_port}",
            "NOTIFY_CA_FILE": str(args.smtp_ca_file) if args.smtp_ca_file else None,
            "WEBHOOK_PRIVATE_NETWORKS": tuple(args.webhook_private_network or ()),
        }
    )
    try:
        serve_until_stopped(app, args.host, args.http_port, on_ready=lambda url: print(f"Relais at {url}"))
    finally:
        shutdown_app(app)
    return 0


def _controller_broker_url(args: argparse.Namespace) -> str:
    """The URL as given, or with the controller's user filled in when ``relais broker`` made one here."""
    from relais.brokers.security import CREDENTIALS_NAME, BrokerCredentials
    from relais.mqtt import BrokerUrl, broker_url_with_credentials

    here = broker_dir(args)
    if BrokerUrl.parse(args.broker_url).username or not (here / CREDENTIALS_NAME).exists():
        return args.broker_url
    user, password = BrokerCredentials(here).controller()
    return broker_url_with_credentials(args.broker_url, user, password)


def _metrics_token(path: Path | None) -> str | None:
    """The scrapers' bearer, read from a file (a secret on the command line shows in ``ps``)."""
    if path is None:
        return None
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < MIN_METRICS_TOKEN:
        raise SystemExit(f"relais serve: the token in {path} is shorter than {MIN_METRICS_TOKEN} characters")
    return token


def _network(text: str) -> str:
    """An argparse type: an address or a network (``10.0.0.0/8``)."""
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an address nor a network (10.0.0.0/8)") from None
    return text


def _byte_count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} bytes: give 1 or more")
    return value


def _events_burst(text: str) -> int:
    """An argparse type: at least one message of events. The limit is read only when the option is
    given, because relais.wire pulls Pillow, which ``relais --help`` must not."""
    from relais.wire import MAX_EVENTS_PER_BATCH

    return at_least(MAX_EVENTS_PER_BATCH)(text)


def add_commands(commands: Commands) -> None:
    serve = add_command(
        commands, "serve", cmd_serve, "Run the controller (web app, API, publisher) against a broker."
    )
    add_data_dir(serve)
    serve.add_argument("--broker-url", required=True, help="mqtt://[user:password@]host[:port] or mqtts://…")
    add_ca_file(serve)
    serve.add_argument("--topic-base", default="relais/v1", help="topic prefix (default relais/v1)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--http-port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument(
        "--behind-https-proxy",
        action="store_true",
        help="a reverse proxy terminates HTTPS: secure-only cookies, client address from X-Forwarded-For",
    )
    serve.add_argument(
        "--events-per-minute",
        type=at_least(1),
        default=None,
        help="events each panel may send a minute, steadily (default 60); more are dropped and logged",
    )
    serve.add_argument(
        "--events-burst",
        type=_events_burst,
        default=None,
        help="events each panel may send at once, as after an outage (default 10100)",
    )
    serve.add_argument(
        "--events-kept-days", type=at_least(1), default=None, help="days panel events are kept (default 90)"
    )
    serve.add_argument(
        "--max-request-bytes",
        type=_byte_count,
        default=None,
        help="largest request body accepted, else 413 (default: a message with the heaviest image, 29 MB)",
    )
    serve.add_argument("--verbose", action="store_true", help="log debug lines")
    add_log_format(serve)
    serve.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="where people open the controller (https://relais.example.fr), for the links in notifications"
        " (default: http://HOST:PORT)",
    )
    serve.add_argument(
        "--smtp-ca-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the CA that SMTP servers' certificates are checked against (default: the system's)",
    )
    serve.add_argument(
        "--metrics-allow",
        action="append",
        type=_network,
        metavar="NETWORK",
        help="an address or network (10.0.0.0/8) that may read /metrics without a token (repeatable)",
    )
    serve.add_argument(
        "--metrics-token-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="a file holding the bearer token scrapers of /metrics may send (an administrator's API token"
        " works too)",
    )
    serve.add_argument(
        "--webhook-private-network",
        action="append",
        type=_network,
        metavar="NETWORK",
        help="a private network (10.20.0.0/16) that webhooks and notifications may reach besides public"
        " addresses (repeatable; default: none, so a webhook cannot aim the controller at its neighbours)",
    )
