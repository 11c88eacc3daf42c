"""What every layer of the agent stands on: its clock, what it trusts, its faults, and what it reports.

``ReportingAgent`` holds the panel's configuration, backend and stores, the lock that serialises
everything shown and reported, the time learnt from the controller's signatures, and the MQTT client
once there is one; it queues events for the next batch (``batching``) and publishes the state, whose
content the rotation knows (``current_state``), and the proof of play summed per hour
(``play_hours``), kept on disk until sent.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypedDict

import paho.mqtt.client as mqtt

from panel_agent.agent.batching import PendingEvents
from panel_agent.agent.health import BoardHealth, Fault
from panel_agent.agent.play_hours import PlayTally
from panel_agent.backends import Backend, create_backend
from panel_agent.config import CLOCK_CONTROLLER, AgentConfig
from panel_agent.store import PayloadStore, PlayTallyStore, StoredContentError
from relais import wire

log = logging.getLogger(__name__)


class AgentOptions(TypedDict, total=False):
    """What an agent can be given besides its config: its clocks, and a backend already open."""

    clock: Callable[[], float]
    monotonic: Callable[[], float]
    backend: Backend | None


def then_send_events(handler: Callable[..., None]) -> Callable[..., None]:
    """What a handler reports goes in one batch once it is done, however it ends."""

    @functools.wraps(handler)
    def wrapper(self: ReportingAgent, *args: Any, **kwargs: Any) -> None:
        try:
            handler(self, *args, **kwargs)
        finally:
            self._send_events()

    return wrapper


class ReportingAgent(ABC):
    """One panel's clock, faults and reports; see ``PanelAgent`` for the whole agent.

    ``clock`` is the system's wall time, corrected by the controller's signed time when the config
    says ``clock = "controller"`` (see ``now()``); ``monotonic`` measures time since the last payload
    for that correction, the uptime and the batches.
    """

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        backend: Backend | None = None,
    ) -> None:
        self.config = config
        self.panel_id = config.panel_id
        self._clock = clock
        self._monotonic = monotonic
        self.backend = backend or create_backend(
            config.backend_name, config.backend_settings, panel_id=config.panel_id
        )
        self.store = PayloadStore(config.state_dir, panel_id=config.panel_id, public_keys=config.trusted_keys)
        topics = config.topics
        self.desired_topic = topics.desired(self.panel_id)
        self.cmd_topic = topics.cmd(self.panel_id)
        self.state_topic = topics.state(self.panel_id)
        self.events_topic = topics.events(self.panel_id)
        self._lock = threading.RLock()
        self._signed_time: tuple[int, float] | None = None  # (issued_at, monotonic time received)
        # The hardware problem going on, and the stored schedule distrusted or not kept, as the state says.
        self._hardware_fault = Fault("the panel works again (was: %s)", "panel fault: %s")
        self._store_fault = Fault("the stored schedule is good again (was: %s)")
        self._client: mqtt.Client | None = None
        self._connected = False  # set once _on_connect has flushed the pending events
        self._events = PendingEvents(self.panel_id)
        self.tally_store = PlayTallyStore(config.state_dir, panel_id=config.panel_id)
        self._tally = self._load_tally()
        self._started = monotonic()
        self._health = BoardHealth(self.store.path.parent, monotonic)

    @property
    def batch_s(self) -> float:
        """How long events that are not urgent wait for others (``batching.batch_seconds``)."""
        return self._events.batch_s

    @batch_s.setter
    def batch_s(self, seconds: float) -> None:
        self._events.batch_s = seconds

    # --- the agent's clock --------------------------------------------------------------------

    def now(self) -> float:
        """The agent's time (epoch seconds) for expiry checks, schedules and reports.

        With ``clock = "controller"`` it is never behind the last verified payload's ``issued_at`` plus
        the time elapsed since: a board without a real-time clock that boots in 1970 still follows its
        schedule and accepts fresh payloads.
        """
        with self._lock:
            now = self._clock()
            signed_now = self._signed_now()
            if self.config.clock == CLOCK_CONTROLLER and signed_now is not None:
                now = max(now, signed_now)
            return now

    def _signed_now(self) -> float | None:
        """The last verified payload's issued_at plus the time elapsed since it came; None before any."""
        if self._signed_time is None:
            return None
        issued_at, received = self._signed_time
        return issued_at + self._monotonic() - received

    def _learn_time(self, sealed: wire.Sealed) -> None:
        """Keep the controller's signed time that puts ``now()`` latest: an older payload never moves it back."""
        signed_now = self._signed_now()
        if signed_now is None or sealed.issued_at > signed_now:
            self._signed_time = (sealed.issued_at, self._monotonic())

    # --- faults -------------------------------------------------------------------------------

    def _set_fault(self, exc: Exception | None) -> None:
        """A hardware problem (None: the panel works) is reported once when it starts and once when it
        ends, with a state."""
        if self._report_fault(self._hardware_fault, exc):
            self._publish_state()

    def _set_store_fault(self, exc: Exception | None) -> None:
        """A problem with the stored schedule, apart from hardware faults (a good display does not end it);
        the caller publishes the state."""
        self._report_fault(self._store_fault, exc)

    def _report_fault(self, fault: Fault, exc: Exception | None) -> bool:
        """Report the change ``exc`` makes to ``fault``, if any; whether it changed."""
        details = fault.change(exc)
        if details is not None:
            self._publish_event(wire.EVENT_FAULT, details)
        return details is not None

    def _faults(self) -> tuple[str, ...]:
        """The faults going on, as the state lists them."""
        return tuple(
            fault.detail for fault in (self._hardware_fault, self._store_fault) if fault.detail is not None
        )

    # --- what the panel reports -----------------------------------------------------------------

    @abstractmethod
    def current_state(self, *, picture: bool = False) -> wire.PanelState:
        """The online state: what is on air now (see ``RotatingAgent.current_state``)."""

    def _publish_state(self, *, picture: bool = False) -> None:
        """Only when connected: every connection publishes a fresh state anyway. The item on air that
        the state names has been told: its ``on_air`` event can wait for the batch."""
        with self._lock:
            if self._connected and self._client is not None:
                state = self.current_state(picture=picture)
                self._client.publish(self.state_topic, state.to_payload(), qos=1, retain=True)
                self._events.told(state.item_id)

    def _publish_event(self, event: str, details: dict[str, Any]) -> None:
        """Queue an event for the next batch (``_send_events``)."""
        at = int(self.now())
        with self._lock:
            self._events.add(wire.PanelEvent(self.panel_id, event, at, details), self._monotonic())

    def _batch_due_in(self) -> float:
        """Seconds until the events pending must go, however quiet the panel; inf without any."""
        return self._events.due_in(self._monotonic())

    # --- proof of play ---------------------------------------------------------------------------

    def _load_tally(self) -> PlayTally:
        """The sums a previous run left unsent; none when the file is unreadable (logged: they are lost)."""
        try:
            kept = self.tally_store.load()
            return PlayTally(self.panel_id) if kept is None else PlayTally.from_json(self.panel_id, kept)
        except (StoredContentError, ValueError) as exc:
            log.error("the proof of play kept in %s is lost: %s", self.tally_store.path, exc)
            return PlayTally(self.panel_id)

    def _count_play(self, item: wire.DisplayItem, started: float, ended: float) -> None:
        """A showing that ended goes into its hour's sum; a new hour's sum is written down at once."""
        self._tally.add(item.item_id, item.content_hash, started, ended)
        if self._tally.changed:
            self._keep_tally()

    def _keep_tally(self) -> None:
        """Write the sums unsent down; a failure is logged, the sums stay in memory."""
        try:
            self.tally_store.save(self._tally.to_json())
        except OSError:
            log.exception("could not keep the proof of play in %s", self.tally_store.path)
        else:
            self._tally.kept()

    def _showing_since(self) -> float | None:
        """When the showing up now began (agent time), None when blank: its hour is not closed yet."""
        return None

    def _send_events(self, *, everything: bool = False, open_hours: bool = False) -> None:
        """Publish the pending events, oldest first, when connected and when one is urgent, the batch
        has waited long enough or ``everything`` is asked; a drop report goes first. The sums of closed
        hours go with them, or alone once due (``PlayTally.due``); ``open_hours`` sends the open ones
        too (the agent stops)."""
        with self._lock:
            client = self._client
            if not self._connected or client is None:
                return
            now, up_since = self.now(), self._showing_since()
            sums_due = self._tally.due(now, up_since, at_once=everything, open_hours=open_hours)
            if not sums_due and not self._events.ready(self._monotonic(), everything=everything):
                return
            sums = self._tally.take(now, up_since, open_hours=open_hours)
            for message in self._events.take(int(now), also=self._tally.events(sums, int(now))):
                client.publish(self.events_topic, message, qos=1)
            if self._tally.changed:
                self._keep_tally()

    def _verify(self, payload: bytes, kind: str, last_seq: int) -> wire.Sealed:
        """Signed by the controller, for this panel, of this kind, newer than ``last_seq``, not expired."""
        sealed = wire.unseal(payload, self.config.trusted_keys)
        wire.check_fresh(sealed, kind=kind, panel_id=self.panel_id, now=self.now(), last_seq=last_seq)
        return sealed

    def _refuse(self, kind: str, topic: str, exc: Exception) -> None:
        """Log and report a refusal; what is shown and stored stays as it was."""
        if isinstance(exc, wire.WireError):
            reason, detail = exc.reason, exc.detail
        else:
            reason, detail = "malformed", f"{type(exc).__name__}: {exc}"
        log.warning("refused %s payload for %s: %s: %s", kind, self.panel_id, reason, detail)
        self._publish_event(wire.EVENT_REFUSED, {"reason": reason, "detail": detail, "topic": topic})
