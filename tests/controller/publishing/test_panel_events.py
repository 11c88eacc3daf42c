"""What panels send of events: a bounded message, a budget per panel, and a retention in the database.

The flood comes from a real MQTT client with a panel's own user on the locked-down broker, sending
batches exactly as an agent does (``wire.join_events``, deflated); the controller is the real app
with its MQTT link and SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from controller import create_app, shutdown_app
from controller.domain.panels import register_panel
from controller.publishing import reports as status
from controller.publishing.jobs import prune_events_job
from controller.storage.db import transaction
from controller.web.context import get_db
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.brokers.security import BrokerCredentials
from tests.support import DEMO_LED, Session, client_as, production_broker, record_report, tls_url, wait_for

TOPICS = wire.Topics("relais/v1")
FLOODER, QUIET = "alpha", "beta"
NOW = 1_800_000_000
BURST = 200
FLOOD_MESSAGES = 30


@pytest.fixture(scope="module")
def production(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[MosquittoBroker, BrokerCredentials]]:
    with production_broker(tmp_path_factory.mktemp("events-broker"), [FLOODER, QUIET]) as running:
        yield running


def database_bytes(app: Flask) -> int:
    """The database's size as SQLite counts it, what is still in its write-ahead log included."""
    with app.app_context():
        query = "select page_count * page_size from pragma_page_count(), pragma_page_size()"
        return get_db().execute(query).fetchone()[0]


def status_row(app: Flask, panel_id: str) -> bool:
    with app.app_context():
        return bool(get_db().execute("select 1 from panel_status where panel_id = ?", [panel_id]).fetchone())


