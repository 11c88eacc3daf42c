"""Official alerts end to end: MeteoAlarm-shaped feeds and CAP documents served by a real HTTP server on
loopback, polled by the controller, on a real Mosquitto with real agents showing what the panels show.

The demo panels are all in the Ain: Bourg-en-Bresse's two LED boards and Ambérieu's e-paper."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from controller.domain.alerts import alert_content
from controller.domain.official_alerts import OFFICIAL_TITLE
from controller.publishing.official_feeds import clock_tick
from controller.rendering.engine import render
from controller.rendering.profiles import get_profile
from controller.web.context import get_db
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, same_pixels, wait_for
from tests.support.cap_feeds import FeedServer, atom_feed, document, feed_server
from tests.support.live import Live

pytestmark = pytest.mark.e2e
PANELS = (DEMO_LED, DEMO_RGB, DEMO_EPAPER)
ORANGE = "meteo-france-orange-snow-ice-ain.xml"
UPDATE = "meteo-france-update-ain.xml"
ALL_CLEAR = "meteo-france-allclear-ain.xml"
FLOOD = "prefecture-flood-polygon-cap11.xml"


def poll(live: Live, ahead_s: float = 0) -> None:
    """One poll of every source, as the job runs it (``ahead_s`` later: sources due by then too)."""
    jobs = live.app.extensions["relais.jobs"]
    for started in jobs.sources.poll_due(jobs.feeds, time.time() + ahead_s):
        started.result(timeout=60)


def add_source(live: Live, kind: str, location: str) -> dict:
    response = live.client.post(
        "/api/v1/alert-sources", json={"name": f"{kind} test", "kind": kind, "location": location}
    )
    assert response.status_code == 201, response.json
    return response.json


def set_mode(live: Live, mode: str, timeout_minutes: int | None = None) -> None:
    """The shipped Météo-France rule, its deployment changed as an organisation would."""
    rule = live.client.get("/api/v1/alert-rules").json["alert_rules"][0]
    deployment = {"mode": mode, "priority": "emergency"} | (
        {"timeout_minutes": timeout_minutes} if timeout_minutes else {}
    )
    assert (
        live.client.patch(f"/api/v1/alert-rules/{rule['id']}", json={"deployment": deployment}).status_code
        == 200
    )


def official(live: Live, **filters: str) -> list[dict]:
    return live.client.get("/api/v1/official-alerts", query_string=filters).json["official_alerts"]


def alert_image(text: str, profile_id: str) -> Image.Image:
    profile = get_profile(profile_id)
    return render(alert_content(text, OFFICIAL_TITLE, profile), profile).pages[0].frame.image()


def wait_shown(live: Live, texts: dict[str, str], panels: tuple[dict, ...] = PANELS) -> None:
    for spec in panels:
        expected = alert_image(texts[spec["profile"]], spec["profile"])
        wait_for(
            lambda s=spec, e=expected: same_pixels(live.screen(s["id"]), e), f"the alert on {spec['id']}", 30
        )


def showing(live: Live, panel_id: str) -> str | None:
    return live.panel(panel_id)["showing"]["item_id"]


def serve_feed(feeds: FeedServer, *names: str) -> str:
    entries = [(f"/cap/{name}", feeds.files.setdefault(f"/cap/{name}", document(name))) for name in names]
    return feeds.serve("/feeds/meteoalarm-legacy-atom-france", atom_feed(feeds.url, entries))


def test_an_orange_warning_goes_on_the_ain_panels_is_updated_and_ends(
    live_mosquitto: Live, feeds: FeedServer
) -> None:
    live = live_mosquitto
    for spec in PANELS:
        live.start_agent(spec["id"])
    feed_url = serve_feed(feeds, ORANGE)
    add_source(live, "atom", feed_url)
    set_mode(live, "automatic")

    poll(live)  # one poll: the feed, then its one CAP document
    [received] = official(live)
    assert received["status"] == "deployed", received
    texts = received["texts"]
    assert texts["led-amber-192x64"].startswith("Vigilance orange neige-verglas à partir de")
    assert texts["epaper-bw-800x480"].startswith("Vigilance orange neige-verglas\nÀ partir de")
    assert texts["epaper-bw-800x480"].endswith("Limitez vos déplacements et renseignez-vous avant de partir.")
    wait_shown(live, texts)
    alert_id = received["alert_id"]
    wait_for(
        lambda: live.client.get(f"/api/v1/alerts/{alert_id}").json["confirmed"] == 3, "every panel confirms"
    )

    # Polled again: the feed has not changed (304), nothing is fetched or taken in again.
    poll(live, ahead_s=61)
    assert feeds.requests[-1][0] == "/feeds/meteoalarm-legacy-atom-france" and feeds.requests[-1][1]
    # A second copy of the document, from another source, changes nothing.
    add_source(live, "cap", feeds.url + f"/cap/{ORANGE}")
    poll(live)
    assert [row["id"] for row in official(live)] == [received["id"]]
    assert live.client.get(f"/api/v1/alerts/{alert_id}").json["status"] == "on-air"

    # Météo-France's update: the same alert on the panels, with the new wording.
    serve_feed(feeds, ORANGE, UPDATE)
    poll(live, ahead_s=61)
    update = official(live)[0]
    assert update["status"] == "deployed" and update["alert_id"] == alert_id, update
    assert official(live, status="ended")[0]["id"] == received["id"]
    assert update["texts"] != texts
    wait_shown(live, update["texts"])

    # Its all clear ends it: off every panel.
    serve_feed(feeds, ORANGE, UPDATE, ALL_CLEAR)
    poll(live, ahead_s=61)
    assert live.client.get(f"/api/v1/alerts/{alert_id}").json["status"] == "cancelled"
    assert {row["status"] for row in official(live)} == {"ended", "received"}
    for spec in PANELS:
        wait_for(
            lambda s=spec: showing(live, s["id"]) not in (None, f"alert-{alert_id}"), f"{spec['id']} back"
        )


def test_an_approval_rule_queues_the_warning_until_a_person_or_the_timeout_deploys_it(
    live_mosquitto: Live, feeds: FeedServer
) -> None:
    live = live_mosquitto
    for spec in (DEMO_LED, DEMO_EPAPER):
        live.start_agent(spec["id"])
    add_source(live, "atom", serve_feed(feeds, ORANGE))  # the shipped rule: approval, 15-minute timeout

    poll(live)
    [pending] = official(live, status="pending")
    assert pending["alert_id"] is None and pending["deploys_at"]
    assert live.client.get("/api/v1/alerts").json["alerts"] == []
    # A person approves, with the e-paper's wording edited.
    texts = {"epaper-bw-800x480": "Vigilance orange neige-verglas\nRoutes glissantes dès mardi matin"}
    approved = live.client.post(f"/api/v1/official-alerts/{pending['id']}/approve", json={"texts": texts})
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "deployed" and approved.json["decided_by"] == "e2e"
    wait_shown(live, approved.json["texts"], (DEMO_LED, DEMO_EPAPER))
    actions = [
        entry["action"]
        for entry in live.client.get("/api/v1/audit", query_string={"object_type": "official_alert"}).json[
            "entries"
        ]
    ]
    assert {"official_alert.receive", "official_alert.pending", "official_alert.approve"} <= set(actions)


def test_nobody_acting_the_timeout_deploys_it_and_its_expiry_removes_it(
    live_mosquitto: Live, feeds: FeedServer
) -> None:
    live = live_mosquitto
    live.start_agent(DEMO_LED["id"])
    add_source(live, "atom", serve_feed(feeds, ORANGE))
    poll(live)
    [pending] = official(live, status="pending")
    jobs = live.app.extensions["relais.jobs"]
    clock_tick(jobs.feeds)
    assert official(live)[0]["status"] == "pending"
    with live.app.app_context():  # the 15 minutes pass
        get_db().execute(
            "update official_alerts set deploys_at = deploys_at - 900 where id = ?", [pending["id"]]
        )
        get_db().conn.commit()
    clock_tick(jobs.feeds)
    deployed = official(live)[0]
    assert deployed["status"] == "deployed" and deployed["decided_by"] is None
    wait_shown(live, deployed["texts"], (DEMO_LED,))
    expires = datetime.fromisoformat(deployed["expires_at"]).timestamp()
    clock_tick(jobs.feeds, expires + 1)
    assert official(live)[0]["status"] == "ended"


def test_a_polygon_alert_reaches_only_the_panels_inside_it(live_mosquitto: Live, feeds: FeedServer) -> None:
    live = live_mosquitto
    for spec in PANELS:
        live.start_agent(spec["id"])
    add_source(live, "cap", feeds.serve("/prefecture/crue.xml", document(FLOOD)))
    rule = {
        "name": "Crues de la préfecture",
        "match": {"senders": ["alerte@ain.gouv.fr"]},
        "targets": {"alert_area": True},
        "deployment": {"mode": "automatic", "priority": "emergency"},
        "wording": {"led": "{headline}", "epaper": "{headline}\n{instruction}"},
    }
    assert live.client.post("/api/v1/alert-rules", json=rule | {"position": 1}).status_code == 201
    poll(live)
    [flood] = official(live)
    assert flood["status"] == "deployed", flood
    assert flood["panels"] == ["bourg-entree-nord", "bourg-place-bernard"]
    wait_shown(live, flood["texts"], (DEMO_LED, DEMO_RGB))
    # Ambérieu, outside the polygon, was sent nothing.
    assert live.panel(DEMO_EPAPER["id"])["desired_item_id"] is None


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</alert>", "not well-formed XML"),
        (ENTITY_BOMB, "declares a DTD or an entity"),
        (b"<html><body>Maintenance</body></html>", "not a CAP 1.2 or 1.1 alert"),
        (None, "unreachable"),
    ],
    ids=["malformed", "entity-bomb", "not-cap", "unreachable"],
)
def test_a_bad_source_is_a_source_error_and_nothing_on_the_panels(
    live_mosquitto: Live, feeds: FeedServer, body: bytes | None, error: str
) -> None:
    live = live_mosquitto
    live.start_agent(DEMO_LED["id"])
    wait_for(lambda: live.panel(DEMO_LED["id"])["online"], "the panel is online")
    if body is None:
        with feed_server() as gone:
            url = gone.url + "/cap.xml"  # its port is closed once the block ends
    else:
        url = feeds.serve("/cap.xml", body)
    source = add_source(live, "cap", url)
    poll(live)
    english = {"Accept-Language": "en"}
    health = live.client.get(f"/api/v1/alert-sources/{source['id']}", headers=english).json["health"]
    assert health["status"] == "error" and error in health["last_error"], health
    assert health["failures"] == 1 and health["next_try_at"]
    assert official(live) == [] and live.client.get("/api/v1/alerts").json["alerts"] == []
    panel = live.panel(DEMO_LED["id"])
    assert panel["desired_item_id"] is None and panel["showing"]["item_id"] is None
    # The next try backs off: not due at the usual interval's end, due later.
    next_try = datetime.fromisoformat(health["next_try_at"])
    assert next_try > datetime.now(UTC) + timedelta(seconds=40)


def test_a_feed_linking_to_the_controllers_neighbours_is_a_source_error(
    live_mosquitto: Live, feeds: FeedServer
) -> None:
    """A feed from outside whose entry links to another server on a private address (here: loopback by
    another name) is not followed: the source says why, nothing is fetched there."""
    live = live_mosquitto
    port = feeds.url.rsplit(":", 1)[1]
    entries = [(f"/cap/{ORANGE}", feeds.files.setdefault(f"/cap/{ORANGE}", document(ORANGE)))]
    url = feeds.serve("/feeds/elsewhere", atom_feed(f"http://localhost:{port}", entries))
    source = add_source(live, "atom", url)
    poll(live)
    english = {"Accept-Language": "en"}
    health = live.client.get(f"/api/v1/alert-sources/{source['id']}", headers=english).json["health"]
    assert "is a private or local address" in health["last_error"], health
    assert all(path != f"/cap/{ORANGE}" for path, _ in feeds.requests)
    assert official(live) == []
