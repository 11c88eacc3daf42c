"""What one user queues never stops another's publishing, least of all an emergency alert.

Each test is a way a careless or ill-intentioned commune user filled or broke their own panels; each
checks that the others still publish: an alert to another commune, a department message, a campaign.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.domain import alerts
from controller.domain.panels import register_panel
from controller.publishing.jobs import refresh_job
from controller.rendering import drawings, engine
from controller.rendering.profiles import PanelProfile
from controller.web.context import get_db
from relais import wire
from tests.support import DEMO_EPAPER, DEMO_LED, client_as, on_panel

BANNER = {
    **DEMO_LED,
    "id": "bourg-banniere",
    "name": "Bourg-en-Bresse — bannière",
    "profile": "led-amber-96x16",
    "tags": ["banniere"],
}


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


@pytest.fixture
def people(app: Flask) -> dict[str, FlaskClient]:
    """Two communes' editors and the prefecture; Bourg has a 96x16 banner beside its LED board."""
    with app.app_context():
        register_panel(get_db(), BANNER)
    return {
        "bourg": client_as(app, "mairie-bourg", "commune-editor", "01053"),
        "amberieu": client_as(app, "mairie-amberieu", "commune-editor", "01004"),
        "prefecture": client_as(app, "prefecture", "campaign-manager"),
        "department": client_as(app, "prefecture-admin", "admin"),
    }


def alert(client: FlaskClient, text: str, **targets: list[str]) -> dict:
    response = client.post(
        "/api/v1/alerts", json={"text": text, "expires_at": _iso(timedelta(hours=2)), **targets}
    )
    assert response.status_code == 201, response.json
    return response.json


def others_still_publish(app: Flask, people: dict[str, FlaskClient]) -> None:
    """An alert to another commune's LED board, a department message, Bourg's own new message, and
    the boards' playlist and timeline: all answer, and the panels carry them."""
    alert(people["prefecture"], "Inondation : évitez les berges", panels=[DEMO_LED["id"]])
    assert "Inondation : évitez les berges" in on_panel(app, DEMO_LED["id"])
    department = people["department"].post(
        "/api/v1/messages", json={"text": "Vigilance orange neige", "departments": ["01"]}
    )
    assert department.status_code == 201, department.json
    assert "Vigilance orange neige" in on_panel(app, DEMO_LED["id"])
    own = people["bourg"].post(
        "/api/v1/messages", json={"text": "Marché de Noël", "panels": [DEMO_LED["id"]]}
    )
    assert own.status_code == 201, own.json
    for path in ("playlist", "timeline"):
        assert people["prefecture"].get(f"/api/v1/panels/{DEMO_LED['id']}/{path}").status_code == 200


