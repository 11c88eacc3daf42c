"""What a request handler reaches through the app: its database connection, the key, the MQTT link."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app, g
from sqlite_utils import Database

from controller.domain.errors import FieldError
from controller.domain.panels import CONNECTED, BrokerWatch
from controller.publishing.destinations import DestinationRefused, Destinations
from controller.publishing.link import MqttLink
from controller.storage.db import connect


def get_db() -> Database:
    """One connection per request, closed by the app's teardown."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def signing_key() -> Ed25519PrivateKey:
    return current_app.extensions["relais.signing_key"]


def mqtt_link() -> MqttLink | None:
    """None when the app runs without a broker (the outbox then waits for one)."""
    return current_app.extensions.get("relais.mqtt_link")


def broker_watch(link: MqttLink | None) -> BrokerWatch:
    """Whether what panels report reaches the controller now: not without a link, nor while it is down."""
    if link is None:
        return BrokerWatch(False)
    since = link.unknown_since
    return CONNECTED if since is None else BrokerWatch(False, since)


def webhook_destinations(app: Flask | None = None) -> Destinations:
    """Where this controller's webhooks may go (``WEBHOOK_PRIVATE_NETWORKS`` besides public addresses)."""
    return Destinations.of((app or current_app).config["WEBHOOK_PRIVATE_NETWORKS"])


def check_webhook_address(field: str, url: object) -> None:
    """A 400 on ``field`` now, for an address no delivery would be allowed to reach."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return  # the domain's own checks name what is wrong with it
    try:
        webhook_destinations().check(url, unknown_ok=True)
    except DestinationRefused as refused:
        raise FieldError(field, refused.template, 400, **refused.params) from None
