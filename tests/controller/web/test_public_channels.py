"""The public channels: what is public (one rule, on each status), the pages, the Atom, JSON Feed and
iCalendar feeds read back by their own parsers, the caching headers, the widget's framing, the counters."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import feedparser
import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller.dates import PARIS
from controller.domain.public import Place, applies_when, public_items, public_status, repeats
from controller.storage import public_store
from controller.storage.db import transaction
from controller.storage.public_store import recent_messages, visit_counts
from controller.web import public
from controller.web.context import get_db
from controller.web.public import PUBLIC_LIMIT, visits
from tests.support import DEMO_LED, client_as

NOW = 1_800_000_000
BOURG = Place("commune", "01053", "Bourg-en-Bresse")


def message_row(**changes: Any) -> dict[str, Any]:
    """A stored message, approved and on air in Bourg-en-Bresse, as ``recent_messages`` reads it."""
    row = {
        "id": 1,
        "text": "Marché de Noël samedi",
        "title": "",
        "markup": "plain",
        "priority": "information",
        "role": "normal",
        "starts_at": NOW - 3600,
        "ends_at": NOW + 3600,
        "recurrence": None,
        "paused": 0,
        "cancelled_at": None,
        "approval": "approved",
        "created_at": NOW - 7200,
        "changed_at": None,
        "approved_at": None,
        "rejected_at": None,
        "communes": [("01053", "Bourg-en-Bresse")],
        "tags": [],
    }
    return row | changes


def alert_row(**changes: Any) -> dict[str, Any]:
    row = {
        "id": 1,
        "text": "Crue : routes coupées",
        "title": "ALERTE",
        "starts_at": NOW - 60,
        "expires_at": NOW + 3600,
        "cancelled_at": None,
        "approval": "approved",
        "created_at": NOW - 60,
        "approved_at": None,
        "communes": [("01053", "Bourg-en-Bresse")],
        "tags": [],
    }
    return row | changes


@pytest.mark.parametrize(
    ("changes", "public"),
    [
        ({}, "on-air"),
        ({"starts_at": NOW + 3600, "ends_at": NOW + 7200}, "scheduled"),
        ({"approval": "pending"}, None),
        ({"approval": "rejected"}, None),
        ({"paused": 1}, None),
        ({"cancelled_at": NOW - 10}, None),
        ({"ends_at": NOW - 10}, None),
        ({"paused": 1, "ends_at": NOW - 10}, None),
    ],
    ids=["on-air", "scheduled", "pending", "rejected", "paused", "cancelled", "ended", "paused-ended"],
)
def test_only_approved_messages_on_air_or_to_come_are_public(
    changes: dict[str, Any], public: str | None
) -> None:
    assert public_status("message", message_row(**changes), NOW) == public


@pytest.mark.parametrize(
    ("changes", "public"),
    [
        ({}, "on-air"),
        ({"starts_at": NOW + 60}, "scheduled"),
        ({"approval": "pending"}, None),
        ({"cancelled_at": NOW - 10}, None),
        ({"expires_at": NOW - 10}, None),
    ],
    ids=["on-air", "scheduled", "pending", "cancelled", "expired"],
)
def test_only_approved_alerts_on_air_or_to_come_are_public(
    changes: dict[str, Any], public: str | None
) -> None:
    assert public_status("alert", alert_row(**changes), NOW) == public


def test_a_campaigns_message_is_public_where_it_was_accepted_while_the_campaign_runs() -> None:
    def shown(running: bool, accepted: list[str]) -> list[str]:
        row = message_row(campaign={"running": running, "accepted": accepted})
        return [item.key for item in public_items([row], [], BOURG, NOW)]

    assert shown(True, ["01053"]) == ["message-1"]
    assert shown(True, ["01004"]) == []  # invited, not yet accepted (or declined)
    assert shown(False, ["01053"]) == []  # not launched, or stopped


def test_alerts_then_emergencies_come_first_and_stand_out() -> None:
    messages = [
        message_row(id=1, text="À venir", starts_at=NOW + 60),
        message_row(id=2, text="Information en cours"),
        message_row(id=3, text="Urgent", priority="urgent"),
        message_row(id=4, text="Urgence", priority="emergency"),
        message_row(id=5, text="Ailleurs", communes=[("01004", "Ambérieu-en-Bugey")]),
    ]
    items = public_items(messages, [alert_row(id=9)], BOURG, NOW)
    assert [item.key for item in items] == ["alert-9", "message-4", "message-3", "message-2", "message-1"]
    assert [item.stands_out for item in items] == [True, True, True, False, False]


def test_a_public_item_says_nothing_of_its_authors() -> None:
    row = message_row(created_by="mairie-bourg", approved_by="valideur-bourg", rejected_reason="note")
    (item,) = public_items([row], [], BOURG, NOW)
    assert "mairie-bourg" not in repr(item) and "valideur" not in repr(item) and "note" not in repr(item)


def test_days_and_hours_read_as_a_town_hall_writes_them() -> None:
    school_runs = json.dumps(
        {"weekdays": [0, 3], "windows": ["07:00-09:00", "16:30-19:00"], "except_during": ["public-holidays"]}
    )
    (item,) = public_items([message_row(recurrence=school_runs)], [], BOURG, NOW)
    assert repeats(item.recurrence) == (
        "le lundi et le jeudi, de 7\u00a0h à 9\u00a0h et de 16\u00a0h\u00a030 à 19\u00a0h, sauf les jours fériés"
    )
    assert repeats(item.recurrence, "en") == (
        "on Monday and Thursday, from 07:00 to 09:00 and from 16:30 to 19:00, except on public holidays"
    )
    assert applies_when(item).startswith("du ") and "\u00a0h\u00a0; le lundi et le jeudi" in applies_when(
        item
    )
    every_day = json.dumps({"windows": ["07:00-09:00"]})
    assert repeats(public_items([message_row(recurrence=every_day)], [], BOURG, NOW)[0].recurrence) == (
        "de 7\u00a0h à 9\u00a0h"
    )


# Through the app: what a commune's editor queues, the way the public reads it.


def queue(client: FlaskClient, text: str, **fields: Any) -> int:
    answer = client.post("/api/v1/messages", json={"text": text, "panels": [DEMO_LED["id"]], **fields})
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


@pytest.fixture
def bourg(app: Flask) -> FlaskClient:
    """Bourg's editor, with a message on air until next week, one to come, one rejected, one pending."""
    editor = client_as(app, "mairie-bourg", "commune-editor", "01053")
    approver = client_as(app, "valideur-bourg", "commune-approver", "01053")
    start = datetime.now(UTC) + timedelta(days=2)
    queue(editor, "Conseil municipal jeudi 19 h : salle des fêtes !", ends_at=_iso(start + timedelta(days=5)))
    queue(editor, "Vide-grenier dimanche", starts_at=_iso(start), ends_at=_iso(start + timedelta(hours=8)))
    with app.app_context(), transaction(get_db()):
        get_db().execute("update organisations set messages_need_approval = 1 where id = 'commune-01053'")
    rejected = queue(editor, "Texte refusé par le maire")
    assert (
        approver.post(f"/api/v1/messages/{rejected}/reject", json={"reason": "note interne"}).status_code
        == 200
    )
    queue(editor, "Brouillon en attente")
    return editor


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


