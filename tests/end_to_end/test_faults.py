"""Faults between the controller, the broker and the panels, on real processes: nothing acknowledged is
lost. A broker killed (SIGKILL) or stalled, a link cut, a request retried after its answer was lost;
each test checks what the panel then shows and what the API says, not only that nothing crashed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from controller.domain.panels import register_panel
from controller.publishing import outbox
from controller.publishing import reports as status
from controller.publishing.link import MqttLink, Reconciliation
from controller.storage.db import connect, open_database, transaction
from controller.web.context import get_db
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.signals import end_processes
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, client_as, record_report, user_token, wait_for
from tests.support.chaos import Cable, Controller, stop_process
from tests.support.live import Live, live_controller

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(120)]

PANEL = DEMO_LED["id"]
NOW = 1_800_000_000.0
# What a restarted broker must not need from the controller: a couple of seconds to reconnect, at most.
RECONNECTED_WITHIN_S = 4.0


def link_of(live: Live) -> MqttLink:
    return live.app.extensions["relais.mqtt_link"]


def up_to_date_with(live: Live, item_id: str) -> bool:
    """The panel says it is online and follows its newest schedule, with ``item_id`` on air."""
    panel = live.panel(PANEL)
    return panel["online"] and panel["up_to_date"] and panel["showing"]["item_id"] == item_id


def follows(live: Live, queued: dict) -> bool:
    """The panel says it is online and has applied the schedule ``queued`` made (or a newer one): with
    two messages in its rotation, which one is on air when it reports depends on the clock."""
    panel = live.panel(PANEL)
    return panel["online"] and panel["applied_seq"] >= queued["panels"][PANEL]


def stop_agent(live: Live) -> None:
    """The agent stops (its offline state goes out) and the controller has recorded it."""
    end_processes([live.agents.pop(PANEL)], 10)
    wait_for(lambda: not live.panel(PANEL)["online"], "the panel recorded offline")


def desired_payload(live: Live) -> bytes:
    with live.app.app_context():
        return get_db().execute("select payload from desired where panel_id = ?", [PANEL]).fetchone()[0]


@contextmanager
def controller_through(cable: Cable, tmp_path: Path) -> Iterator[Live]:
    """A controller whose only way to its broker is ``cable``; panels connect to the broker directly."""
    with live_controller(SimpleNamespace(url=cable.url), tmp_path) as live:  # type: ignore[arg-type]
        yield live


def test_a_panel_offline_while_the_broker_is_killed_gets_the_message_queued_just_before(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    """The broker dies (SIGKILL) right after taking a schedule, before its next save: restarted, it has an
    older retained schedule or none. The controller reconnects at once and hands it every schedule again,
    so the panel, offline all along, shows the message when it comes back, with no further change."""
    with live_controller(own_broker, tmp_path) as live:
        live.start_agent(PANEL)
        first = live.post("Marché du jeudi", [PANEL])
        wait_for(lambda: up_to_date_with(live, first["item_id"]), "the panel follows its first schedule")
        stop_agent(live)

        queued = live.post("Route barrée", [PANEL])
        wait_for(lambda: live.panel(PANEL)["published"], "the broker acknowledged the new schedule")
        own_broker.kill()

        # Meanwhile the API does not pretend to know.
        wait_for(lambda: not live.panel(PANEL)["state_known"], "the API says the state is unknown")
        during = live.panel(PANEL)
        assert during["unknown_since"] is not None
        listed = live.client.get("/api/v1/panels").json["panels"]
        assert {panel["state_known"] for panel in listed} == {False}

        own_broker.start()
        wait_for(link_of(live).connected.is_set, "the controller reconnected", RECONNECTED_WITHIN_S)
        after = live.panel(PANEL)
        assert after["state_known"] and after["unknown_since"] is None

        live.start_agent(PANEL)
        wait_for(lambda: up_to_date_with(live, queued["item_id"]), "the panel shows the message queued")


def test_the_controller_reconnects_within_seconds_however_long_the_broker_was_away(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    """Refused again and again (its backoff would grow to half a minute), the controller still knocks every
    couple of seconds: once the way is open, it is connected within seconds."""
    cable = Cable(own_broker.port)
    try:
        with controller_through(cable, tmp_path) as live:
            cable.cut()
            wait_for(lambda: cable.refused >= 4, "the controller knocked four times", 25)
            cable.mend()
            wait_for(link_of(live).connected.is_set, "the controller reconnected", RECONNECTED_WITHIN_S)
    finally:
        cable.close()


def test_after_a_stall_the_retained_schedule_is_the_newest_not_one_sent_again_by_the_client(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    """A schedule published while the broker stalls is never acknowledged; the link drops, a newer one
    is queued meanwhile. Once reconnected, the newer one must be the one the broker keeps: a panel that
    comes later shows it."""
    cable = Cable(own_broker.port)
    try:
        with controller_through(cable, tmp_path) as live:
            cable.hold()
            stalled = live.post("Collecte des encombrants", [PANEL])
            cable.cut()
            wait_for(lambda: not link_of(live).connected.is_set(), "the controller lost the broker")
            newest = live.post("Collecte reportée", [PANEL])
            assert newest["panels"][PANEL] > stalled["panels"][PANEL]
            cable.mend()
            wait_for(lambda: live.panel(PANEL)["published"], "the newest schedule acknowledged")

            live.start_agent(PANEL, broker_url=own_broker.url)
            wait_for(lambda: follows(live, newest), "the panel follows the newest schedule")
    finally:
        cable.close()


def roll_back(broker: MosquittoBroker, topic: str, payload: bytes, panel_session: str) -> None:
    """What a broker restored from an old save, or that let a panel's session expire, would give the
    panel: an older schedule retained on its topic, and no queued newer one. A clean session under the
    panel's client id ends the one it had."""
    for client_id, publish in ((f"rollback-{uuid.uuid4().hex[:8]}", True), (panel_session, False)):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        try:
            if publish:
                client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
            else:
                wait_for(client.is_connected, "the panel's old session replaced")
        finally:
            client.disconnect()
            client.loop_stop()


