"""The agent's life cycle: show the stored schedule, connect, receive, apply a schedule, stop.

A panel is in a public place and its network is not trusted: anything that is not signed by the
controller's key, addressed to this panel, newer than what is shown and not expired is refused, and
the panel keeps showing its last good content. That content is a schedule of the next 48 hours, kept
on disk, so a panel that reboots without a network goes on with it before it even tries the broker,
and falls back to its default item (or goes blank) when the schedule runs out, never to stale content.
The state, published with every new schedule, on a command and on every connection, says what is on
air.

Two life cycles: on a board, ``start()`` gives the rotation its own thread and the client paho's
network thread, and ``stop()`` says goodbye; a fleet simulator hosting many agents in one process
drives both itself instead (``resume``, ``turn``, ``mqtt_client``, ``sign_off``).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from panel_agent.agent.commands import CommandedAgent
from panel_agent.agent.pictures import Applied
from panel_agent.agent.reporting import then_send_events
from panel_agent.store import StoredContentError
from relais import wire
from relais.mqtt import connect_in_background, new_client

log = logging.getLogger(__name__)

# How long stop() waits for the broker to take the offline state before disconnecting anyway.
STOP_PUBLISH_TIMEOUT_S = 2.0


def logged(callback: Callable[..., None]) -> Callable[..., None]:
    """An exception escaping a paho callback would stop paho's network thread: log it instead."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            log.exception("error in the MQTT callback %s", callback.__name__)

    return wrapper