def test_a_long_message_on_one_communes_e_paper_does_not_stop_the_others(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    # 200 short lines: about two dozen pages on e-paper, far more than an item may have on an LED board.
    text = "\n".join(f"L{n}" for n in range(200))
    queued = people["amberieu"].post("/api/v1/messages", json={"text": text, "panels": [DEMO_EPAPER["id"]]})
    assert queued.status_code == 201, queued.json
    others_still_publish(app, people)
    assert text in on_panel(app, DEMO_EPAPER["id"])


def test_a_text_needing_more_pages_than_an_item_holds_is_refused_naming_the_limit(
    people: dict[str, FlaskClient],
) -> None:
    text = "\n".join(f"L{n}" for n in range(200))
    refused = people["bourg"].post("/api/v1/messages", json={"text": text, "panels": [DEMO_LED["id"]]})
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "text"
    assert f"{wire.MAX_PAGES}" in refused.json["error"]["message"]


def test_a_full_panel_refuses_its_communes_next_message_and_still_takes_alerts(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    # The commune's fallback (its name) is one item: a panel holds MAX_ITEMS - 1 messages besides it.
    for n in range(wire.MAX_ITEMS - 1):
        queued = people["bourg"].post(
            "/api/v1/messages", json={"text": f"Avis {n}", "panels": [BANNER["id"]]}
        )
        assert queued.status_code == 201, (n, queued.json)
    refused = people["bourg"].post(
        "/api/v1/messages", json={"text": "Avis de trop", "panels": [BANNER["id"]]}
    )
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "panels"
    assert str(wire.MAX_ITEMS) in refused.json["error"]["message"]
    assert "Avis de trop" not in on_panel(app, BANNER["id"])

    alert(people["prefecture"], "Route coupée", tags=["banniere"])
    shown = on_panel(app, BANNER["id"])
    assert "Route coupée" in shown and len(shown) == wire.MAX_ITEMS
    # The newest commune message made room for the alert, and its author can read why.
    assert f"Avis {wire.MAX_ITEMS - 2}" not in shown
    notes = people["prefecture"].get(f"/api/v1/panels/{BANNER['id']}/playlist").json["notes"]
    assert any("Avis 62" in note for note in notes), notes

    department = people["department"].post(
        "/api/v1/messages", json={"text": "Vigilance orange neige", "departments": ["01"]}
    )
    assert department.status_code == 201, department.json
    assert department.json["warnings"], "the prefecture is told which commune messages it pushed out"
    assert "Vigilance orange neige" in on_panel(app, BANNER["id"])


def minutes_past_each_hour(minute: int) -> dict[str, list[str]]:
    """A recurrence with the most windows a day allows: one minute past each hour, at ``minute``."""
    return {"windows": [f"{h:02d}:{minute:02d}-{h:02d}:{minute + 1:02d}" for h in range(24)]}


def test_windows_that_would_overflow_a_schedule_are_refused_and_alerts_still_fit(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    # Each message: 48 changes a day, 96 over the 48 hours a schedule covers.
    minute = 0
    while (
        queued := people["bourg"].post(
            "/api/v1/messages",
            json={
                "text": f"Minute {minute}",
                "panels": [BANNER["id"]],
                "recurrence": minutes_past_each_hour(minute),
            },
        )
    ).status_code == 201:
        minute += 2
    assert queued.status_code == 422, queued.json
    assert queued.json["error"]["field"] == "recurrence"
    assert str(wire.MAX_SEGMENTS) in queued.json["error"]["message"]
    assert minute == 2 * (wire.MAX_SEGMENTS // 96)  # every message that fitted was taken
    alert(people["prefecture"], "Route coupée", tags=["banniere"])
    assert "Route coupée" in on_panel(app, BANNER["id"])


def test_many_windows_on_e_paper_keep_every_dwell_within_the_wire_limits(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    # Three messages all day, and six coming and going every hour: far more changes than the
    # e-paper's daily refresh budget, so every rotating dwell is lengthened, past what the wire
    # lets a dwell be.
    for n in range(3):
        queued = people["amberieu"].post(
            "/api/v1/messages", json={"text": f"Permanence {n}", "panels": [DEMO_EPAPER["id"]]}
        )
        assert queued.status_code == 201, queued.json
    for minute in range(0, 60, 10):
        flashing = people["amberieu"].post(
            "/api/v1/messages",
            json={
                "text": f"Flash {minute}",
                "panels": [DEMO_EPAPER["id"]],
                "recurrence": minutes_past_each_hour(minute),
            },
        )
        assert flashing.status_code == 201, flashing.json
    assert "Flash 50" in on_panel(app, DEMO_EPAPER["id"])
    alert(people["prefecture"], "Route coupée", panels=[DEMO_EPAPER["id"]])
    assert "Route coupée" in on_panel(app, DEMO_EPAPER["id"])


def test_an_alert_that_cannot_be_drawn_on_a_targeted_panel_is_refused_at_once(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    # Eight pages on the 192x64 board, sixty on the 96x16 banner: more than an item may have.
    text = "Évacuez la zone du pont " * 20
    refused = people["prefecture"].post(
        "/api/v1/alerts",
        json={"text": text, "expires_at": _iso(timedelta(hours=1)), "panels": [BANNER["id"], DEMO_LED["id"]]},
    )
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["field"] == "text"
    assert BANNER["id"] in refused.json["error"]["message"]
    with app.app_context():
        assert get_db().execute("select count(*) from alerts").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("field", "limit"), [("text", alerts.MAX_ALERT_TEXT), ("title", alerts.MAX_ALERT_TITLE)]
)
def test_alerts_have_length_limits(people: dict[str, FlaskClient], field: str, limit: int) -> None:
    body = {"text": "Route coupée", "expires_at": _iso(timedelta(hours=1)), "panels": [DEMO_LED["id"]]}
    refused = people["prefecture"].post("/api/v1/alerts", json={**body, field: "é" * (limit + 1)})
    assert refused.status_code == 400, refused.json
    assert refused.json["error"]["field"] == field


def test_nothing_is_drawn_under_the_write_lock(
    app: Flask, people: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing is the slow part of publishing: done under SQLite's write lock, a commune's long text
    would hold every other writer, an alert too. From a cold start (nothing drawn yet), a message, its
    edit and an alert to the same panels draw everything before they take the lock."""
    drawn_locked: list[str] = []
    render = engine.render

    def watched(content: engine.MessageContent, profile: PanelProfile) -> engine.Rendering:
        if get_db().conn.in_transaction:  # the request's own connection
            drawn_locked.append(content.body)
        return render(content, profile)

    monkeypatch.setattr(engine, "render", watched)
    drawings.forget_drawings()
    queued = people["bourg"].post(
        "/api/v1/messages", json={"text": "Marché de Noël", "panels": [DEMO_LED["id"]]}
    )
    assert queued.status_code == 201, queued.json
    edited = people["bourg"].patch(
        f"/api/v1/messages/{queued.json['id']}", json={"text": "Marché de Noël, place Bernard"}
    )
    assert edited.status_code == 200, edited.json
    drawings.forget_drawings()  # as after a restart
    alert(people["prefecture"], "Route coupée", communes=["01053"])
    retried = people["bourg"].post(
        "/api/v1/messages",
        json={"text": "Concert à l’église", "panels": [DEMO_LED["id"]]},
        headers={"Idempotency-Key": "concert-1"},
    )
    assert retried.status_code == 201, retried.json
    assert drawn_locked == []
    assert "Marché de Noël, place Bernard" in on_panel(app, DEMO_LED["id"])


def test_the_hourly_refresh_signs_every_panel_whatever_one_commune_queued(
    app: Flask, people: dict[str, FlaskClient]
) -> None:
    text = "\n".join(f"L{n}" for n in range(200))
    assert (
        people["amberieu"]
        .post("/api/v1/messages", json={"text": text, "panels": [DEMO_EPAPER["id"]]})
        .status_code
        == 201
    )
    for n in range(wire.MAX_ITEMS - 1):
        assert (
            people["bourg"]
            .post("/api/v1/messages", json={"text": f"Avis {n}", "panels": [BANNER["id"]]})
            .status_code
            == 201
        )
    alert(people["prefecture"], "Route coupée", departments=["01"])
    with app.app_context():
        db = get_db()
        db.execute("update desired set expires_at = expires_at - 30 * 3600")  # every horizon nearly out
        db.conn.commit()
        before = {row["panel_id"]: row["seq"] for row in db.query("select panel_id, seq from desired")}
    refresh_job(app.extensions["relais.jobs"])
    with app.app_context():
        after = {row["panel_id"]: row["seq"] for row in get_db().query("select panel_id, seq from desired")}
    assert all(after[panel] > seq for panel, seq in before.items()), (before, after)
    for panel in (DEMO_LED["id"], DEMO_EPAPER["id"], BANNER["id"]):
        assert "Route coupée" in on_panel(app, panel)