SECRETS = ("Texte refusé", "Brouillon en attente", "note interne", "mairie-bourg", "valideur-bourg")


def _public_answers(client: FlaskClient) -> dict[str, str]:
    found = {}
    for path in ("/c/01053", "/d/01", "/c/01053/widget"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.mimetype == "text/html", path
        found[path] = answer.get_data(as_text=True)
    for place in ("/c/01053", "/d/01"):
        for feed in ("feed.atom", "feed.json", "calendar.ics"):
            answer = client.get(f"{place}/{feed}")
            assert answer.status_code == 200, f"{place}/{feed}"
            found[f"{place}/{feed}"] = answer.get_data(as_text=True)
    return found


def test_approved_messages_reach_every_channel_and_nothing_else_does(app: Flask, bourg: FlaskClient) -> None:
    answers = _public_answers(app.test_client())
    for path, text in answers.items():
        assert "Conseil municipal jeudi" in text, path
        assert "Vide-grenier dimanche" in text, path
        for secret in SECRETS:
            assert secret not in text, f"{path} shows {secret!r}"
    page = answers["/c/01053"]
    assert '<html lang="fr">' in page and "<h1>Bourg-en-Bresse</h1>" in page
    assert "En ce moment" in page and "À venir" in page
    assert "<h1>Ain (01)</h1>" in answers["/d/01"]
    # French dates and French typography (no-break spaces before « : » and « ! »).
    assert "Conseil municipal jeudi 19\u00a0h\u00a0: salle des fêtes\u00a0!" in page
    assert "décembre" in page or "janvier" in page or " au " in page


def test_the_atom_feed_reads_in_feedparser(app: Flask, bourg: FlaskClient) -> None:
    feed = feedparser.parse(app.test_client().get("/c/01053/feed.atom").get_data())
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and feed.feed.title == "Bourg-en-Bresse\u00a0: messages et alertes"
    assert feed.feed.language == "fr"
    titles = [entry.title for entry in feed.entries]
    assert titles == [
        "Conseil municipal jeudi 19\u00a0h\u00a0: salle des fêtes\u00a0!",
        "Vide-grenier dimanche",
    ]
    first = feed.entries[0]
    assert first.id.startswith("tag:localhost,2026:message-") and first.link.startswith(
        "http://localhost/c/01053#"
    )
    assert "Du " in first.summary and " au " in first.summary


def test_the_json_feed_follows_version_1_1(app: Flask, bourg: FlaskClient) -> None:
    answer = app.test_client().get("/d/01/feed.json")
    assert answer.mimetype == "application/feed+json"
    feed = json.loads(answer.get_data())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "http://localhost/d/01/feed.json" and feed["language"] == "fr"
    for item in feed["items"]:
        assert (
            isinstance(item["id"], str)
            and item["content_text"]
            and item["url"].startswith("http://localhost/d/01#")
        )
        datetime.fromisoformat(item["date_published"].replace("Z", "+00:00"))
        assert set(item["_relais"]) == {"kind", "priority", "on_air", "starts_at", "ends_at", "communes"}
    assert [item["_relais"]["on_air"] for item in feed["items"]] == [True, False]


def test_the_calendar_reads_in_icalendar(app: Flask, bourg: FlaskClient) -> None:
    answer = app.test_client().get("/c/01053/calendar.ics")
    assert answer.mimetype == "text/calendar"
    agenda = icalendar.Calendar.from_ical(answer.get_data())
    assert agenda["VERSION"] == "2.0" and agenda["PRODID"]
    events = agenda.walk("VEVENT")
    assert [str(event["SUMMARY"]) for event in events] == [
        "Conseil municipal jeudi 19\u00a0h\u00a0: salle des fêtes\u00a0!",
        "Vide-grenier dimanche",
    ]
    fair = events[1]
    assert fair["DTEND"].dt - fair["DTSTART"].dt == timedelta(hours=8)
    assert str(fair["UID"]).startswith("message-") and fair["DTSTAMP"]


def test_days_and_hours_recur_in_the_calendar(app: Flask, bourg: FlaskClient) -> None:
    """Saturday and Sunday mornings for three weeks: a weekly event in Paris time, every window apart."""
    start = datetime.now(UTC) + timedelta(days=1)
    recurrence = {"weekdays": ["samedi", "dimanche"], "windows": ["08:00-12:00", "14:00-18:00"]}
    ends_at = _iso(start + timedelta(days=21))
    queue(client_as(app, "admin"), "Marché couvert ouvert", ends_at=ends_at, recurrence=recurrence)
    agenda = icalendar.Calendar.from_ical(app.test_client().get("/c/01053/calendar.ics").get_data())
    assert [str(zone["TZID"]) for zone in agenda.walk("VTIMEZONE")] == ["Europe/Paris"]
    market = [event for event in agenda.walk("VEVENT") if str(event["SUMMARY"]) == "Marché couvert ouvert"]
    assert len(market) == 2 and len({str(event["UID"]) for event in market}) == 2
    for event, hours in zip(market, ((8, 12), (14, 18)), strict=True):
        begins, ends = event["DTSTART"].dt, event["DTEND"].dt
        assert str(begins.tzinfo) == "Europe/Paris" and (begins.hour, ends.hour) == hours
        assert begins.weekday() == 5 or (
            begins.weekday() == 6 and begins - datetime.now(PARIS) < timedelta(days=2)
        )
        rule = event["RRULE"]
        assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["SA", "SU"] and rule["UNTIL"]
    fair = next(event for event in agenda.walk("VEVENT") if str(event["SUMMARY"]) == "Vide-grenier dimanche")
    assert "RRULE" not in fair


@pytest.mark.parametrize(
    "path", ["/c/01053", "/c/01053/feed.atom", "/d/01/feed.json", "/c/01053/calendar.ics"]
)
def test_unchanged_channels_answer_304(app: Flask, bourg: FlaskClient, path: str) -> None:
    client = app.test_client()
    first = client.get(path)
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    since = first.headers["Last-Modified"]
    assert client.get(path, headers={"If-Modified-Since": since}).status_code == 304
    ends = _iso(datetime.now(UTC) + timedelta(days=1))
    queue(client_as(app, "admin"), "Nouveau message", priority="urgent", ends_at=ends)
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    older = format_datetime(datetime.fromtimestamp(0, UTC), usegmt=True)
    assert client.get(path, headers={"If-Modified-Since": older}).status_code == 200


def test_a_pause_is_a_change_for_if_modified_since(app: Flask, bourg: FlaskClient) -> None:
    """Pausing writes no column of the message: its time comes from the audit log."""
    client = app.test_client()
    since = client.get("/c/01053/feed.atom").headers["Last-Modified"]
    time.sleep(1.1)  # HTTP dates count whole seconds
    message_id = json.loads(client.get("/c/01053/feed.json").get_data())["items"][0]["id"].rsplit("-", 1)[1]
    assert bourg.patch(f"/api/v1/messages/{message_id}", json={"paused": True}).status_code == 200
    answer = client.get("/c/01053/feed.atom", headers={"If-Modified-Since": since})
    assert answer.status_code == 200 and "Conseil municipal" not in answer.get_data(as_text=True)


def test_a_withdrawn_message_and_a_cancelled_alert_leave_the_pages_and_feeds_at_once(
    app: Flask, bourg: FlaskClient
) -> None:
    """The place's rows are kept a few seconds for its many visitors: a withdrawal through the app is
    seen by the very next opening all the same."""
    client, admin = app.test_client(), client_as(app, "admin")
    paths = ("/c/01053", "/c/01053/feed.atom", "/c/01053/feed.json", "/c/01053/widget", "/d/01")
    ends = _iso(datetime.now(UTC) + timedelta(hours=2))
    alert = admin.post(
        "/api/v1/alerts", json={"text": "Crue de la Reyssouze", "communes": ["01053"], "expires_at": ends}
    )
    assert alert.status_code == 201, alert.json
    for path in paths:
        text = client.get(path).get_data(as_text=True)
        assert "Conseil municipal" in text and "Crue de la Reyssouze" in text, path
    items = json.loads(client.get("/c/01053/feed.json").get_data())["items"]
    council = next(item for item in items if item["title"].startswith("Conseil municipal"))
    message_id = council["id"].rsplit("-", 1)[1]
    assert bourg.delete(f"/api/v1/messages/{message_id}").status_code == 200
    assert admin.delete(f"/api/v1/alerts/{alert.json['id']}").status_code == 200
    for path in paths:
        text = client.get(path).get_data(as_text=True)
        assert "Conseil municipal" not in text and "Crue de la Reyssouze" not in text, path
        assert "Vide-grenier dimanche" in text, path


def test_only_a_write_makes_the_next_opening_read_the_rows_again(
    app: Flask, bourg: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone may send a POST that changes nothing (an empty login form, a preview): it must not
    make every visitor's next opening read the place's rows again."""
    reads: list[object] = []

    def counted(*arguments: Any) -> list[dict[str, Any]]:
        reads.append(arguments[2:])
        return recent_messages(*arguments)

    monkeypatch.setattr(public_store, "recent_messages", counted)
    client = app.test_client()
    assert client.get("/c/01053").status_code == 200
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True)
    )
    assert token is not None
    assert client.post("/login", data={"csrf_token": token.group(1)}).status_code == 200  # the form again
    preview = bourg.post("/api/v1/preview.png", json={"text": "Essai", "panel": DEMO_LED["id"]})
    assert preview.status_code == 200, preview.json
    assert client.get("/c/01053").status_code == 200
    assert len(reads) == 1
    queue(bourg, "Marché de Noël")
    assert client.get("/c/01053").status_code == 200
    assert len(reads) == 2


@pytest.mark.parametrize(
    "path", ["/c/99999", "/c/abc", "/d/75", "/t/inconnu", "/c/99999/feed.atom", "/c/1/widget"]
)
def test_an_unknown_place_gets_a_french_404_page(app: Flask, path: str) -> None:
    answer = app.test_client().get(path)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "Page introuvable" in answer.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/d/0", "/c/0", "/d/0/feed.atom", "/t/" + "x" * 61])
def test_a_code_no_place_can_have_reads_no_panel(
    app: Flask, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    def region_read(*_arguments: Any) -> None:
        raise AssertionError("panels read")

    monkeypatch.setattr(public, "places_for", region_read)
    assert app.test_client().get(path).status_code == 404


def test_only_the_widget_may_be_framed(app: Flask, bourg: FlaskClient) -> None:
    client = app.test_client()
    widget = client.get("/c/01053/widget")
    assert "frame-ancestors *" in widget.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in widget.headers and "<script" not in widget.get_data(as_text=True)
    for path in ("/c/01053", "/c/01053/feed.atom", "/messages"):
        answer = client.get(path)
        assert answer.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path
    assert client.get("/c/01053/feed.json").headers["Access-Control-Allow-Origin"] == "*"


def test_tags_have_their_feed(app: Flask) -> None:
    editor = client_as(app, "admin")
    answer = editor.post(
        "/api/v1/messages", json={"text": "Travaux en entrée de ville", "tags": ["entree-de-ville"]}
    )
    assert answer.status_code == 201, answer.json
    feed = feedparser.parse(app.test_client().get("/t/entree-de-ville/feed.atom").get_data())
    assert [entry.title for entry in feed.entries] == ["Travaux en entrée de ville"]


def test_each_opening_counts_without_the_visitor(app: Flask, bourg: FlaskClient) -> None:
    client = app.test_client()
    for path in ("/c/01053", "/c/01053", "/c/01053/widget", "/d/01/feed.atom", "/c/01053/calendar.ics"):
        client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    with app.app_context():
        assert visit_counts(get_db()) == [], "an opening is counted in memory, not written at once"
        visits().write(get_db())
        counts = {(row["place"], row["channel"]): row["count"] for row in visit_counts(get_db())}
        stored = json.dumps(list(get_db().query("select * from public_counts")))
    assert counts == {
        ("c:01053", "page"): 2,
        ("c:01053", "widget"): 1,
        ("d:01", "atom"): 1,
        ("c:01053", "ics"): 1,
    }
    assert "192.0.2.7" not in stored


def test_one_address_opening_too_often_is_slowed_down_and_others_are_not(
    app: Flask, bourg: FlaskClient
) -> None:
    client = app.test_client()
    allowed = int(PUBLIC_LIMIT.split()[0])
    for _ in range(allowed):
        assert client.get("/c/01053/feed.json", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 200
    busy = client.get("/c/01053", environ_base={"REMOTE_ADDR": "192.0.2.8"})
    assert busy.status_code == 429 and busy.headers["Retry-After"] == "60"
    assert "réessayez dans un instant" in busy.get_data(as_text=True)
    assert client.get("/c/01053", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200
