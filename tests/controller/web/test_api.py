"""The REST API without a broker: authentication, validation naming the field, what gets recorded."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from urllib.parse import unquote

import pytest
from astral import Observer
from astral.sun import sunrise, sunset
from flask import Flask
from flask.testing import FlaskClient

from controller.domain.panels import register_panel
from controller.rendering.drawings import forget_drawings
from controller.rendering.engine import render
from controller.web.context import get_db, signing_key
from relais import wire
from relais.mqtt import connect_in_background, new_client
from tests.support import DEMO_LED, record_report
from tests.support.live import Live


def test_requests_without_a_valid_token_get_401(app: Flask) -> None:
    anonymous = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = anonymous.get("/api/v1/panels", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    assert (
        anonymous.post("/api/v1/messages", json={"text": "x", "panels": ["bourg-entree-nord"]}).status_code
        == 401
    )


def test_panels_list_has_the_status_fields(client: FlaskClient) -> None:
    panels = {panel["id"]: panel for panel in client.get("/api/v1/panels").json["panels"]}
    led = panels["bourg-entree-nord"]
    assert led["commune"] == {"insee": "01053", "name": "Bourg-en-Bresse"}
    assert (led["width"], led["height"], led["profile"], led["led_colour"], led["tags"]) == (
        192,
        64,
        "led-amber-192x64",
        "amber",
        ["entree-de-ville"],
    )
    assert led["online"] is False and led["last_seen"] is None
    assert (led["desired_seq"], led["applied_seq"]) == (0, 0)


def test_a_message_is_recorded_and_sealed_for_each_target(app: Flask, client: FlaskClient) -> None:
    text = "Fête de la Saint-Jean samedi 24 juin à 21 h — feu d’artifice « au stade »"
    response = client.post(
        "/api/v1/messages", json={"text": text, "panels": ["bourg-entree-nord", "amberieu-mairie"]}
    )
    assert response.status_code == 201, response.json
    message_id = response.json["id"]
    assert set(response.json["panels"]) == {"bourg-entree-nord", "amberieu-mairie"}
    with app.app_context():
        rows = {row["panel_id"]: row for row in get_db().query("select * from desired")}
        public_key = signing_key().public_key()
    for panel_id, seq in response.json["panels"].items():
        sealed = wire.unseal(rows[panel_id]["payload"], public_key)
        assert (sealed.panel_id, sealed.seq, sealed.kind) == (panel_id, seq, "desired")
        schedule = sealed.desired_schedule()
        item = schedule.items[schedule.segments[0].playlist[0].item]
        assert item.item_id == f"msg-{message_id}"
        assert schedule.horizon_end - sealed.issued_at == 48 * 3600
        assert rows[panel_id]["published_at"] is None  # no broker yet: it waits in the outbox
    panels = {panel["id"]: panel for panel in client.get("/api/v1/panels").json["panels"]}
    assert panels["bourg-entree-nord"]["desired_seq"] == response.json["panels"]["bourg-entree-nord"]
    assert panels["bourg-entree-nord"]["up_to_date"] is False
    listed = client.get("/api/v1/messages").json["messages"]
    assert listed[0]["text"] == text and listed[0]["created_by"] == "tests"


def test_sequence_numbers_only_grow(client: FlaskClient) -> None:
    seqs = [
        client.post("/api/v1/messages", json={"text": f"Message {n}", "panels": ["bourg-entree-nord"]}).json[
            "panels"
        ]["bourg-entree-nord"]
        for n in range(3)
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"panels": ["bourg-entree-nord"]}, 400, "text"),
        ({"text": "   ", "panels": ["bourg-entree-nord"]}, 400, "text"),
        ({"text": 42, "panels": ["bourg-entree-nord"]}, 400, "text"),
        ({"text": "x" * 1001, "panels": ["bourg-entree-nord"]}, 400, "text"),
        ({"text": "Bonjour"}, 400, "panels"),
        ({"text": "Bonjour", "panels": []}, 400, "panels"),
        ({"text": "Bonjour", "panels": "bourg-entree-nord"}, 400, "panels"),
        ({"text": "Bonjour", "panels": ["bourg-entree-nord", "nulle-part"]}, 422, "panels"),
        ({"text": "mot " * 200, "panels": ["bourg-entree-nord"], "paging": False}, 422, "text"),
        ({"text": "Bonjour", "panels": ["bourg-entree-nord"], "layout": "nulle"}, 422, "layout"),
        ({"text": "Bonjour", "panels": ["bourg-entree-nord"], "markup": "html"}, 400, "markup"),
        ({"text": "Bonjour [xx3]", "panels": ["bourg-entree-nord"], "markup": "multi"}, 422, "text"),
        ({"text": "Bonjour", "panels": ["bourg-entree-nord"], "role": "panique"}, 400, "role"),
        (["not", "an", "object"], 400, "body"),
    ],
)
def test_bad_messages_get_an_error_naming_the_field_and_leave_no_trace(
    app: Flask, client: FlaskClient, body: object, status: int, field: str
) -> None:
    response = client.post("/api/v1/messages", json=body)
    assert response.status_code == status, response.json
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]
    with app.app_context():
        db = get_db()
        assert db["messages"].count == 0
        assert db["desired"].count == 0


def test_text_too_long_for_the_panel_says_so_in_french(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/messages", json={"text": "mot " * 200, "panels": ["bourg-entree-nord"], "paging": False}
    )
    assert "ne tient pas" in response.json["error"]["message"]
    assert "pages" in response.json["error"]["message"]
    assert "bourg-entree-nord" in response.json["error"]["message"]


def test_non_json_body_is_refused(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/messages", data="text=hello", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json["error"]["field"] == "body"


def test_screenshot_is_404_until_the_panel_reports(client: FlaskClient) -> None:
    response = client.get("/api/v1/panels/bourg-entree-nord/screenshot.png")
    assert response.status_code == 404
    assert "bourg-entree-nord" in response.json["error"]["message"]
    assert client.get("/api/v1/panels/nulle-part/screenshot.png").status_code == 404


def test_unknown_api_routes_answer_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not-found"


def test_panels_can_be_registered_with_field_errors(client: FlaskClient) -> None:
    spec = {
        "id": "oyonnax-led",
        "name": "Oyonnax — gare",
        "commune_insee": "01283",
        "profile": "led-red-96x16",
    }
    assert client.post("/api/v1/panels", json=spec).status_code == 201
    again = client.post("/api/v1/panels", json=spec)
    assert again.status_code == 409 and again.json["error"]["field"] == "id"
    bad = client.post("/api/v1/panels", json={**spec, "id": "x2", "commune_insee": "1283"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "commune_insee"
    bad = client.post("/api/v1/panels", json={**spec, "id": "x3", "profile": "led-ambre-1x1"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "profile"


SUN_PANEL = {
    "id": "bourg-gare",
    "name": "Bourg-en-Bresse — gare",
    "commune_insee": "01053",
    "profile": "led-amber-192x64",
    "latitude": 46.2,
    "longitude": 5.22,
    "brightness": "sun",
}


def test_a_panel_dimmed_from_sunset_to_sunrise_gets_its_steps_in_its_signed_schedule(
    app: Flask, client: FlaskClient
) -> None:
    created = client.post("/api/v1/panels", json=SUN_PANEL)
    assert created.status_code == 201, created.json
    assert (created.json["brightness"], created.json["night_brightness"]) == ("sun", 30)
    response = client.post(
        "/api/v1/messages",
        json={"text": "Marché de Noël samedi", "panels": ["bourg-gare", "bourg-entree-nord"]},
    )
    assert response.status_code == 201, response.json
    with app.app_context():
        rows = {row["panel_id"]: row for row in get_db().query("select * from desired")}
        public_key = signing_key().public_key()
    sealed = wire.unseal(rows["bourg-gare"]["payload"], public_key)
    schedule = sealed.desired_schedule()
    steps = schedule.brightness
    assert steps[0].start == schedule.segments[0].start == sealed.issued_at
    assert steps[-1].end == schedule.horizon_end
    assert all(a.end == b.start and a.level != b.level for a, b in pairwise(steps))
    assert {step.level for step in steps} == {30, 100} and len(steps) >= 4  # two nights in 48 hours
    observer = Observer(46.2, 5.22)
    for step in steps[:-1]:
        change = datetime.fromtimestamp(step.end, UTC)
        event = sunset if step.level == 100 else sunrise
        assert abs(change - event(observer, change.date(), tzinfo=UTC)) < timedelta(seconds=1)
    # A panel without a setting stays at full brightness: its schedule has no steps at all.
    other = wire.unseal(rows["bourg-entree-nord"]["payload"], public_key)
    assert "brightness" not in other.content["schedule"] and other.desired_schedule().brightness == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latitude": None, "longitude": None}, "brightness"),  # "sun" with nowhere to rise
        ({"brightness": "de 7 h à 22 h"}, "brightness"),
        ({"brightness": ["07:00-22:00"]}, "brightness"),
        ({"night_brightness": 0}, "night_brightness"),
        ({"night_brightness": 101}, "night_brightness"),
        ({"night_brightness": "30"}, "night_brightness"),
    ],
)
def test_bad_brightness_settings_are_refused_naming_the_field(
    client: FlaskClient, change: dict, field: str
) -> None:
    response = client.post("/api/v1/panels", json={**SUN_PANEL, **change})
    assert response.status_code == 400 and response.json["error"]["field"] == field
    assert client.get("/api/v1/panels/bourg-gare").status_code == 404


def test_commands_need_the_broker(client: FlaskClient) -> None:
    response = client.post("/api/v1/panels/bourg-entree-nord/commands", json={"command": "refresh"})
    assert response.status_code == 503
    response = client.post("/api/v1/panels/bourg-entree-nord/commands", json={"command": "explode"})
    assert response.status_code == 400 and response.json["error"]["field"] == "command"


def test_json_answers_keep_accents_readable(client: FlaskClient) -> None:
    raw = client.get("/api/v1/panels").get_data(as_text=True)
    assert "Ambérieu-en-Bugey" in raw
    assert json.loads(raw)["panels"][0]["commune"]["name"] == "Ambérieu-en-Bugey"


def test_a_draft_preview_is_a_png_and_stores_nothing(app: Flask, client: FlaskClient) -> None:
    draft = {"text": "Fête de la musique {b}21 juin{/b}", "panel": "bourg-entree-nord"}
    response = client.post("/api/v1/preview.png", json=draft)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["X-Relais-Pages"] == "1"
    by_profile = client.post("/api/v1/preview.png", json={"text": "Bonjour", "profile": "epaper-bw-400x300"})
    assert by_profile.status_code == 200
    with app.app_context():
        assert get_db()["messages"].count == 0
    bad = client.post(
        "/api/v1/preview.png", json={"text": "Bonjour [g1]", "markup": "multi", "panel": "bourg-entree-nord"}
    )
    assert bad.status_code == 422 and bad.json["error"]["field"] == "text"
    assert client.post("/api/v1/preview.png", json={"text": "Bonjour"}).json["error"]["field"] == "panel"


def test_a_draft_preview_says_how_many_pages_and_seconds_and_paging_can_be_refused(
    client: FlaskClient,
) -> None:
    long = {"text": "Réunion publique sur le plan local d’urbanisme à la salle des fêtes " * 6}
    paged = client.post("/api/v1/preview.png", json={**long, "panel": "bourg-entree-nord"})
    assert paged.status_code == 200 and int(paged.headers["X-Relais-Pages"]) > 1
    assert float(paged.headers["X-Relais-Seconds"]) >= int(paged.headers["X-Relais-Pages"]) * 0.5
    short = client.post("/api/v1/preview.png", json={"text": "Marché", "panel": "bourg-entree-nord"})
    assert short.headers["X-Relais-Pages"] == "1" and 0 < float(short.headers["X-Relais-Seconds"]) < 30
    refused = client.post("/api/v1/preview.png", json={**long, "paging": False, "panel": "bourg-entree-nord"})
    assert refused.status_code == 422 and refused.json["error"]["field"] == "text"


@pytest.mark.parametrize(
    ("text", "position"),
    [("  A[xx]", 3), ("\n\n[nl]A[flt5]B[/fl]", 7), ("  \r\n A\tB", 6), ("A[/ms0]", 1)],
)
def test_markup_error_positions_count_from_the_text_as_typed(
    client: FlaskClient, text: str, position: int
) -> None:
    response = client.post(
        "/api/v1/preview.png", json={"text": text, "markup": "multi", "panel": "bourg-entree-nord"}
    )
    assert response.status_code == 422 and response.json["error"]["field"] == "text"
    assert f"à la position {position}" in response.json["error"]["message"]


@pytest.mark.parametrize("profile", ["led-amber-96x16", "epaper-bw-800x480"])
@pytest.mark.parametrize(
    "word", ["A" * 1000, ("anticonstitutionnellement" * 40)[:1000], ("Donaudampfschifffahrt" * 48)[:1000]]
)
def test_a_thousand_letter_word_is_previewed_or_refused_on_the_text(
    client: FlaskClient, profile: str, word: str
) -> None:
    """It took 18 s on a 96x16 panel and 38 s on e-paper; now it renders, or a render over its time
    limit (or a word that cannot be cut to fit) is a 422 on the text, never a 500."""
    response = client.post("/api/v1/preview.png", json={"text": word, "profile": profile})
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert response.json["error"]["field"] == "text"
        assert profile in response.json["error"]["message"]


def test_a_queued_message_has_a_preview_per_panel(client: FlaskClient) -> None:
    queued = client.post(
        "/api/v1/messages",
        json={
            "text": "Zéro alcool au volant",
            "layout": "pictogram-text",
            "pictogram": "alcohol",
            "panels": ["bourg-entree-nord", "amberieu-mairie"],
        },
    ).json
    for panel in ("bourg-entree-nord", "amberieu-mairie"):
        response = client.get(f"/api/v1/messages/{queued['id']}/preview.png?panel={panel}")
        assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert client.get(f"/api/v1/messages/{queued['id']}/preview.png").json["error"]["field"] == "panel"
    assert client.get("/api/v1/messages/999/preview.png?panel=bourg-entree-nord").status_code == 404


def test_rendering_happens_once_per_profile_whatever_the_number_of_panels(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        for number in range(20):
            register_panel(get_db(), {**DEMO_LED, "id": f"led-{number}"})
    forget_drawings()
    render.cache_clear()
    panels = [f"led-{number}" for number in range(20)] + ["amberieu-mairie"]
    assert (
        client.post("/api/v1/messages", json={"text": "Marché de Noël", "panels": panels}).status_code == 201
    )
    # Per profile: the message and the commune's name the panel falls back to; 21 panels, 4 renders.
    assert render.cache_info().misses == 4


def test_choices_are_listed(client: FlaskClient) -> None:
    assert "led-amber-192x64" in {p["id"] for p in client.get("/api/v1/profiles").json["profiles"]}
    layouts = {layout["name"]: layout for layout in client.get("/api/v1/layouts").json["layouts"]}
    assert "epaper-bw-800x480" in layouts["bulletin"]["profiles"]
    assert "led-amber-192x64" not in layouts["bulletin"]["profiles"]
    assert "alcohol" in {p["name"] for p in client.get("/api/v1/pictograms").json["pictograms"]}
    assert layouts["text"]["fields"] == ["text"]
    assert layouts["bulletin"]["fields"] == ["title", "qr", "text", "footer"]
    assert layouts["pictogram-text"]["fields"] == ["pictogram", "text"]


def _not_shown(answer: dict[str, object]) -> list[tuple[str, str]]:
    return [(w["field"], w["message"]) for w in answer["warnings"] if w["code"] == "field-not-shown"]  # type: ignore[attr-defined]


def test_a_field_the_layout_has_no_zone_for_is_warned_about_not_dropped_silently(client: FlaskClient) -> None:
    draft = {"text": "Marché", "title": "Mairie", "qr": "https://example.fr", "panels": ["bourg-entree-nord"]}
    dry = client.post("/api/v1/messages?dry_run=1", json=draft)
    assert dry.status_code == 200
    assert _not_shown(dry.json) == [
        ("title", "the layout 'text' has no title zone: this title is not shown"),
        ("qr", "the layout 'text' has no qr zone: this qr is not shown"),
    ]
    queued = client.post("/api/v1/messages", json=draft)
    assert queued.status_code == 201 and [field for field, _ in _not_shown(queued.json)] == ["title", "qr"]
    shown = client.post("/api/v1/messages", json={**draft, "qr": None, "layout": "title-body"})
    assert _not_shown(shown.json) == []

    edited = client.patch(
        f"/api/v1/messages/{shown.json['id']}", json={"layout": "pictogram-text", "pictogram": "alcohol"}
    )
    assert edited.status_code == 200 and [field for field, _ in _not_shown(edited.json)] == ["title"]

    preview = client.post("/api/v1/preview.png", json={**draft, "panel": "bourg-entree-nord"})
    notes = unquote(preview.headers["X-Relais-Notes"]).split(" | ")
    assert notes == [
        "le titre n'est pas affiché : la mise en page « text » n'a pas de zone de titre",
        "le code QR n'est pas affiché : la mise en page « text » n'a pas de zone de code QR",
    ]


def test_a_panel_fault_and_its_health_show_in_the_panel_list(app: Flask, client: FlaskClient) -> None:
    state = wire.PanelState(
        "bourg-entree-nord",
        True,
        1_800_000_000,
        applied_seq=0,
        brightness=30,
        faults=("SignError: no answer from the sign",),
        disk_free_mb=812,
        cpu_temp_c=51.5,
    )
    with app.app_context():
        record_report(get_db(), state, 1_800_000_001)
    panel = client.get("/api/v1/panels/bourg-entree-nord").json
    assert panel["faults"] == ["SignError: no answer from the sign"]
    assert (panel["brightness_now"], panel["disk_free_mb"], panel["cpu_temp_c"]) == (30, 812, 51.5)
    with app.app_context():
        record_report(get_db(), wire.PanelState("bourg-entree-nord", True, 1_800_000_100), 1_800_000_101)
    assert client.get("/api/v1/panels/bourg-entree-nord").json["faults"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"command": "explode"}, "command"),
        ({"command": "brightness"}, "args.level"),
        ({"command": "brightness", "args": {"level": 0}}, "args.level"),
        ({"command": "brightness", "args": {"level": "40"}}, "args.level"),
        ({"command": "blank", "args": {"seconds": 3601}}, "args.seconds"),
        ({"command": "blank", "args": {"seconds": 10, "colour": "red"}}, "args.colour"),
        ({"command": "test_pattern", "args": {"pattern": "plaid", "seconds": 10}}, "args.pattern"),
        ({"command": "identify", "args": []}, "args"),
        (["refresh"], "body"),
    ],
)
def test_commands_are_checked_before_anything_is_signed(
    client: FlaskClient, body: object, field: str
) -> None:
    response = client.post("/api/v1/panels/bourg-entree-nord/commands", json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == field
    assert response.json["error"]["message"]


def test_a_command_with_arguments_is_sealed_for_the_panel_and_reaches_the_broker(
    live_mosquitto: Live,
) -> None:
    delivered: queue.Queue[tuple[str, bytes]] = queue.Queue()
    listener = new_client(f"listen-{uuid.uuid4().hex[:8]}", live_mosquitto.broker.url)
    subscribed = threading.Event()
    listener.on_connect = lambda client, *_: client.subscribe(
        live_mosquitto.topics.cmd("bourg-entree-nord"), qos=1
    )
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_message = lambda _c, _u, message: delivered.put((message.topic, message.payload))
    connect_in_background(listener, live_mosquitto.broker.url)
    try:
        assert subscribed.wait(15), "the listener could not subscribe"
        body = {"command": "test_pattern", "args": {"pattern": "checkerboard", "seconds": 30}}
        response = live_mosquitto.client.post("/api/v1/panels/bourg-entree-nord/commands", json=body)
        assert response.status_code == 202
        assert response.json["args"] == body["args"] and response.json["command"] == "test_pattern"
        topic, payload = delivered.get(timeout=15)
    finally:
        listener.disconnect()
        listener.loop_stop()
    with live_mosquitto.app.app_context():
        sealed = wire.unseal(payload, signing_key().public_key())
    assert topic == live_mosquitto.topics.cmd("bourg-entree-nord")
    assert (sealed.kind, sealed.panel_id) == (wire.KIND_COMMAND, "bourg-entree-nord")
    assert (sealed.seq, sealed.content) == (response.json["seq"], body)
    assert sealed.expires_at - sealed.issued_at == 300
