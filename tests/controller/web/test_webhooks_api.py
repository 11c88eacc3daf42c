"""/api/v1/webhooks: who may add which, the refusals naming their field, a secret shown once."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support import client_as


def test_a_commune_editor_adds_a_webhook_for_their_commune_only(app: Flask) -> None:
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    made = editor.post("/api/v1/webhooks", json={"url": "https://mairie.example/relais"})
    assert made.status_code == 201, made.json
    assert made.json["commune"] == "01053" and len(made.json["secret"]) > 30
    listed = editor.get("/api/v1/webhooks").json["webhooks"]
    assert [webhook["url"] for webhook in listed] == ["https://mairie.example/relais"]
    assert "secret" not in listed[0]
    other = editor.post("/api/v1/webhooks", json={"url": "https://x.example/", "commune": "01004"})
    assert other.status_code == 403

    neighbour = client_as(app, "mairie-amberieu", "commune-editor", "01004")
    assert neighbour.get("/api/v1/webhooks").json["webhooks"] == []
    assert neighbour.get(f"/api/v1/webhooks/{made.json['id']}/deliveries").status_code == 404
    assert neighbour.delete(f"/api/v1/webhooks/{made.json['id']}").status_code == 404
    assert client_as(app, "technicien", "technician").get("/api/v1/webhooks").status_code == 403

    assert editor.delete(f"/api/v1/webhooks/{made.json['id']}").status_code == 200
    assert editor.get("/api/v1/webhooks").json["webhooks"] == []


def test_bad_input_is_refused_naming_the_field(app: Flask) -> None:
    admin = client_as(app, "admin")
    for body, field in (
        ({"url": "ftp://x.example/"}, "url"),
        ({}, "url"),
        ({"url": "https://x.example/", "events": ["message.deleted"]}, "events"),
        ({"url": "https://x.example/", "events": []}, "events"),
        ({"url": "https://x.example/", "commune": "Bourg"}, "commune"),
        ({"url": "https://x.example/", "secret": "mine"}, "secret"),
    ):
        refused = admin.post("/api/v1/webhooks", json=body)
        assert refused.status_code == 400, (body, refused.json)
        assert refused.json["error"]["field"] == field
    every = admin.post("/api/v1/webhooks", json={"url": "https://prefecture.example/hook", "commune": None})
    assert every.status_code == 201 and every.json["commune"] is None
    assert every.json["events"] == [
        "message.published",
        "message.changed",
        "message.ended",
        "alert.started",
        "alert.ended",
    ]


def test_a_webhook_to_the_controllers_neighbours_is_refused_unless_their_network_is_named(app: Flask) -> None:
    """An ill-intentioned commune editor aims the controller at its own API, an intranet or a cloud's
    metadata address: refused, naming ``url``, in French; a network the administrator names is allowed."""
    app.config["WEBHOOK_PRIVATE_NETWORKS"] = ()
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    for url in ("http://127.0.0.1:8080/api/v1/users", "http://169.254.169.254/latest/", "https://10.1.2.3/"):
        refused = editor.post("/api/v1/webhooks", json={"url": url}, headers={"Accept-Language": "fr"})
        assert refused.status_code == 400, (url, refused.json)
        assert refused.json["error"]["field"] == "url"
        assert "est une adresse privée ou locale" in refused.json["error"]["message"]
    technician = client_as(app, "technicien", "technician")
    subscription = {"channel": "webhook", "address": "http://[::1]:9/", "kinds": ["offline"]}
    refused = technician.post("/api/v1/notifications/subscriptions", json=subscription)
    assert refused.status_code == 400 and refused.json["error"]["field"] == "address", refused.json

    app.config["WEBHOOK_PRIVATE_NETWORKS"] = ("10.0.0.0/8",)
    assert editor.post("/api/v1/webhooks", json={"url": "https://10.1.2.3/"}).status_code == 201


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/webhooks", {"url": "http://[::1"}, "url"),
        ("/api/v1/webhooks", {"url": "https://" + "a" * 300 + ".example/"}, None),
        ("/api/v1/notifications/subscriptions", {"channel": "webhook", "address": "http://[::1"}, "address"),
        ("/api/v1/alert-sources", {"name": "Flux", "kind": "atom", "location": "http://[::1"}, "location"),
    ],
    ids=["bracket-left-open", "label-too-long", "subscription", "official-source"],
)
def test_an_address_that_is_no_url_is_refused_naming_its_field(
    app: Flask, path: str, body: dict, field: str | None
) -> None:
    """A bracket left open or a 300-character host name: a 400 on the field, never a 500 (a name too
    long to look up is taken, like one not found yet: its deliveries will say why)."""
    answer = client_as(app, "admin").post(path, json=body)
    if field is None:
        assert answer.status_code == 201, answer.json
    else:
        assert answer.status_code == 400 and answer.json["error"]["field"] == field, answer.json