class PanelAgent(CommandedAgent):
    """One panel: ``start()`` shows the stored schedule then connects; ``stop()`` says goodbye.

    paho's callbacks run in paho's network thread and the rotation in its own; the layers below say
    what each part does: ``reporting`` (clock, trust, faults, reports), ``rotation`` (what is shown
    when), ``commands`` (a technician's commands). ``clock`` is the system's wall time, corrected by
    the controller's signed time when the config says ``clock = "controller"`` (see ``now()``);
    ``monotonic`` measures time since the last payload for that correction, and the uptime.
    """

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Go on with the stored schedule first (the broker may be unreachable for hours), then connect.

        The rotation gets its own thread and the client paho's network thread; a fleet simulator
        hosting many agents in one process drives both itself instead (``resume``, ``turn``,
        ``mqtt_client``, ``sign_off``).
        """
        self.resume()
        with self._lock:
            self._rotation = threading.Thread(
                target=self._rotate, name=f"relais-rotation-{self.panel_id}", daemon=True
            )
            self._rotation.start()
        connect_in_background(self.mqtt_client(), self.config.broker_url)

    def resume(self) -> None:
        """Put up what the stored schedule shows now, if there is a genuine one; no thread, no network."""
        self._started = self._monotonic()
        with self._lock:
            try:
                stored = self.store.load()
                applied = None if stored is None else self._decode_stored(stored)
            except StoredContentError as exc:
                self._distrust_stored(exc)
                return
            if stored is None or applied is None:
                return
            # Received before this boot: its issued_at plus the uptime is still a lower bound of now.
            self._learn_time(stored)
            try:
                self._begin(applied)
            except Exception as exc:
                log.warning("could not show the stored content %s: %s", self.store.path, exc)
            else:
                log.info("following the stored schedule (seq %d)", stored.seq)

    def mqtt_client(self) -> mqtt.Client:
        """This panel's client, not connected yet: its last will says offline, its callbacks are ours."""
        ca_file = str(self.config.ca_file) if self.config.ca_file else None
        client = new_client(f"relais-panel-{self.panel_id}", self.config.broker_url, ca_file=ca_file)
        offline = wire.offline_state(self.panel_id, int(self.now()))
        client.will_set(self.state_topic, offline.to_payload(), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        with self._lock:
            self._client = client
        return client

    def _decode_stored(self, stored: wire.Sealed) -> Applied:
        """A genuine stored schedule that this panel cannot show (a frame of another size) is distrusted too."""
        try:
            return self._decode(stored)
        except wire.WireError as exc:
            raise StoredContentError(f"{self.store.path}: {exc.reason}: {exc.detail}") from None

    def _distrust_stored(self, exc: StoredContentError) -> None:
        """The stored schedule must not be shown: blank the panel, whatever it kept from before (e-paper
        keeps its last picture unpowered), and report a fault until a genuine schedule is kept."""
        log.error("not showing the stored content: %s", exc)
        self._set_store_fault(exc)
        try:
            self._show(self._blank)
        except Exception:
            log.debug("the backend could not blank the panel", exc_info=True)

    def stop(self) -> None:
        """Stop the rotation, report the play it cut short, then publish the offline state ourselves.

        The last will is only for vanishing. Events still waiting for the broker are lost.
        """
        client, info = self.sign_off()
        if client is not None:
            deadline = time.monotonic() + STOP_PUBLISH_TIMEOUT_S
            while (
                info is not None
                and not info.is_published()
                and client.is_connected()
                and time.monotonic() < deadline
            ):
                time.sleep(0.02)
            client.disconnect()
            client.loop_stop()
        self.backend.close()

    def sign_off(self) -> tuple[mqtt.Client | None, mqtt.MQTTMessageInfo | None]:
        """Stop the rotation, end the play in progress, send the sums of plays (open hours too) and keep
        them, and queue the offline state on the client, which is handed back with that publication:
        whoever runs its network loop waits for it, then disconnects."""
        with self._lock:
            rotation, self._rotation = self._rotation, None
            self._stopping = True
            self._rotation_changed.notify_all()
        if rotation is not None:
            rotation.join()  # before backend.close(): no display() on a closed backend
        with self._lock:
            self._end_play()
            self._send_events(everything=True, open_hours=True)
            self._keep_tally()  # the open hours' sums grew since last written
            client, self._client = self._client, None
            self._connected = False
        if client is None:
            return None, None
        offline = wire.offline_state(self.panel_id, int(self.now()))
        info = client.publish(self.state_topic, offline.to_payload(), qos=1, retain=True)
        return client, (info if info.rc == mqtt.MQTT_ERR_SUCCESS else None)

    # --- what the controller sends ------------------------------------------------------------

    @then_send_events
    def handle_desired(self, payload: bytes) -> None:
        """Follow a genuine, fresh ``desired`` schedule, keep it, report it; refuse anything else."""
        with self._lock:
            if self._applied is not None and payload == self._applied.sealed.raw:
                log.debug(
                    "desired payload seq %d is already applied (a retained redelivery)", self.applied_seq
                )
                return
            try:
                sealed = self._verify(payload, wire.KIND_DESIRED, self.applied_seq)
                applied = self._decode(sealed)
            except Exception as exc:
                self._refuse(wire.KIND_DESIRED, self.desired_topic, exc)
                return
            self._learn_time(sealed)
            try:
                self._begin(applied)
            except Exception as exc:
                log.exception("the backend could not display seq %d", sealed.seq)
                failure = wire.WireError("display-failed", str(exc))
                self._refuse(wire.KIND_DESIRED, self.desired_topic, failure)
                return
            schedule = applied.schedule
            log.info(
                "following schedule seq %d: %d items, %d segments, horizon %d; on air: %s",
                sealed.seq,
                len(schedule.items),
                len(schedule.segments),
                schedule.horizon_end,
                self._playing.item.item_id if self._playing else "<blank>",
            )
            try:
                self.store.save(payload)
            except OSError as exc:
                log.exception(
                    "could not keep seq %d in %s; a restart would follow an older schedule",
                    sealed.seq,
                    self.store.path,
                )
                self._set_store_fault(exc)
            else:
                self._set_store_fault(None)
            self._publish_state()
            self._publish_event(
                wire.EVENT_DISPLAYED,
                {
                    "item_id": self._playing.item.item_id if self._playing else None,
                    "content_hash": self._playing.item.content_hash if self._playing else None,
                    "seq": sealed.seq,
                },
            )

    # --- paho callbacks (paho's network thread) ---------------------------------------------------

    @logged
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: mqtt.ReasonCode,
        properties: mqtt.Properties | None,
    ) -> None:
        """Subscribe again on every connection (the broker may have lost the session), then say we are up."""
        if reason_code.is_failure:
            log.warning("the broker refused the connection: %s", reason_code)
            return
        log.info("connected to the broker; listening on %s", self.desired_topic)
        client.subscribe([(self.desired_topic, 1), (self.cmd_topic, 1)])
        with self._lock:
            if self._client is not client:  # stop() has begun
                return
            self._connected = True
            self._publish_state()
            self._send_events(everything=True)

    @logged
    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: mqtt.ReasonCode,
        properties: mqtt.Properties | None,
    ) -> None:
        with self._lock:
            self._connected = False
        if reason_code.is_failure:
            log.warning(
                "lost the broker (%s); reconnecting, the panel goes on with its schedule", reason_code
            )

    @logged
    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.desired_topic:
            self.handle_desired(message.payload)
        elif message.topic == self.cmd_topic:
            self.handle_command(message.payload)
        else:
            log.debug("ignoring a message on %s", message.topic)
