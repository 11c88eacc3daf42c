"""The notifier's rounds on a real database, at chosen times, delivering to a real webhook receiver on
loopback that checks each signature: a panel behind its schedule, an alert a panel does not confirm, a
receiver that fails (logged, with why), a daily digest, organisations with delays of their own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from controller.dates import PARIS
from controller.domain import accounts
from controller.domain.panels import CONNECTED
from controller.publishing.notifier import Notifier
from controller.storage.db import transaction
from controller.web.context import get_db
from relais import wire
from tests.support import DEMO_EPAPER, DEMO_LED, client_as, record_report
from tests.support.cap_feeds import atom_feed, feed_server, poll_sources
from tests.support.webhooks import LOOPBACK, WebhookReceiver, webhook_receiver

LED, AMBERIEU = DEMO_LED["id"], DEMO_EPAPER["id"]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """Checks each signature at the time the body says it was sent: the rounds run at chosen times."""
    with webhook_receiver(lambda body: json.loads(body)["sent_at"]) as running:
        yield running


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def notifier_of(app: Flask) -> Notifier:
    return Notifier(
        Path(app.config["DATABASE"]), lambda: CONNECTED, "https://relais.example", destinations=LOOPBACK
    )


def subscribe(
    client: FlaskClient, receiver: WebhookReceiver, kinds: list[str], digest: bool = False, path: str = ""
) -> dict[str, Any]:
    """A webhook subscription to the receiver (at ``path`` under its URL), its secret told to it."""
    url = receiver.url + path
    made = client.post(
        "/api/v1/notifications/subscriptions",
        json={"channel": "webhook", "address": url, "kinds": kinds, "digest": digest},
    )
    assert made.status_code == 201, made.json
    receiver.trust(url, made.json["secret"])
    return made.json


def test_a_panel_behind_its_schedule_is_reported_once_after_the_delay(
    app: Flask, client: FlaskClient, receiver: WebhookReceiver
) -> None:
    subscribe(client, receiver, ["behind"])
    client.patch("/api/v1/notifications/settings", json={"conditions": {"behind_after_s": 600}})
    queued = client.post("/api/v1/messages", json={"text": "Marché", "panels": [LED]})
    assert queued.status_code == 201
    now = time.time()
    with app.app_context():
        record_report(get_db(), wire.PanelState(LED, True, int(now), None, None, 1), now)  # an old schedule
    notifier = notifier_of(app)
    assert [notifier.tick(now + at) for at in (1, 300, 602, 700)] == [0, 0, 1, 0]
    (body,) = receiver.bodies
    assert body["kind"] == "behind" and [p["panel_id"] for p in body["panels"]] == [LED]
    assert "n’applique pas son dernier programme" in body["text"]
    assert body["panels"][0]["link"] == f"https://relais.example/parc/{LED}"


def test_an_alert_not_confirmed_within_a_minute_is_reported_once(
    app: Flask, client: FlaskClient, receiver: WebhookReceiver
) -> None:
    subscribe(client, receiver, ["alert-unconfirmed"])
    now = time.time()
    alert = client.post(
        "/api/v1/alerts",
        json={
            "text": "Crue",
            "panels": [LED],
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        },
    )
    assert alert.status_code == 201, alert.json
    notifier = notifier_of(app)
    assert [notifier.tick(now + at) for at in (5, 30, 65, 120)] == [0, 0, 1, 0]
    (body,) = receiver.bodies
    assert body["subject"].startswith("Relais\u00a0: Alerte non confirmée")
    assert f"alerte n° {alert.json['id']}" in body["text"]


def test_a_failed_delivery_is_logged_with_why(
    app: Flask, client: FlaskClient, receiver: WebhookReceiver
) -> None:
    subscribe(client, receiver, ["alert-unconfirmed"])
    receiver.status = 500
    now = time.time()
    client.post(
        "/api/v1/alerts",
        json={
            "text": "Crue",
            "panels": [LED],
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        },
    )
    assert notifier_of(app).tick(now + 65) == 0
    (entry,) = client.get("/api/v1/notifications/log").json["log"]
    assert entry["result"] == "failed" and "500" in entry["error"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'relais_notifications_total{result="failed"} 1.0' in metrics
    assert 'relais_notifications_total{result="sent"} 0.0' in metrics
    assert entry["kind"] == "alert-unconfirmed" and entry["panels"] == [LED]


def test_a_digest_subscription_gets_the_day_in_one_message_at_seven(
    app: Flask, client: FlaskClient, receiver: WebhookReceiver
) -> None:
    assert subscribe(client, receiver, ["alert-unconfirmed"], digest=True)["digest"] is True
    # The first 7 h (Paris) three hours away at least: the alerts go on air two hours before it.
    soon = datetime.now(PARIS) + timedelta(hours=3)
    seven = soon.replace(hour=7, minute=0, second=0, microsecond=0)
    next_morning = (seven if seven >= soon else seven + timedelta(days=1)).timestamp()
    evening = next_morning - 2 * 3600
    for text in ("Crue", "Tempête"):
        expires = datetime.fromtimestamp(evening + 3600, UTC).isoformat()
        assert (
            client.post(
                "/api/v1/alerts",
                json={
                    "text": text,
                    "panels": [LED],
                    "expires_at": expires,
                    "starts_at": datetime.fromtimestamp(evening - 120, UTC).isoformat(),
                },
            ).status_code
            == 201
        )
    notifier = notifier_of(app)
    assert notifier.tick(evening) == 0 and receiver.bodies == []  # queued, not sent
    assert [entry["result"] for entry in client.get("/api/v1/notifications/log").json["log"]] == ["queued"]
    assert notifier.tick(next_morning - 60) == 0  # 6.59 h: not yet
    assert notifier.tick(next_morning + 5) == 1
    assert notifier.tick(next_morning + 60) == 0  # once a day
    (body,) = receiver.bodies
    assert body["kind"] == "digest" and "1 notification(s)" in body["subject"]
    assert body["text"].count("alerte n°") == 2 and [p["panel_id"] for p in body["panels"]] == [LED]
    assert [entry["result"] for entry in client.get("/api/v1/notifications/log").json["log"]] == ["sent"]


def test_each_organisation_has_its_own_delays_and_users_see_only_their_commune(
    app: Flask, client: FlaskClient, receiver: WebhookReceiver
) -> None:
    """The SDIS wants to know at one minute, everyone else at the default quarter of an hour; a commune
    editor of Ambérieu hears only of Ambérieu's panel."""
    with app.app_context():
        db = get_db()
        with transaction(db):
            db.table("organisations").insert({"id": "sdis-ain", "name": "SDIS de l’Ain", "created_at": 0})
            accounts.create_user(
                db, "astreinte-sdis", "technician", "Password-123456", organisation="sdis-ain"
            )
    sdis, amberieu = (
        client_as(app, "astreinte-sdis", "technician"),
        client_as(app, "mairie-amberieu", "commune-editor", "01004"),
    )
    for name, who in (("sdis", sdis), ("admin", client), ("amberieu", amberieu)):
        subscribe(who, receiver, ["offline"], path=f"/{name}")
    assert (
        sdis.patch("/api/v1/notifications/settings", json={"conditions": {"offline_after_s": 60}}).status_code
        == 200
    )
    now = time.time()
    with app.app_context():
        record_report(get_db(), wire.PanelState(LED, False, int(now)), now)
    notifier = notifier_of(app)
    notifier.tick(now + 1)
    assert notifier.tick(now + 61) == 1  # the SDIS's technician only
    assert notifier.tick(now + 901) == 2  # then the others: the fixture's two panels never came online
    logged = client.get("/api/v1/notifications/log?all=1").json["log"]
    assert sorted((entry["recipient"].rsplit("/", 1)[1], sorted(entry["panels"])) for entry in logged) == [
        ("admin", sorted([LED, AMBERIEU])),
        ("amberieu", [AMBERIEU]),  # not Bourg's panel: not their commune
        ("sdis", sorted([LED, AMBERIEU])),
    ]