def panel_events(app: Flask, panel_id: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = get_db().execute("select event, details from panel_events where panel_id = ?", [panel_id])
        return [(event, details) for event, details in rows]


def test_a_flooding_panel_is_held_to_its_budget_and_others_and_alerts_still_get_through(
    production: tuple[MosquittoBroker, BrokerCredentials], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker, credentials = production
    app = create_app(
        {
            "DATA_DIR": tmp_path / "data",
            "BROKER_URL": tls_url(broker.port, *credentials.controller()),
            "BROKER_CA_FILE": str(broker.ca_file),
            "EVENTS_BURST_PER_PANEL": BURST,
            "EVENTS_PER_PANEL_PER_MINUTE": 1,  # as good as nothing earned back during the test
        }
    )
    flooder = Session(broker.port, *credentials.panel(FLOODER), ca_file=broker.ca_file)
    quiet = Session(broker.port, *credentials.panel(QUIET), ca_file=broker.ca_file)
    try:
        with app.app_context():
            for panel_id in (FLOODER, QUIET):
                register_panel(get_db(), {**DEMO_LED, "id": panel_id})
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        body = {"text": "Crue de la Reyssouze", "panels": [FLOODER, QUIET], "expires_at": expires}
        alert = client_as(app, "prefecture").post("/api/v1/alerts", json=body)
        assert alert.status_code == 201, alert.json
        item_id = alert.json["item_id"]
        link = app.extensions["relais.mqtt_link"]
        wait_for(link.connected.is_set, "controller connected")
        link.watch_panels()  # registered above, not through the API: watched at the next sweep else
        offline = wire.offline_state(FLOODER, NOW)
        flooder.publish(TOPICS.state(FLOODER), offline.to_payload(), retain=True)
        wait_for(lambda: status_row(app, FLOODER), "the controller reads the flooder's states")
        size_before = database_bytes(app)

        # Plays of 850 bytes, 100 a message (what an agent sends at most): 85 KB each once inflated (a
        # cost of 166 events), a few hundred bytes on the wire.
        details = {"item_id": "msg-1", "content_hash": "sha256:" + "ab" * 32, "note": "x" * 700}
        play = wire.PanelEvent(FLOODER, wire.EVENT_PLAY, NOW, details).to_payload()
        flood = wire.join_events([play] * wire.MAX_EVENTS_PER_BATCH)
        for _ in range(FLOOD_MESSAGES):
            flooder.publish(TOPICS.events(FLOODER), flood)
        # States switching between offline and online: each would add a line to its history.
        for number in range(FLOOD_MESSAGES * 2):
            switch = wire.PanelState(FLOODER, number % 2 == 1, NOW + number)
            flooder.publish(TOPICS.state(FLOODER), switch.to_payload(), retain=True)
        # Its own alert comes on air in a message over its budget: the confirmation still counts.
        on_air = wire.PanelEvent(FLOODER, wire.EVENT_ON_AIR, NOW, {"item_id": item_id, "at": NOW})
        flooder.publish(TOPICS.events(FLOODER), wire.join_events([on_air.to_payload(), *[play] * 99]))
        fault = wire.PanelEvent(QUIET, wire.EVENT_FAULT, NOW, {"code": "OSError", "detail": "fan"})
        quiet.publish(TOPICS.events(QUIET), wire.join_events([fault.to_payload()]))
        state = wire.PanelState(QUIET, True, NOW, item_id, "sha256:aa", 1)
        quiet.publish(TOPICS.state(QUIET), state.to_payload(), retain=True)

        def confirmed() -> dict[str, bool]:
            shown = client_as(app, "prefecture").get(f"/api/v1/alerts/{alert.json['id']}").json
            return {panel["id"]: bool(panel["confirmed_at"]) for panel in shown["panels"]}

        wait_for(lambda: confirmed() == {FLOODER: True, QUIET: True}, "both panels confirm the alert")
        wait_for(lambda: panel_events(app, QUIET), "the quiet panel's fault recorded")
    finally:
        shutdown_app(app)
        flooder.close()
        quiet.close()

    assert [event for event, _ in panel_events(app, QUIET)] == ["fault", "online"]
    # The first message fit the burst; the next 30 were dropped whole, and what was left of the budget
    # went on the first states' changes.
    kept = [event for event, _ in panel_events(app, FLOODER)]
    assert kept.count("play") == wire.MAX_EVENTS_PER_BATCH
    switches = len(kept) - wire.MAX_EVENTS_PER_BATCH
    assert set(kept) == {"play", "online", "offline"}
    assert switches <= BURST - status.event_cost(wire.read_events(flood)) < FLOOD_MESSAGES * 2
    assert client_as(app, "technician").get(f"/api/v1/panels/{FLOODER}").json["online"] is True
    assert database_bytes(app) - size_before < 1024 * 1024  # 2.6 MB came in
    drops = [record for record in caplog.records if f"events of {FLOODER} dropped" in record.getMessage()]
    assert len(drops) == 1, "one line per panel and minute, not one a message"


def test_the_budget_refills_with_time_and_each_panel_has_its_own() -> None:
    budget = status.EventBudget(per_minute=60, burst=100)
    assert budget.admit(FLOODER, 100, now=0.0)
    assert not budget.admit(FLOODER, 1, now=0.5)
    assert budget.admit(QUIET, 100, now=0.5)
    assert budget.admit(FLOODER, 10, now=10.5)  # a second for each
    assert not budget.admit(FLOODER, 100, now=11.0) and budget.dropped(FLOODER) == 101
    assert budget.admit(FLOODER, 100, now=1000.0)  # never more than the burst kept
    assert not budget.admit(FLOODER, 1, now=1000.0)
    with pytest.raises(ValueError):
        status.EventBudget(per_minute=60, burst=wire.MAX_EVENTS_PER_BATCH - 1)


def test_a_message_costs_its_count_or_its_size_whichever_is_more() -> None:
    small = wire.PanelEvent(FLOODER, wire.EVENT_PLAY, NOW, {"item_id": "msg-1"})
    assert status.event_cost(wire.read_events(wire.join_events([small.to_payload()] * 10))) == 10
    large = wire.PanelEvent(FLOODER, wire.EVENT_FAULT, NOW, {"detail": "x" * 5000})
    assert status.event_cost(wire.read_events(large.to_payload())) == 10


def test_events_past_their_retention_are_deleted_and_recent_ones_kept(app: Flask) -> None:
    now = datetime.now(UTC).timestamp()
    panel_id = "bourg-entree-nord"
    ages_days = {"old": 31, "older": 400, "recent": 29, "today": 0}
    with app.app_context():
        db = get_db()
        for name, days in ages_days.items():
            event = wire.PanelEvent(panel_id, wire.EVENT_FAULT, NOW, {"code": name})
            record_report(db, event, now - days * 86_400)
    prune_events_job(replace(app.extensions["relais.jobs"], events_kept_days=30))
    left = sorted(details for _, details in panel_events(app, panel_id))
    assert left == sorted(f'{{"code": "{name}"}}' for name in ("recent", "today"))


def test_retention_deletes_in_batches_until_none_is_left(app: Flask) -> None:
    panel_id = "bourg-entree-nord"
    with app.app_context():
        db = get_db()
        for number in range(7):
            event = wire.PanelEvent(panel_id, wire.EVENT_FAULT, NOW, {"code": str(number)})
            record_report(db, event, NOW - 10 + number)
        assert status.prune_events(db, before=NOW - 5, batch=2) == 5
        assert status.prune_events(db, before=NOW - 5, batch=2) == 0
        # Each batch finds its rows by the index, not by reading the whole table under the write lock.
        plan = " ".join(row[3] for row in db.execute(f"explain query plan {status.OLD_EVENTS}", [NOW, 2]))
        assert "USING COVERING INDEX idx_panel_events_received_at" in plan, plan
    assert len(panel_events(app, panel_id)) == 2


def test_an_over_budget_message_keeps_only_the_alerts_it_says_are_on_air() -> None:
    events = [
        wire.PanelEvent(FLOODER, wire.EVENT_ON_AIR, NOW, {"item_id": "alert-7", "at": NOW - 1}),
        wire.PanelEvent(FLOODER, wire.EVENT_ON_AIR, NOW, {"item_id": "msg-3", "at": NOW}),
        wire.PanelEvent(FLOODER, wire.EVENT_PLAY, NOW, {"item_id": "alert-7"}),
        wire.PanelEvent(FLOODER, wire.EVENT_ON_AIR, NOW, {"item_id": "alert-8"}),
    ]
    kept = status.alert_sightings(FLOODER, events, received_at=NOW + 5)
    assert kept == status.AlertSightings(FLOODER, (("alert-7", NOW - 1), ("alert-8", NOW + 5)))


def test_relais_serve_takes_the_budget_and_the_retention_and_refuses_a_burst_below_a_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from programs.cli import build_parser

    serve = ["serve", "--broker-url", "mqtt://127.0.0.1:1883"]
    given = build_parser().parse_args([*serve, "--events-per-minute", "30", "--events-kept-days", "365"])
    assert (given.events_per_minute, given.events_burst, given.events_kept_days) == (30, None, 365)
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args([*serve, "--events-burst", "99"])
    assert refused.value.code == 2
    assert "--events-burst: must be at least 100, not 99" in capsys.readouterr().err


def test_unreadable_messages_of_events_are_dropped_with_one_log_line_a_minute(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    from controller.publishing.link import MqttLink, _Report

    link = MqttLink(app.config["DATABASE"], "mqtt://127.0.0.1:1", TOPICS, "events-test")
    try:
        too_many = wire.join_events([wire.PanelEvent(FLOODER, "play", NOW).to_payload()] * 101)
        for payload in (too_many, b"x\x9c not zlib", b"[{}]"):
            assert link._read(_Report(TOPICS.events(FLOODER), payload, 1, 1)) == []
    finally:
        link.stop()
    lines = [record.getMessage() for record in caplog.records if "dropped" in record.getMessage()]
    assert len(lines) == 1 and "101 events in one message" in lines[0]


def test_a_panels_sums_of_plays_out_of_range_are_left_out_alone_with_a_log_line(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """What would break a campaign's report (a total past SQLite's integers, a date past year 9999, NaN)
    never reaches ``play_hours``; the panel's good sums in the same message do."""
    panel_id, hour = "bourg-entree-nord", NOW - NOW % 3600 - 3600
    good = {"item_id": "msg-1", "content_hash": None, "hour": hour, "count": 2, "seconds": 20.0,
            "first_start": hour + 10.0, "last_end": hour + 40.0}  # fmt: skip
    bad = [
        {"count": 2**63},  # past SQLite's integers
        {"count": 0},
        {"count": -5},
        {"count": True},
        {"hour": 2**70 * 3600},  # past SQLite's integers
        {"hour": hour + 30 * 86_400},  # a month ahead
        {"hour": hour + 1},  # not a whole hour
        {"first_start": float("nan")},
        {"first_start": hour - 10.0},  # not in its hour
        {"last_end": float("inf")},
        {"last_end": 10.0**300},
        {"last_end": hour},  # before its first start
        {"seconds": 10**400},  # no float holds it
        {"seconds": -1.0},
        {"seconds": 3600.0 * 24 * 365},  # more than between its first start and last end
        {"seconds": float("nan"), "last_end": float("nan")},
    ]
    events = [wire.PanelEvent(panel_id, wire.EVENT_PLAY_HOURS, NOW, {**good, **change}) for change in bad]
    with app.app_context():
        db = get_db()
        with transaction(db):
            status.record_reports(
                db, [*events, wire.PanelEvent(panel_id, wire.EVENT_PLAY_HOURS, NOW, good)], NOW
            )
        rows = db.execute(
            "select item_id, hour, displays, seconds_on_air, first_start, last_end from play_hours"
        )
        assert [tuple(row) for row in rows] == [("msg-1", hour, 2, 20.0, hour + 10.0, hour + 40.0)]
    lines = [
        record.getMessage()
        for record in caplog.records
        if "sum of plays that is not one" in record.getMessage()
    ]
    assert len(lines) == len(bad) and all(line.startswith(panel_id) for line in lines)


def test_a_panels_plays_out_of_range_are_left_out_alone_with_a_log_line(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """An older agent's plays: a time a campaign's report could not print (past year 9999, NaN,
    infinite, an integer no float holds) never reaches ``plays``; a good play in the same message does."""
    panel_id = "bourg-entree-nord"
    good = {"item_id": "msg-1", "started_at": NOW - 20.0, "ended_at": NOW - 10.0}
    bad = [
        {"started_at": -1.0},
        {"ended_at": 10.0**300},
        {"started_at": NOW + 30 * 86_400.0},  # a month ahead
    ]
    # What is no time is replaced by the time received, as a missing time is.
    replaced = [{"ended_at": 10**400}, {"ended_at": float("inf")}, {"started_at": float("nan")}]
    events = [
        wire.PanelEvent(panel_id, wire.EVENT_PLAY, NOW, {**good, **change})
        for change in [*bad, {}, *replaced]
    ]
    with app.app_context():
        db = get_db()
        with transaction(db):
            status.record_reports(db, events, NOW)
        rows = db.execute("select started_at, ended_at from plays order by ended_at, started_at")
        assert [tuple(row) for row in rows] == [
            (NOW - 20, NOW - 10),
            (NOW - 20, NOW),
            (NOW - 20, NOW),
            (NOW, NOW),
        ]
    lines = [record.getMessage() for record in caplog.records if "play out of range" in record.getMessage()]
    assert len(lines) == len(bad) and all(line.startswith(panel_id) for line in lines)