def test_a_panel_seen_behind_its_schedule_is_sent_it_again_without_any_change(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    """The broker hands a panel coming back an older retained schedule and nothing newer (a rollback the
    controller did not see: no reconnection). The panel reports it shows that one; the reconciliation
    sends the newest again."""
    with live_controller(own_broker, tmp_path) as live:
        link_of(live).reconciliation = Reconciliation(every_s=0, settle_s=1, per_round=10, per_panel_s=60)
        live.start_agent(PANEL)
        first = live.post("Marché du jeudi", [PANEL])
        wait_for(lambda: up_to_date_with(live, first["item_id"]), "the panel follows its first schedule")
        older = desired_payload(live)
        stop_agent(live)

        newest = live.post("Marché annulé", [PANEL])
        wait_for(lambda: live.panel(PANEL)["published"], "the broker acknowledged the new schedule")
        roll_back(own_broker, live.topics.desired(PANEL), older, f"relais-panel-{PANEL}")

        live.start_agent(PANEL)
        wait_for(lambda: follows(live, newest), "the panel follows the newest schedule")


def test_the_reconciliation_takes_panels_long_behind_first_a_bounded_number_and_spares_some(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    """Three panels online and behind, acknowledged at different times: a round takes the longest behind
    first, no more than its cap, none that has not had time to follow, none spared (sent again lately)."""
    db = open_database(tmp_path / "relais.db")
    panels = [DEMO_LED["id"], DEMO_RGB["id"], DEMO_EPAPER["id"]]
    for spec in (DEMO_LED, DEMO_RGB, DEMO_EPAPER):
        register_panel(db, spec)
    content = {"schedule": wire.Schedule.single(None, start=int(NOW), horizon_end=int(NOW) + 3600).to_json()}
    for lag, panel_id in enumerate(panels):  # acknowledged 0, 1 and 2 s apart, the LED's first
        with transaction(db):
            seq = outbox.stage_desired(
                db, signing_key, [outbox.Desired(panel_id, content, None)], now=NOW, ttl_s=3600
            )[panel_id]
            outbox.mark_published(db, [(panel_id, seq)], NOW + lag)
        shown = seq if panel_id == DEMO_EPAPER["id"] else seq - 1  # the e-paper follows its schedule
        record_report(db, wire.PanelState(panel_id, True, int(NOW), None, None, shown, "1.0", 60), NOW + lag)

    def behind(now: float, limit: int = 10, spared: tuple[str, ...] = ()) -> list[str]:
        return status.behind(db, now, settle_s=30, limit=limit, spared=spared)

    assert behind(NOW + 29) == []
    assert behind(NOW + 60) == [DEMO_LED["id"], DEMO_RGB["id"]]
    assert behind(NOW + 60, limit=1) == [DEMO_LED["id"]]
    assert behind(NOW + 60, limit=1, spared=(DEMO_LED["id"],)) == [DEMO_RGB["id"]]
    assert behind(NOW + 3600) == []  # run out: the scheduler seals a fresh one, nothing to send again


# --- Idempotency-Key ---------------------------------------------------------------------------------

MESSAGE = {"text": "Fête de la musique", "panels": [PANEL]}


def post_with_key(client: Any, key: str, body: dict[str, Any], path: str = "/api/v1/messages") -> Any:
    return client.post(path, json=body, headers={"Idempotency-Key": key})


def message_count(client: Any) -> int:
    return client.get("/api/v1/messages").json["total"]


def test_a_post_retried_with_the_same_key_is_queued_once_and_answered_alike(client: Any) -> None:
    before = message_count(client)
    first = post_with_key(client, "retry-1", MESSAGE)
    again = post_with_key(client, "retry-1", MESSAGE)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert message_count(client) == before + 1

    other = post_with_key(client, "retry-2", MESSAGE)
    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    assert message_count(client) == before + 2


def test_the_same_key_with_another_body_is_refused_naming_the_header(client: Any) -> None:
    assert post_with_key(client, "k-1", MESSAGE).status_code == 201
    refused = post_with_key(client, "k-1", {**MESSAGE, "text": "Autre chose"})
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "Idempotency-Key"
    wrong_path = post_with_key(client, "k-1", {"text": "Alerte", "panels": [PANEL]}, "/api/v1/alerts")
    assert wrong_path.status_code == 422


def test_a_failed_request_keeps_no_key_and_a_malformed_key_is_a_400(client: Any) -> None:
    before = message_count(client)
    failed = post_with_key(client, "k-2", {"panels": [PANEL]})
    assert failed.status_code == 400
    assert post_with_key(client, "k-2", MESSAGE).status_code == 201
    assert message_count(client) == before + 1
    malformed = post_with_key(client, "with space", MESSAGE)
    assert malformed.status_code == 400 and malformed.json["error"]["field"] == "Idempotency-Key"


def test_keys_belong_to_their_user(app: Any, client: Any) -> None:
    other = client_as(app, "someone-else")
    first = post_with_key(client, "shared", MESSAGE)
    second = post_with_key(other, "shared", MESSAGE)
    assert first.status_code == second.status_code == 201
    assert first.json["id"] != second.json["id"]


def test_a_controller_killed_after_answering_answers_a_retry_from_its_database(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    """``relais serve`` killed (SIGKILL) after storing a message: the client, who never saw the answer,
    retries with its key after the restart and gets the first answer; the message is there once."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first_run = Controller(data_dir, own_broker.url)
    try:
        db = connect(data_dir / "relais.db")
        register_panel(db, DEMO_LED)
        token = user_token(db, "retrier")
        db.close()
        key = {"Idempotency-Key": "crash-1"}
        answer = first_run.request("POST", "/api/v1/messages", token, MESSAGE, key)
    finally:
        first_run.process.kill()
        first_run.process.wait()
    second_run = Controller(data_dir, own_broker.url)
    try:
        assert second_run.request("POST", "/api/v1/messages", token, MESSAGE, key) == answer
        assert second_run.request("GET", "/api/v1/messages", token)["total"] == 1
    finally:
        stop_process(second_run.process)
