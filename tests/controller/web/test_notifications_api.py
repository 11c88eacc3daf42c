"""/notifications through the API: an organisation's conditions and mail server, one's own subscriptions,
the delivery log; refusals name their field. Deliveries on real parts: tests/end_to_end/test_notifications.py."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from controller.domain import accounts
from controller.domain.notifications import KINDS
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import client_as


def test_conditions_have_defaults_and_change_field_by_field(app: Flask, client: FlaskClient) -> None:
    settings = client.get("/api/v1/notifications/settings").json
    assert settings["conditions"]["offline_after_s"] == 900 and settings["smtp"] is None
    changed = client.patch(
        "/api/v1/notifications/settings",
        json={
            "conditions": {"offline_after_s": 300},
            "smtp": {
                "host": "smtp.example",
                "sender": "relais@example.fr",
                "username": "u",
                "password": "pw-secret",
            },
        },
    )
    assert changed.status_code == 200
    assert changed.json["conditions"]["offline_after_s"] == 300
    assert changed.json["conditions"]["recovery_s"] == 120
    assert changed.json["smtp"] == {
        "host": "smtp.example",
        "sender": "relais@example.fr",
        "port": 587,
        "starttls": True,
        "username": "u",
        "password_set": True,
    }
    kept = client.patch(
        "/api/v1/notifications/settings", json={"smtp": {"port": 2525, "host": " smtp2.example "}}
    ).json
    assert kept["smtp"]["port"] == 2525 and kept["smtp"]["password_set"]
    assert kept["smtp"]["host"] == "smtp2.example"
    assert "pw-secret" not in client.get("/api/v1/notifications/settings").get_data(as_text=True)


def test_wrong_settings_are_refused_naming_the_field(client: FlaskClient) -> None:
    for body, field in (
        ({"conditions": {"offline_after_s": 0}}, "offline_after_s"),
        ({"conditions": {"back_online": "yes"}}, "back_online"),
        ({"smtp": {"host": "smtp.example"}}, "smtp.sender"),
        ({"smtp": {"host": "smtp.example", "sender": "nobody"}}, "smtp.sender"),
        ({"smtp": {"host": "h", "sender": "a@b.fr", "port": 70000}}, "smtp.port"),
        ({"smtp": {"host": "h", "sender": "a@b.fr", "tls": True}}, "smtp.tls"),
        ({"colour": 1}, "colour"),
    ):
        refused = client.patch("/api/v1/notifications/settings", json=body)
        assert refused.status_code == 400 and refused.json["error"]["field"] == field, (body, refused.json)


def test_technicians_manage_their_own_organisation_only_viewers_none(app: Flask) -> None:
    with app.app_context():
        db = get_db()
        with transaction(db):
            db.table("organisations").insert({"id": "sdis-ain", "name": "SDIS", "created_at": 0})
            db.table("organisations").insert({"id": "autre", "name": "Autre", "created_at": 0})
            accounts.create_user(db, "tech-sdis", "technician", "Password-123456", organisation="sdis-ain")
    technician = client_as(app, "tech-sdis", "technician")
    own = technician.patch("/api/v1/notifications/settings", json={"conditions": {"faults": False}})
    assert own.status_code == 200 and own.json["organisation"] == "sdis-ain"
    assert technician.get("/api/v1/notifications/settings?organisation=autre").status_code == 403
    assert client_as(app, "lecteur", "viewer").get("/api/v1/notifications/settings").status_code == 403
    admin = client_as(app, "admin2")
    assert (
        admin.get("/api/v1/notifications/settings?organisation=sdis-ain").json["conditions"]["faults"]
        is False
    )
    assert admin.get("/api/v1/notifications/settings?organisation=nulle").status_code == 404


def test_subscriptions_are_ones_own_and_a_webhooks_secret_is_shown_once(
    app: Flask, client: FlaskClient
) -> None:
    hook = client.post(
        "/api/v1/notifications/subscriptions",
        json={"channel": "webhook", "address": "https://hooks.example/relais", "communes": ["01053"]},
    )
    assert hook.status_code == 201 and len(hook.json["secret"]) >= 32
    assert hook.json["kinds"] == sorted(KINDS)
    mail = client.post(
        "/api/v1/notifications/subscriptions",
        json={"channel": "email", "address": "tech@mairie.fr", "kinds": ["offline"]},
    )
    assert mail.status_code == 201 and mail.json["secret"] is None
    listed = client.get("/api/v1/notifications/subscriptions").json
    assert [s["id"] for s in listed["subscriptions"]] == [hook.json["id"], mail.json["id"]]
    assert "secret" not in listed["subscriptions"][0]

    other = client_as(app, "autre", "viewer")
    assert other.get("/api/v1/notifications/subscriptions").json["total"] == 0
    assert other.delete(f"/api/v1/notifications/subscriptions/{hook.json['id']}").status_code == 404
    assert client.delete(f"/api/v1/notifications/subscriptions/{hook.json['id']}").status_code == 200
    assert client.get("/api/v1/notifications/subscriptions").json["total"] == 1


def test_wrong_subscriptions_are_refused_naming_the_field(client: FlaskClient) -> None:
    for body, field in (
        ({"channel": "sms", "address": "0600000000"}, "channel"),
        ({"channel": "email", "address": "pas une adresse"}, "address"),
        ({"channel": "webhook", "address": "ftp://hooks.example"}, "address"),
        ({"channel": "email", "address": "a@b.fr", "kinds": ["everything"]}, "kinds"),
        ({"channel": "email", "address": "a@b.fr", "communes": ["Bourg"]}, "communes"),
        ({"channel": "email", "address": "a@b.fr", "digest": "daily"}, "digest"),
    ):
        refused = client.post("/api/v1/notifications/subscriptions", json=body)
        assert refused.status_code == 400 and refused.json["error"]["field"] == field, (body, refused.json)


def test_the_log_is_ones_own_everyones_for_an_administrator(app: Flask, client: FlaskClient) -> None:
    assert client.get("/api/v1/notifications/log").json == {"log": [], "total": 0, "limit": 50, "offset": 0}
    assert client.get("/api/v1/notifications/log?all=1").status_code == 200
    assert client_as(app, "tech", "technician").get("/api/v1/notifications/log?all=1").status_code == 403
