"""Webhooks for apps and websites, on a real database, delivering to a real receiver on loopback that
checks each signature: a commune's message approved (nothing while it is pending), changed and
cancelled; an alert's start and end; a receiver that is down, retried with backoff then marked failed."""

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

from controller.publishing.destinations import PUBLIC_ONLY
from controller.publishing.public_hooks import PublicHooks
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import client_as
from tests.support.webhooks import LOOPBACK, WebhookReceiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def hooks_of(app: Flask, **options: Any) -> PublicHooks:
    return PublicHooks(
        Path(app.config["DATABASE"]), "https://relais.example", **{"destinations": LOOPBACK, **options}
    )


def subscribe(client: FlaskClient, receiver: WebhookReceiver, **fields: Any) -> dict[str, Any]:
    made = client.post("/api/v1/webhooks", json={"url": receiver.url, **fields})
    assert made.status_code == 201, made.json
    receiver.trust(receiver.url, made.json["secret"])
    return made.json


def events(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    return [(body["event"], body["item"]["text"]) for body in receiver.bodies]


def test_a_commune_hears_its_message_approved_changed_and_cancelled_never_while_pending(
    app: Flask, receiver: WebhookReceiver
) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    approver = client_as(app, "valideur-bourg", "commune-approver", "01053")
    with app.app_context():
        db = get_db()
        with transaction(db):
            db.execute("update organisations set messages_need_approval = 1 where id = 'commune-01053'")
    webhook = subscribe(editor, receiver)
    assert webhook["commune"] == "01053" and webhook["organisation"] == "commune-01053"
    hooks = hooks_of(app)
    queued = editor.post("/api/v1/messages", json={"text": "Conseil municipal lundi", "communes": ["01053"]})
    assert queued.status_code == 201 and queued.json["status"] == "pending-approval"
    message = f"/api/v1/messages/{queued.json['id']}"

    assert hooks.tick(time.time()) == 0
    assert receiver.bodies == []  # pending: nothing public

    assert approver.post(f"{message}/approve").status_code == 200
    assert hooks.tick(time.time()) == 1
    assert events(receiver) == [("message.published", "Conseil municipal lundi")]
    item = receiver.bodies[0]["item"]
    assert item["communes"] == [{"insee": "01053", "name": "Bourg-en-Bresse"}]
    assert item["pages"] == ["https://relais.example/c/01053"]
    assert "mairie-bourg" not in json.dumps(receiver.bodies) and "valideur" not in json.dumps(receiver.bodies)

    assert hooks.tick(time.time()) == 0  # nothing new: nothing sent again
    changed = editor.patch(message, json={"text": "Conseil municipal mardi"})
    assert changed.json["status"] == "pending-approval"  # changed words wait for approval again
    hooks.tick(time.time())
    assert approver.post(f"{message}/approve").status_code == 200
    hooks.tick(time.time())
    assert editor.delete(message).status_code == 200
    hooks.tick(time.time())
    assert events(receiver) == [
        ("message.published", "Conseil municipal lundi"),
        ("message.ended", "Conseil municipal lundi"),  # off the public page while it waits
        ("message.published", "Conseil municipal mardi"),
        ("message.ended", "Conseil municipal mardi"),
    ]

    log = editor.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json
    assert log["total"] == len(receiver.bodies)
    assert {(entry["result"], entry["attempts"]) for entry in log["deliveries"]} == {("sent", 1)}


def test_another_communes_message_and_a_rejected_one_are_not_sent(
    app: Flask, receiver: WebhookReceiver
) -> None:
    subscribe(client_as(app, "mairie-bourg", "commune-editor", "01053"), receiver)
    hooks = hooks_of(app)
    elsewhere = client_as(app, "mairie-amberieu", "commune-editor", "01004")
    assert (
        elsewhere.post("/api/v1/messages", json={"text": "Marché", "communes": ["01004"]}).status_code == 201
    )
    hooks.tick(time.time())
    assert receiver.bodies == []


def test_an_alert_starts_and_ends_and_a_message_changes_without_approval(
    app: Flask, receiver: WebhookReceiver
) -> None:
    admin = client_as(app, "admin")
    subscribe(admin, receiver)
    hooks = hooks_of(app)
    expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    alert = admin.post(
        "/api/v1/alerts", json={"text": "Crue de la Reyssouze", "communes": ["01053"], "expires_at": expires}
    )
    assert alert.status_code == 201, alert.json
    message = admin.post("/api/v1/messages", json={"text": "Marché", "communes": ["01053"]})
    hooks.tick(time.time())
    assert sorted(events(receiver)) == [
        ("alert.started", "Crue de la Reyssouze"),
        ("message.published", "Marché"),
    ]
    assert (
        admin.patch(f"/api/v1/messages/{message.json['id']}", json={"text": "Marché de Noël"}).status_code
        == 200
    )
    assert admin.delete(f"/api/v1/alerts/{alert.json['id']}").status_code == 200
    hooks.tick(time.time())
    # Posted side by side: in any order.
    assert sorted(events(receiver)[2:]) == [
        ("alert.ended", "Crue de la Reyssouze"),
        ("message.changed", "Marché de Noël"),
    ]


def test_a_webhook_gets_only_the_events_it_asked_for(app: Flask, receiver: WebhookReceiver) -> None:
    admin = client_as(app, "admin")
    subscribe(admin, receiver, events=["alert.started"], commune="01004")
    hooks = hooks_of(app)
    expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    for communes in (["01053"], ["01004"]):
        admin.post(
            "/api/v1/alerts",
            json={"text": f"Crue {communes[0]}", "communes": communes, "expires_at": expires},
        )
    assert admin.post("/api/v1/messages", json={"text": "Marché", "communes": ["01004"]}).status_code == 201
    hooks.tick(time.time())
    assert events(receiver) == [("alert.started", "Crue 01004")]


def test_a_receiver_down_is_retried_with_backoff_then_marked_failed(
    app: Flask, receiver: WebhookReceiver
) -> None:
    admin = client_as(app, "admin")
    webhook = subscribe(admin, receiver)
    receiver.status = 503
    hooks = hooks_of(app, retry_base_s=10, max_attempts=3)
    assert admin.post("/api/v1/messages", json={"text": "Marché", "communes": ["01053"]}).status_code == 201
    start = time.time()
    assert hooks.tick(start) == 0
    deliveries = f"/api/v1/webhooks/{webhook['id']}/deliveries"
    first = admin.get(deliveries).json["deliveries"][0]
    assert (first["result"], first["attempts"]) == ("pending", 1)
    assert "503" in first["error"]
    assert hooks.tick(start + 5) == 0 and len(receiver.bodies) == 1  # not due yet: 10 s
    hooks.tick(start + 10)
    assert len(receiver.bodies) == 2
    hooks.tick(start + 25)  # then 20 s later
    assert len(receiver.bodies) == 2
    hooks.tick(start + 30)
    assert len(receiver.bodies) == 3
    last = admin.get(deliveries).json["deliveries"][0]
    assert (last["result"], last["attempts"]) == ("failed", 3)
    hooks.tick(start + 1000)
    assert len(receiver.bodies) == 3  # given up
    assert {body["id"] for body in receiver.bodies} == {
        first["id"]
    }  # the same delivery, for the receiver to dedupe


def test_a_slow_receiver_delays_only_its_own_deliveries(app: Flask) -> None:
    admin = client_as(app, "admin")
    with webhook_receiver() as slow, webhook_receiver() as quick:
        subscribe(admin, slow)
        subscribe(admin, quick)
        slow.delay_s = 3
        hooks = hooks_of(app, timeout_s=0.5)
        assert (
            admin.post("/api/v1/messages", json={"text": "Marché", "communes": ["01053"]}).status_code == 201
        )
        started = time.monotonic()
        assert hooks.tick(time.time()) == 1
        assert time.monotonic() - started < 2.5  # the slow one's timeout, not its answer
        assert events(quick) == [("message.published", "Marché")]
        (webhook, _) = admin.get("/api/v1/webhooks").json["webhooks"]
        (delivery,) = admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json["deliveries"]
        assert delivery["result"] == "pending" and "timed out" in delivery["error"]


def test_a_delivery_to_an_address_no_longer_allowed_is_not_sent_and_says_why(
    app: Flask, receiver: WebhookReceiver
) -> None:
    """Checked again at delivery: a receiver allowed when it was added, on a network the controller no
    longer reaches (or a name pointed at a private address since), is never called; its log says why."""
    admin = client_as(app, "admin")
    webhook = subscribe(admin, receiver)
    hooks = hooks_of(app, destinations=PUBLIC_ONLY, max_attempts=1)
    assert admin.post("/api/v1/messages", json={"text": "Marché", "communes": ["01053"]}).status_code == 201
    hooks.tick(time.time())
    assert receiver.bodies == []
    [delivery] = admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json["deliveries"]
    assert delivery["result"] == "failed" and "private or local address (127.0.0.1)" in delivery["error"]
