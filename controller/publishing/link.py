"""The controller's one MQTT connection: it empties the outbox and records what panels report."""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.properties import Properties
from prometheus_client import CollectorRegistry

from controller.publishing import outbox, reports
from controller.publishing.metrics import LinkInstruments
from controller.storage.db import connect, transaction
from relais.mqtt import (
    SESSION_NEVER_EXPIRES,
    UNSUPPORTED_PROTOCOL,
    BrokerUrl,
    connect_in_background,
    expiry_properties,
    forget_redeliveries,
    negotiate_protocol,
    new_client,
    queued_together,
)
from relais.wire import MAX_PAYLOAD_BYTES, PanelState, Topics, WireError, read_events

log = logging.getLogger(__name__)

# Topics per SUBSCRIBE packet when watching many panels: a few kB each, well within any broker's limit.
SUBSCRIBE_BATCH = 200
# Reports recorded in one transaction at most: a whole department's states after a broker restart.
MAX_BATCH = 2000
# A burst of reports goes into a few transactions rather than one per handful: once one has come, the
# recorder lets others gather this long (so a report is recorded that much later, at most).
GATHER_S = 0.01
# The controller's wait before reconnecting to its broker, first and longest: it is one client, an alert
# sent during an outage waits for it, and a connection refused on the broker's host costs nothing.
RECONNECT_BOUNDS = (0.5, 2.0)


@dataclass(frozen=True)
class Reconciliation:
    """How panels whose state shows them behind are sent their schedule again, without a new change.

    A round every ``every_s`` takes at most ``per_round`` panels (a thousand coming back at once are
    spread over rounds, behind any alert in each flush), each behind for ``settle_s`` at least (the time
    to follow a schedule and report it) and sent again at most once per ``per_panel_s`` (one that keeps
    refusing its schedule for another reason is not flooded).
    """

    every_s: float = 10.0
    settle_s: float = 30.0
    per_round: int = 100
    per_panel_s: float = 300.0


