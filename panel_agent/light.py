"""A light simulated panel for scale runs: the panel's MQTT side and its trust, without drawing or storing.

Ten thousand real agents (``PanelAgent``: frames decoded, a screen drawn, a schedule kept with an
fsync, a rotation with proof of play) do not fit on the two cores that also run the controller and the
broker. A ``LightPanel`` keeps what the controller and the broker see of a panel: its own connection,
client id, credentials and last will, its subscriptions, the signature, address, sequence and expiry
checks of every payload, a refusal reported as the agent reports it, and a state naming the item on
air and the frame that shows it (``relais.playback``, as the agent decides it), and the rotation's
proof of play, summed per hour as the agent sums it (``panel_agent.agent.play_hours``, the same code).
It decodes no frame, draws nothing, keeps nothing on disk (its unsent sums are in memory only) and
answers a genuine command with an acknowledgement that it did not run it. ``relais fleet-sim
--light`` runs them, turning each one's rotation on its worker's timers (``turn``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import relais
from panel_agent.agent import batching
from panel_agent.agent.play_hours import PlayTally, play_key
from panel_agent.agent.rotation import MAX_SLEEP_S
from relais import wire
from relais.mqtt import new_client
from relais.playback import showing_at

log = logging.getLogger(__name__)

# What the state says drives the panel: a technician reading it knows this is no real board.
LIGHT_BACKEND = "light simulation (nothing drawn)"
# A genuine command is verified and acknowledged, not run: there is no screen to act on.
NOT_RUN = "not-run"


class LightPanel:
    """One simulated panel's MQTT side; ``mqtt_client()`` gives the client to drive (``relais.netloop``)."""

    def __init__(
        self,
        panel_id: str,
        *,
        broker_url: str,
        public_keys: tuple[Ed25519PublicKey, ...],
        topics: wire.Topics,
        ca_file: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.panel_id = panel_id
        self.broker_url = broker_url
        self.public_keys = public_keys
        self.ca_file = ca_file
        self._clock = clock
        self.desired_topic = topics.desired(panel_id)
        self.cmd_topic = topics.cmd(panel_id)
        self.state_topic = topics.state(panel_id)
        self.events_topic = topics.events(panel_id)
        self._applied: wire.Sealed | None = None
        self._schedule: wire.Schedule | None = None
        self._command_seq = 0
        self._client: mqtt.Client | None = None
        self._started = time.monotonic()
        self._tally = PlayTally(panel_id)
        # The showing up now: its key (``play_key``), its item, and when it began; None: blank.
        self._playing: tuple[tuple[int, int | None, int], wire.DisplayItem, float] | None = None

    @property
    def applied_seq(self) -> int:
        return 0 if self._applied is None else self._applied.seq

    def mqtt_client(self) -> mqtt.Client:
        """This panel's client, not connected yet, with the agent's client id and last will."""
        client = new_client(f"relais-panel-{self.panel_id}", self.broker_url, ca_file=self.ca_file)
        offline = wire.offline_state(self.panel_id, int(self._clock()))
        client.will_set(self.state_topic, offline.to_payload(), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        self._client = client
        return client

    def sign_off(self) -> mqtt.MQTTMessageInfo | None:
        """Queue the sums of plays (open hours too) and the offline state, as a stopping agent does;
        whoever drives the client waits for the state, which goes after them."""
        if self._client is None or not self._client.is_connected():
            return None
        now = self._clock()
        self._end_play(now)
        self._send_sums(now, open_hours=True)
        offline = wire.offline_state(self.panel_id, int(self._clock()))
        return self._client.publish(self.state_topic, offline.to_payload(), qos=1, retain=True)

    # --- the rotation and its proof of play ---------------------------------------------------

    def turn(self) -> float:
        """Count the showing that ended, if any, and send the sums due: seconds until the next change,
        at most the agent's MAX_SLEEP_S."""
        now = self._clock()
        wait_s = MAX_SLEEP_S
        if self._schedule is not None:
            showing = showing_at(self._schedule, int(now * 1000))
            key = play_key(showing)
            if self._playing is not None and self._playing[0] != key:
                self._end_play(now)
            if self._playing is None and key is not None and showing.item is not None:
                self._playing = (key, self._schedule.items[showing.item], now)
            if showing.until_ms is not None:
                wait_s = min(wait_s, showing.until_ms / 1000 - now)
        self._send_sums(now)
        return max(wait_s, 0.0)

    def _end_play(self, now: float) -> None:
        playing, self._playing = self._playing, None
        if playing is not None:
            _, item, since = playing
            self._tally.add(item.item_id, item.content_hash, round(since, 3), round(now, 3))

    def _send_sums(self, now: float, *, at_once: bool = False, open_hours: bool = False) -> None:
        """The sums of closed hours once due (``at_once``: on connection), and open ones with
        ``open_hours``."""
        if self._client is None or not self._client.is_connected():
            return
        up_since = None if self._playing is None else self._playing[2]
        if not self._tally.due(now, up_since, at_once=at_once, open_hours=open_hours):
            return
        events = self._tally.events(self._tally.take(now, up_since, open_hours=open_hours), int(now))
        for message in batching.messages(events):
            self._client.publish(self.events_topic, message, qos=1)

    # --- what the controller sends ------------------------------------------------------------

    def handle_desired(self, payload: bytes) -> None:
        """Follow a genuine, fresh schedule (in memory) and say what is on air; refuse anything else."""
        if self._applied is not None and payload == self._applied.raw:
            return  # a retained redelivery of what is in force
        try:
            sealed = self._verify(payload, wire.KIND_DESIRED, self.applied_seq)
            schedule = sealed.desired_schedule()
        except wire.WireError as exc:
            self._refuse(wire.KIND_DESIRED, self.desired_topic, exc)
            return
        self._end_play(self._clock())
        self._applied, self._schedule = sealed, schedule
        self._publish_state()

    def handle_command(self, payload: bytes) -> None:
        """Check a command as the agent does and acknowledge a genuine one as not run."""
        try:
            sealed = self._verify(payload, wire.KIND_COMMAND, self._command_seq)
        except wire.WireError as exc:
            self._refuse(wire.KIND_COMMAND, self.cmd_topic, exc)
            return
        self._command_seq = sealed.seq
        details = {
            "command": sealed.content.get("command"),
            "seq": sealed.seq,
            "ok": False,
            "reason": NOT_RUN,
            "detail": LIGHT_BACKEND,
        }
        self._publish_events(wire.PanelEvent(self.panel_id, wire.EVENT_ACK, int(self._clock()), details))

    def _verify(self, payload: bytes, kind: str, last_seq: int) -> wire.Sealed:
        sealed = wire.unseal(payload, self.public_keys)
        wire.check_fresh(sealed, kind=kind, panel_id=self.panel_id, now=self._clock(), last_seq=last_seq)
        return sealed

    # --- what the panel reports -----------------------------------------------------------------

    def current_state(self) -> wire.PanelState:
        """The schedule in force and what it puts on air now, its frame named by hash as the agent does."""
        item: wire.DisplayItem | None = None
        frame_hash: str | None = None
        if self._schedule is not None:
            showing = showing_at(self._schedule, int(self._clock() * 1000))
            if showing.item is not None:
                item = self._schedule.items[showing.item]
                page = item.pages[showing.page]
                frame = page.flash_frame if showing.flash_phase and page.flash_frame else page.frame
                frame_hash = frame.content_hash
        return wire.PanelState(
            panel_id=self.panel_id,
            online=True,
            reported_at=int(self._clock()),
            item_id=None if item is None else item.item_id,
            content_hash=None if item is None else item.content_hash,
            applied_seq=self.applied_seq,
            agent_version=relais.__version__,
            uptime_s=int(time.monotonic() - self._started),
            screenshot_frame=frame_hash,
            backend=LIGHT_BACKEND,
        )

    def _publish_state(self) -> None:
        if self._client is not None and self._client.is_connected():
            self._client.publish(self.state_topic, self.current_state().to_payload(), qos=1, retain=True)

    def _publish_events(self, *events: wire.PanelEvent) -> None:
        if self._client is not None and self._client.is_connected():
            message = wire.join_events([event.to_payload() for event in events])
            self._client.publish(self.events_topic, message, qos=1)

    def _refuse(self, kind: str, topic: str, exc: wire.WireError) -> None:
        log.warning("refused %s payload for %s: %s: %s", kind, self.panel_id, exc.reason, exc.detail)
        details = {"reason": exc.reason, "detail": exc.detail, "topic": topic}
        self._publish_events(wire.PanelEvent(self.panel_id, wire.EVENT_REFUSED, int(self._clock()), details))

    # --- paho callbacks (the loop's thread) ---------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, *_: Any
    ) -> None:
        if reason_code.is_failure:
            log.warning("the broker refused %s: %s", self.panel_id, reason_code)
            return
        client.subscribe([(self.desired_topic, 1), (self.cmd_topic, 1)])
        self._publish_state()
        self._send_sums(self._clock(), at_once=True)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic == self.desired_topic:
                self.handle_desired(bytes(message.payload))
            elif message.topic == self.cmd_topic:
                self.handle_command(bytes(message.payload))
        except Exception:  # an exception escaping a callback would stop the loop for every panel
            log.exception("%s could not handle a message on %s", self.panel_id, message.topic)