def test_an_official_alert_source_that_starts_failing_is_reported_once_then_back(
    app: Flask, client: FlaskClient, receiver: WebhookReceiver
) -> None:
    """A MeteoAlarm-shaped feed on loopback that starts answering 404: after the organisation's number of
    failed polls in a row, one notice; none while it goes on failing; one when it is read again. /metrics
    says the same, by the source's id."""
    with feed_server() as feeds:
        feed = feeds.serve("/feed", atom_feed(feeds.url, []))
        made = client.post(
            "/api/v1/alert-sources", json={"name": "MeteoAlarm", "kind": "atom", "location": feed}
        )
        assert made.status_code == 201, made.json
        source = str(made.json["id"])
        rules = client.patch("/api/v1/notifications/settings", json={"conditions": {"source_failures": 2}})
        assert rules.status_code == 200, rules.json
        subscribe(client, receiver, ["source-failing", "source-back"])
        notifier = notifier_of(app)

        def health() -> tuple[float, float]:
            scraped = families(client.get("/metrics").get_data(as_text=True))
            return tuple(  # type: ignore[return-value]
                next(s.value for s in scraped[name].samples if s.labels == {"source": source})
                for name in ("relais_alert_source_up", "relais_alert_source_failures")
            )

        poll_sources(app)
        notifier.tick(time.time())
        assert receiver.bodies == [] and health() == (1, 0)

        del feeds.files["/feed"]  # the server now answers 404
        for _ in range(4):
            poll_sources(app, ahead_s=100_000)  # past the backoff
            notifier.tick(time.time())
        (failing,) = receiver.bodies
        assert failing["kind"] == "source-failing" and "MeteoAlarm" in failing["subject"]
        assert "404" in failing["text"] and failing["panels"] == []
        assert health() == (0, 4)

        feeds.serve("/feed", atom_feed(feeds.url, []))
        poll_sources(app, ahead_s=100_000)
        notifier.tick(time.time())
        notifier.tick(time.time())
        assert [body["kind"] for body in receiver.bodies] == ["source-failing", "source-back"]
        assert health() == (1, 0)