@dataclass(frozen=True)
class _Report:
    """A panel's state or event as it came, with what its PUBACK needs once it is recorded."""

    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttLink:
    """Publishes sealed states (QoS 1, retained) and tracks each PUBACK through ``on_publish``.

    paho's ``wait_for_publish`` raises while disconnected, so acknowledgements are matched to
    outbox rows by message id instead; anything unacknowledged is published again on reconnect.
    Besides the immediate ``flush()`` after a change, a sweep every few seconds publishes what other
    writers (the scheduler, the command line, another process) put in the outbox.

    Panel states are watched on each registered panel's exact state topic, not on ``+/state``: some
    brokers (RabbitMQ) hand retained messages to exact-topic subscriptions only, and the retained
    states are how a restarted controller learns what each panel shows. ``watch_panels`` follows the
    panels table (on connect, in the sweep, and at once after a registration through the API). Events
    are not retained, so one wildcard subscription takes them all.

    What panels report, and the broker's PUBACKs, are recorded by a thread of its own, as many as have
    come in one transaction, and reports are acknowledged (manual PUBACK) only once committed: a department's panels all
    reporting at once after a broker restart neither hold up paho's network thread for seconds nor
    fill the broker's queue for us (where it would drop them), and a crash loses none.

    MQTT 5 when the broker takes it, else 3.1.1: before connecting, a throwaway connection asks (see
    ``relais.mqtt.negotiate_protocol``), again and again while the broker does not answer, so a controller
    started before its broker still gets MQTT 5. The choice holds until the controller restarts. With
    MQTT 5 the session never expires, as 3.1.1's persistent session, and each desired state and command
    carries a message expiry at its signed ``expires_at``: the broker drops a dead retained schedule, and
    a command a panel offline for longer would get from its session. A PUBACK refusing a state (MQTT 5
    only: 3.1.1 has no way to say so) leaves it pending, for the next sweep.

    Nothing acknowledged is lost to a broker that forgets: at every connection, every running desired
    state goes again (a restarted broker may have lost the newest retained schedules, or handed back older
    ones from its last save, even while telling us our session is still there), and paho's own redelivery
    of unacknowledged states is dropped, since it would come after the newer ones. A panel whose state
    still shows it behind is sent its schedule again (``Reconciliation``). Until connected, what panels
    report cannot be known: ``unknown_since`` says since when.

    Locking: paho calls ``on_publish`` while holding its own outgoing-message lock, and ``publish``
    takes that lock, so no lock of ours is ever held across a paho call. ``_db_lock`` guards the
    SQLite connection the recorder writes with, ``_read_lock`` the one flushes and sweeps read with
    (never waiting for a writer), ``_flight_lock`` the message-id bookkeeping, ``_flush_lock`` keeps two
    flushes from sending the same row twice, ``_watch_lock`` the set of watched panels.
    """

    SWEEP_EVERY_S = 2.0

    def __init__(
        self,
        database_path: Path,
        broker_url: str,
        topics: Topics,
        client_id: str,
        ca_file: str | None = None,
        event_budget: reports.EventBudget | None = None,
        instruments: LinkInstruments | None = None,
    ) -> None:
        """``event_budget``: what each panel may send of events (``reports.EventBudget``'s defaults if None);
        ``instruments``: where it counts PUBACK times and reports (on a registry of its own if None)."""
        self.topics = topics
        self.instruments = instruments or LinkInstruments.on(CollectorRegistry())
        self._event_budget = event_budget or reports.EventBudget()
        self.broker_url = broker_url
        self._db = connect(database_path)
        self._db_lock = threading.Lock()
        # Reads of its own: the recorder may hold ``_db_lock`` while it waits for SQLite's write lock, and
        # a request that holds that lock (``controller.web.idempotency``) may flush meanwhile.
        self._reader = connect(database_path)
        self._read_lock = threading.Lock()
        self._flight_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._in_flight: dict[int, tuple[str, int]] = {}
        self._published_at: dict[
            int, float
        ] = {}  # by message id: when each state in flight was handed to paho
        self._oversized_logged: set[tuple[str, int]] = set()  # (panel, seq) of schedules too large to send
        self._client_id = client_id
        self._ca_file = ca_file
        self._reports: collections.deque[_Report] = collections.deque()
        self._acknowledged: collections.deque[tuple[str, int]] = collections.deque()  # (panel, seq) PUBACKed
        # PUBACKed but not yet marked published in the database: a flush must not send those again.
        self._unrecorded: set[tuple[str, int]] = set()
        self._reported = threading.Event()
        # PUBACKs that arrived before ``publish`` returned their message id to us: whether the broker took it.
        self._early_acks: dict[int, bool] = {}
        self._commands_in_flight: set[int] = set()  # message ids of commands not PUBACKed yet
        self._receive_maximum = 0  # the broker's Receive Maximum (MQTT 5); 0: no limit
        self._held_back = False  # a flush stopped at the Receive Maximum: flush again as PUBACKs come
        self._flush_wanted = threading.Event()
        self._watch_lock = threading.Lock()
        self._watched: set[str] = set()
        # Panels whose acknowledged state goes again at the next flush; all of them after a connection.
        self._again: set[str] = set()
        self._again_all = False
        self.reconciliation = Reconciliation()
        self._sent_again_at: dict[str, float] = {}  # by the reconciliation, by panel
        self._reconciled_at = 0.0
        self.connected = threading.Event()
        self._unknown_since: float | None = time.time()
        self._stopping = threading.Event()
        self._connector = threading.Thread(target=self._connect, name="mqtt-connect", daemon=True)
        self._sweeper = threading.Thread(target=self._sweep, name="outbox-sweep", daemon=True)
        self._recorder = threading.Thread(target=self._record_reports, name="reports", daemon=True)
        # Made once the broker has said which protocol it speaks (``protocol``): none before ``start``.
        self.protocol: MQTTProtocolVersion | None = None
        self._client: mqtt.Client | None = None

    def start(self) -> None:
        self._connector.start()
        self._sweeper.start()
        self._recorder.start()

    def stop(self) -> None:
        """Reports not recorded yet were not acknowledged either: the broker gives them again next time."""
        self._stopping.set()
        self._reported.set()
        self._flush_wanted.set()
        for thread in (self._connector, self._sweeper, self._recorder):
            if thread.is_alive():
                thread.join()
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        with self._db_lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def _connect(self) -> None:
        """The connector thread: learn which protocol the broker speaks, then connect with it for good.

        Until the broker answers, ``connected`` stays clear: the outbox waits, as for a broker that is down.
        """
        broker = BrokerUrl.parse(self.broker_url)
        delay, longest = RECONNECT_BOUNDS
        negotiated = None
        while negotiated is None:
            negotiated = negotiate_protocol(
                self.broker_url, client_id=f"{self._client_id}-probe", ca_file=self._ca_file
            )
            if negotiated is None:
                log.warning(
                    "no answer from the broker at %s:%s; asking again in %.0f s",
                    broker.host,
                    broker.port,
                    delay,
                )
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, longest)
        protocol = negotiated.protocol
        log.info("the broker at %s:%s takes %s", broker.host, broker.port, protocol.name)
        client = new_client(
            self._client_id,
            self.broker_url,
            ca_file=self._ca_file,
            protocol=protocol,
            reconnect_bounds=RECONNECT_BOUNDS,
        )
        client.manual_ack_set(True)
        # A department's 1,000 schedules go out at once rather than 20 at a time (paho's default). No
        # limit in paho: with one, paho walks every message in flight at each PUBACK, O(n²) for a burst.
        # An MQTT 5 broker's Receive Maximum (exceeding it is a protocol error, for which a strict
        # broker disconnects) is kept by ``flush`` instead, which counts what is in flight.
        client.max_inflight_messages_set(0)
        self._receive_maximum = negotiated.receive_maximum
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self.protocol, self._client = protocol, client
        if not self._stopping.is_set():
            connect_in_background(client, self.broker_url)

    def _expiry(self, expires_at: float) -> Properties | None:
        """What has an MQTT 5 broker drop a message at ``expires_at``; 3.1.1 has no such thing."""
        if self.protocol != MQTTProtocolVersion.MQTTv5:
            return None
        return expiry_properties(expires_at, time.time())

    @property
    def unknown_since(self) -> float | None:
        """Since when the controller has not been connected to its broker (since it started, if never):
        what panels report meanwhile cannot reach it. None while connected."""
        return self._unknown_since

    def flush(self) -> int:
        """Publish every desired state not yet acknowledged nor already on its way, then those to send
        again; return how many."""
        client = self._client
        if not self.connected.is_set() or client is None:
            return 0
        sent = 0
        with self._flush_lock:
            with self._flight_lock:
                waiting = set(self._in_flight.values()) | self._unrecorded
            # Under a Receive Maximum, a fan-out of N goes out in turns, a flush each time the broker has
            # acknowledged half of it: reading the whole outbox at each would cost O(N²) (a region's
            # 10,000 panels: twenty reads of up to 10,000 rows). The oldest pending are those on their
            # way, then what there is room for and one more, which tells the flush to hold back the rest;
            # PUBACKs coming back meanwhile make room for more than it read: it holds back all the same.
            room = self._receive_maximum - self._in_flight_count() if self._receive_maximum else None
            if room is not None and room <= 0:
                self._held_back = True
                return 0
            with self._read_lock:
                limit = None if room is None else len(waiting) + room + 1
                pending = outbox.pending(self._reader, limit)
                rows = pending + self._to_send_again(limit)
            with self._flight_lock:
                self._again.difference_update(panel_id for panel_id, _ in waiting)  # on its way already
            # A sweep during a department's fan-out skips a thousand in flight without reading them.
            due = [row for row in rows if (row["panel_id"], row["seq"]) not in waiting]
            for start in range(0, len(due), outbox.PAYLOADS_PER_QUERY):
                chunk = due[start : start + outbox.PAYLOADS_PER_QUERY]
                with self._read_lock:
                    payloads = outbox.payloads(self._reader, [(row["panel_id"], row["seq"]) for row in chunk])
                with queued_together(client):
                    for row in chunk:
                        if self._receive_maximum and self._in_flight_count() >= self._receive_maximum:
                            self._held_back = True  # the rest when the broker has acknowledged half
                            return sent
                        key = (row["panel_id"], row["seq"])
                        payload = payloads.get(key)
                        if payload is None or self._oversized(key, payload):
                            continue
                        if not self._publish_desired(client, key, payload, row["expires_at"]):
                            return sent
                        with self._flight_lock:
                            self._again.discard(key[0])
                        sent += 1
            if limit is not None and (len(pending) == limit or self._again):
                self._held_back = True
        return sent

    def _to_send_again(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The acknowledged states to publish again: all after a connection, else the reconciliation's
        (the first ``limit`` panels of them: a flush has room for no more). A panel stays in ``_again``
        until its state is handed to paho (a flush may stop short)."""
        with self._flight_lock:
            everything, self._again_all = self._again_all, False
            panels = sorted(self._again)
        if not everything and not panels:
            return []
        asked = None if everything else panels[:limit]
        rows = outbox.acknowledged(self._reader, time.time(), asked)
        with self._flight_lock:
            # Those asked for that no longer run are dropped; those not asked for wait for a later flush.
            self._again = {row["panel_id"] for row in rows} | set(panels[len(asked or []) :])
        return rows

    def reconcile(self) -> list[str]:
        """Send again, at the next flush, the schedule of panels whose state shows them behind; which."""
        policy, now = self.reconciliation, time.time()
        self._sent_again_at = {
            panel: at for panel, at in self._sent_again_at.items() if at > now - policy.per_panel_s
        }
        with self._read_lock:
            panels = reports.behind(
                self._reader,
                now,
                settle_s=policy.settle_s,
                limit=policy.per_round,
                spared=self._sent_again_at,
            )
        if panels:
            log.warning(
                "%d panels behind their schedule; sending it again: %s", len(panels), ", ".join(panels)
            )
            self._sent_again_at.update(dict.fromkeys(panels, now))
            with self._flight_lock:
                self._again.update(panels)
        return panels

    def _oversized(self, key: tuple[str, int], payload: bytes) -> bool:
        """Whether a schedule is over the wire's size, never sent: its panel would refuse it, and the
        broker (``max_packet_size``, ``relais.brokers.security``) would end our connection for it, and
        every panel's publishing with it, at each try. Logged once; it stays pending until replaced."""
        if len(payload) <= MAX_PAYLOAD_BYTES:
            return False
        if key not in self._oversized_logged:
            self._oversized_logged.add(key)
            log.error(
                "the schedule %s of %s is %d bytes, over the wire's %d: not published",
                key[1],
                key[0],
                len(payload),
                MAX_PAYLOAD_BYTES,
            )
        return True

    def _publish_desired(
        self, client: mqtt.Client, key: tuple[str, int], payload: bytes, expires_at: float
    ) -> bool:
        """Hand one desired state to paho; False when paho would not take it (it stays pending)."""
        handed_at = time.monotonic()
        info = client.publish(
            self.topics.desired(key[0]), payload, qos=1, retain=True, properties=self._expiry(expires_at)
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("publish to %s failed (%s); it stays in the outbox", key[0], info.rc)
            return False
        with self._flight_lock:
            taken = self._early_acks.pop(info.mid, None)
            if taken is None:
                self._in_flight[info.mid] = key
                self._published_at[info.mid] = handed_at
        if taken:
            self.instruments.puback_seconds.observe(time.monotonic() - handed_at)
            self._record_ack(key)
        elif taken is False:
            log.warning("the broker refused the state of %s; it stays in the outbox", key[0])
        return True

    def watch_panels(self) -> None:
        """Subscribe to the state of every registered panel not watched yet; unsubscribe from panels gone.

        A subscription the client could not send (disconnected meanwhile) is tried again at the next
        sweep; every connection starts from nothing watched.
        """
        if not self.connected.is_set() or self._client is None:
            return
        with self._read_lock:
            registered = {row[0] for row in self._reader.execute("select id from panels")}
        with self._watch_lock:
            new = sorted(registered - self._watched)
            gone = sorted(self._watched - registered)
            self._watched = (self._watched | set(new)) - set(gone)
        for start in range(0, len(new), SUBSCRIBE_BATCH):
            batch = new[start : start + SUBSCRIBE_BATCH]
            result, _ = self._client.subscribe([(self.topics.state(panel_id), 1) for panel_id in batch])
            if result != mqtt.MQTT_ERR_SUCCESS:
                with self._watch_lock:
                    self._watched.difference_update(batch)
        for start in range(0, len(gone), SUBSCRIBE_BATCH):
            batch = gone[start : start + SUBSCRIBE_BATCH]
            self._client.unsubscribe([self.topics.state(panel_id) for panel_id in batch])

    def _record_ack(self, key: tuple[str, int]) -> None:
        """The recorder thread writes it down: paho's network thread never waits for the database."""
        with self._flight_lock:
            self._unrecorded.add(key)
        self._acknowledged.append(key)
        self._reported.set()

    def _in_flight_count(self) -> int:
        with self._flight_lock:
            return len(self._in_flight) + len(self._commands_in_flight)

    def _sweep(self) -> None:
        """Every few seconds, or as soon as the broker has taken half of what a flush held back."""
        while not self._stopping.is_set():
            self._flush_wanted.wait(self.SWEEP_EVERY_S)
            self._flush_wanted.clear()
            if self._stopping.is_set():
                return
            try:
                self.watch_panels()
                if time.monotonic() - self._reconciled_at >= self.reconciliation.every_s:
                    self._reconciled_at = time.monotonic()
                    self.reconcile()
                self.flush()
            except Exception:
                log.exception("outbox sweep failed; next try in %s s", self.SWEEP_EVERY_S)

    def send_command(self, panel_id: str, payload: bytes, expires_at: float) -> bool:
        """Commands are not retained: a panel offline now gets it from its persistent session, or not at
        all, and with MQTT 5 not after ``expires_at``, when it would refuse it anyway."""
        if self._client is None:
            return False
        info = self._client.publish(
            self.topics.cmd(panel_id), payload, qos=1, retain=False, properties=self._expiry(expires_at)
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        with self._flight_lock:  # its PUBACK is not a desired state's: never kept as an early ack
            if self._early_acks.pop(info.mid, None) is None:
                self._commands_in_flight.add(info.mid)
        return True

    # paho callbacks run in paho's network thread: they log, they never raise.

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code == UNSUPPORTED_PROTOCOL and self.protocol == MQTTProtocolVersion.MQTTv5:
            log.error("the broker no longer takes MQTT 5: restart the controller, it will use 3.1.1")
            return
        if reason_code.is_failure:
            log.error("broker refused the controller: %s", reason_code)
            return
        broker = BrokerUrl.parse(self.broker_url)  # not the URL itself: it may hold the password
        log.info("connected to the broker at %s:%s", broker.host, broker.port)
        kept_s = getattr(properties, "SessionExpiryInterval", SESSION_NEVER_EXPIRES)
        if kept_s != SESSION_NEVER_EXPIRES:
            log.warning("the broker keeps our session only %s s after a disconnection", kept_s)
        client.subscribe(self.topics.all_events(), 1)
        with self._flight_lock:
            self._in_flight.clear()
            self._published_at.clear()
            self._early_acks.clear()
            self._commands_in_flight.clear()
            self._again_all = True
        # What paho would send again comes after what the flush below sends: older states, last.
        dropped = forget_redeliveries(client, f"{self.topics.base}/panels/+/desired")
        if dropped:
            log.info("%d unacknowledged states dropped from paho's queue; the outbox sends them", dropped)
        with self._watch_lock:
            self._watched.clear()
        self._unknown_since = None
        self.connected.set()
        try:
            self.watch_panels()
            self.flush()
        except Exception:
            log.exception("could not watch the panels or publish the outbox")

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        self.connected.clear()
        if self._unknown_since is None:
            self._unknown_since = time.time()
        log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any
    ) -> None:
        taken = reason_code is None or not reason_code.is_failure
        with self._flight_lock:
            if mid in self._commands_in_flight:
                self._commands_in_flight.discard(mid)
                return
            key = self._in_flight.pop(mid, None)
            if key is None:
                self._early_acks[mid] = taken
                return
            handed_at = self._published_at.pop(mid, None)
            if self._held_back and len(self._in_flight) <= self._receive_maximum // 2:
                self._held_back = False
                self._flush_wanted.set()
        if taken:
            if handed_at is not None:
                self.instruments.puback_seconds.observe(time.monotonic() - handed_at)
            self._record_ack(key)
        else:
            log.warning(
                "the broker refused the state of %s (%s); it stays in the outbox", key[0], reason_code
            )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._reports.append(_Report(message.topic, bytes(message.payload), message.mid, message.qos))
        self._reported.set()

    def _record_reports(self) -> None:
        """The recorder thread: the PUBACKs we received and the reports that came in, all in one
        transaction, then the PUBACKs of those reports."""
        while not self._stopping.is_set():
            self._reported.wait()
            self._stopping.wait(GATHER_S)
            self._reported.clear()
            while (self._reports or self._acknowledged) and not self._stopping.is_set():
                published = [self._acknowledged.popleft() for _ in range(len(self._acknowledged))]
                batch = [self._reports.popleft() for _ in range(min(len(self._reports), MAX_BATCH))]
                readable = [parsed for report in batch for parsed in self._read(report)]
                try:
                    with self._db_lock, transaction(self._db):
                        outbox.mark_published(self._db, published, time.time())
                        self._record(readable)
                except Exception:
                    log.exception("could not record %d reports; the broker will give them again", len(batch))
                    self._acknowledged.extendleft(reversed(published))
                    self._reports.extendleft(reversed(batch))
                    self._stopping.wait(1.0)
                    continue
                with self._flight_lock:
                    self._unrecorded.difference_update(published)
                client = self._client
                if client is None:  # never: reports come in through the client
                    continue
                with queued_together(client):
                    for report in batch:
                        client.ack(report.mid, report.qos)

    def _read(self, report: _Report) -> list[reports.Report]:
        """The states and events of one message; none, logged, when it cannot be read or its payload
        names another panel than its topic. Events are within their panel's budget, or only the alerts
        they say are on air are kept (``reports.EventBudget``); states always count, but one over the
        budget adds nothing to the panel's history (a change between online and offline)."""
        parsed = self.topics.parse(report.topic)
        if parsed is None:
            return []
        panel_id, leaf = parsed
        try:
            if leaf == "state":
                state = PanelState.from_payload(report.payload)
                self.instruments.reports.labels("state").inc()
                self._check_sender(panel_id, state.panel_id)
                if self._event_budget.admit(panel_id, 1, time.monotonic()):
                    return [state]
                return [reports.StateOverBudget(state)]
            if leaf != "events":
                return []
            batch = read_events(report.payload)
            self.instruments.reports.labels("event").inc(len(batch.events))
            for event in batch.events:
                self._check_sender(panel_id, event.panel_id)
        except WireError as exc:
            if leaf == "events":  # logged once in a while, as a flood could send thousands
                self._event_budget.refuse(panel_id, exc, time.monotonic())
            else:
                log.warning("unreadable %s report on %s: %s", leaf, report.topic, exc)
            return []
        if self._event_budget.admit(panel_id, reports.event_cost(batch), time.monotonic()):
            return list(batch.events)
        return [reports.alert_sightings(panel_id, batch.events, time.time())]

    def _record(self, batch: list[reports.Report]) -> None:
        """All at once; should that fail for any reason but the database itself, one by one, so that a bad
        report is dropped, logged, rather than retried for ever with the others."""
        if not self._recorded(batch):
            for report in batch:
                self._recorded([report])

    def _recorded(self, batch: list[reports.Report]) -> bool:
        """Record in a savepoint; False, logged, if that failed. The database itself failing (locked,
        disk full) raises: the whole batch is tried again."""
        try:
            with transaction(self._db):
                reports.record_reports(self._db, batch, time.time())
        except sqlite3.OperationalError:
            raise
        except Exception:
            log.exception("could not record %d reports of %s", len(batch), batch[0].panel_id)
            return False
        return True

    @staticmethod
    def _check_sender(topic_panel: str, payload_panel: str) -> None:
        if topic_panel != payload_panel:
            raise WireError("wrong-panel", f"payload names {payload_panel!r} on the topic of {topic_panel!r}")
