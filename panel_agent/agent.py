"""The panel agent: verifies what the controller signed, shows it, keeps it, and reports back.

A panel is in a public place and its network is not trusted: anything that is not signed by the
controller's key, addressed to this panel, newer than what is shown and not expired is refused, and
the panel keeps showing its last good content. That content is kept on disk, so a panel that reboots
without a network shows it again before it even tries the broker.

An item has pages, shown in turn, and pages may flash: a rotation thread follows the schedule of
``panel_agent.rotation`` and redraws only when the frame actually changes, since every redraw of an
e-paper panel flickers and wears it.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from PIL import Image

import relais
from panel_agent.backends import Backend, create_backend
from panel_agent.config import AgentConfig
from panel_agent.rotation import Step, step_at
from panel_agent.store import PayloadStore
from relais import wire
from relais.mqtt import connect_in_background, new_client

log = logging.getLogger(__name__)

SCREENSHOT_MAX_SIZE = (400, 300)
# How long stop() waits for the broker to take the offline state before disconnecting anyway.
STOP_PUBLISH_TIMEOUT_S = 2.0
COMMAND_REFRESH = "refresh"
COMMAND_SCREENSHOT = "screenshot"
FIRST_STEP = Step(page_index=0, flash_phase=0)


@dataclass(frozen=True)
class _Picture:
    """A frame decoded once per item, with the hash that tells whether it is already on the panel."""

    content_hash: str
    image: Image.Image


@dataclass(frozen=True)
class _Shown:
    """What the panel shows now and the genuine message it came from."""

    sealed: wire.Sealed
    item: wire.DisplayItem | None  # None: the controller asked for a blank panel
    pages: tuple[wire.Page, ...]  # the item's pages, or one still black page of the panel's size
    pictures: tuple[tuple[_Picture, ...], ...]  # [page_index][flash_phase], as in rotation.Step

    def picture(self, step: Step) -> _Picture:
        return self.pictures[step.page_index][step.flash_phase]


def _logged(callback: Callable[..., None]) -> Callable[..., None]:
    """An exception escaping a paho callback would stop paho's network thread: log it instead."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            log.exception("error in the MQTT callback %s", callback.__name__)

    return wrapper


def screenshot_png(frame: wire.Frame, image: Image.Image) -> bytes:
    """The frame itself when small; otherwise a copy scaled down to fit 400x300, for the controller's UI."""
    max_width, max_height = SCREENSHOT_MAX_SIZE
    if frame.width <= max_width and frame.height <= max_height:
        return frame.png
    small = image.convert("L" if image.mode in ("1", "L") else "RGB")
    small.thumbnail(SCREENSHOT_MAX_SIZE)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


class PanelAgent:
    """One panel: ``start()`` shows the stored content then connects; ``stop()`` says goodbye.

    paho's callbacks run in paho's network thread and the rotation in its own; ``_lock`` serialises
    everything that reads or changes what is shown, including every ``backend.display()`` call, so a
    command never sees a half-applied display and a backend is never driven from two threads at once.
    ``clock`` is wall time (expiry, reports); ``monotonic`` times the rotation and the uptime.
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
        self.store = PayloadStore(
            config.state_dir, panel_id=config.panel_id, public_key=config.controller_public_key
        )
        topics = config.topics
        self.desired_topic = topics.desired(self.panel_id)
        self.cmd_topic = topics.cmd(self.panel_id)
        self.state_topic = topics.state(self.panel_id)
        self.events_topic = topics.events(self.panel_id)
        self._lock = threading.RLock()
        self._shown: _Shown | None = None
        self._shown_since = 0.0  # monotonic time at which the first page of _shown went up
        self._on_screen: str | None = None  # content hash of the frame on the panel, None if unknown
        self._rotation_changed = threading.Condition(self._lock)
        self._rotation: threading.Thread | None = None
        self._stopping = False
        # Commands have their own counter, in memory only: a command is not retained and expires
        # quickly, so after a restart the expiry alone bounds a replay of a harmless refresh.
        self._command_seq = 0
        self._client: mqtt.Client | None = None
        self._started = monotonic()

    @property
    def applied_seq(self) -> int:
        """Sequence number of the desired message shown now, 0 if none."""
        with self._lock:
            return self._shown.sealed.seq if self._shown else 0

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Show the stored content first (the broker may be unreachable for hours), then connect."""
        self._started = self._monotonic()
        with self._lock:
            stored = self.store.load()
            if stored is not None:
                try:
                    self._begin(self._decode(stored))
                except Exception as exc:
                    log.warning("not showing the stored content %s: %s", self.store.path, exc)
                else:
                    log.info("showing the stored content (seq %d)", stored.seq)
            self._rotation = threading.Thread(
                target=self._rotate, name=f"relais-rotation-{self.panel_id}", daemon=True
            )
            self._rotation.start()
        ca_file = str(self.config.ca_file) if self.config.ca_file else None
        client = new_client(f"relais-panel-{self.panel_id}", self.config.broker_url, ca_file=ca_file)
        offline = wire.offline_state(self.panel_id, int(self._clock()))
        client.will_set(self.state_topic, offline.to_payload(), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        with self._lock:
            self._client = client
        connect_in_background(client, self.config.broker_url)

    def stop(self) -> None:
        """Stop the rotation, then publish the offline state ourselves: the last will is only for vanishing."""
        with self._lock:
            client, self._client = self._client, None
            rotation, self._rotation = self._rotation, None
            self._stopping = True
            self._rotation_changed.notify_all()
        if rotation is not None:
            rotation.join()  # before backend.close(): no display() on a closed backend
        if client is not None:
            offline = wire.offline_state(self.panel_id, int(self._clock()))
            info = client.publish(self.state_topic, offline.to_payload(), qos=1, retain=True)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                deadline = time.monotonic() + STOP_PUBLISH_TIMEOUT_S
                while not info.is_published() and client.is_connected() and time.monotonic() < deadline:
                    time.sleep(0.02)
            client.disconnect()
            client.loop_stop()
        self.backend.close()

    # --- what the controller sends ------------------------------------------------------------

    def handle_desired(self, payload: bytes) -> None:
        """Show a genuine, fresh ``desired`` payload, keep it, report it; refuse anything else."""
        with self._lock:
            if self._shown is not None and payload == self._shown.sealed.raw:
                log.debug("desired payload seq %d is already shown (a retained redelivery)", self.applied_seq)
                return
            try:
                sealed = wire.unseal(payload, self.config.controller_public_key)
                wire.check_fresh(
                    sealed,
                    kind=wire.KIND_DESIRED,
                    panel_id=self.panel_id,
                    now=self._clock(),
                    last_seq=self.applied_seq,
                )
                shown = self._decode(sealed)
            except Exception as exc:
                self._refuse(wire.KIND_DESIRED, self.desired_topic, exc)
                return
            try:
                self._begin(shown)
            except Exception as exc:
                log.exception("the backend could not display seq %d", sealed.seq)
                failure = wire.WireError("display-failed", str(exc))
                self._refuse(wire.KIND_DESIRED, self.desired_topic, failure)
                return
            log.info("showing item %s (seq %d)", shown.item.item_id if shown.item else "<blank>", sealed.seq)
            try:
                self.store.save(payload)
            except OSError:
                log.exception(
                    "could not keep seq %d in %s; a restart would show older content",
                    sealed.seq,
                    self.store.path,
                )
            self._publish_state()
            self._publish_event(
                wire.EVENT_DISPLAYED,
                {
                    "item_id": shown.item.item_id if shown.item else None,
                    "content_hash": shown.item.content_hash if shown.item else None,
                    "seq": sealed.seq,
                },
            )

    def handle_command(self, payload: bytes) -> None:
        """Run a genuine, fresh one-off command and acknowledge it on the events topic."""
        with self._lock:
            try:
                sealed = wire.unseal(payload, self.config.controller_public_key)
                wire.check_fresh(
                    sealed,
                    kind=wire.KIND_COMMAND,
                    panel_id=self.panel_id,
                    now=self._clock(),
                    last_seq=self._command_seq,
                )
            except Exception as exc:
                self._refuse(wire.KIND_COMMAND, self.cmd_topic, exc)
                return
            self._command_seq = sealed.seq
            command = sealed.content.get("command")
            details: dict[str, Any] = {"command": command, "seq": sealed.seq, "ok": True}
            if command == COMMAND_REFRESH:
                if self._shown is not None:
                    try:
                        step, _ = step_at(self._shown.pages, self._elapsed_ms())
                        self._show(self._shown.picture(step), force=True)
                    except Exception as exc:
                        log.exception("the backend could not refresh the display")
                        details.update(ok=False, reason="display-failed", detail=str(exc))
                self._publish_state()
            elif command == COMMAND_SCREENSHOT:
                self._publish_state()
            else:
                details.update(
                    ok=False,
                    reason="unknown-command",
                    detail=f"known commands: {COMMAND_REFRESH}, {COMMAND_SCREENSHOT}",
                )
            self._publish_event(wire.EVENT_ACK, details)

    def _decode(self, sealed: wire.Sealed) -> _Shown:
        """Decode every frame of a desired message, each of exactly the panel's size, or raise.

        All at once, before anything is shown: a payload with one bad page is refused whole rather than
        failing in the middle of the rotation, and the rotation never decodes a PNG on its schedule.
        A frame used several times is decoded once.
        """
        item = sealed.desired_item()
        if item is None:
            image = Image.new("RGB", (self.backend.width, self.backend.height), "black")
            frame = wire.Frame.from_image(image)
            # Any dwell will do: a single page that does not flash never changes.
            blank = wire.Page(frame, wire.MAX_DWELL_MS)
            return _Shown(sealed, None, (blank,), ((_Picture(frame.content_hash, image),),))
        decoded: dict[str, _Picture] = {}

        def picture(number: int, frame: wire.Frame) -> _Picture:
            if frame.content_hash not in decoded:
                image = frame.image()
                if image.size != (self.backend.width, self.backend.height):
                    panel = f"{self.backend.width}x{self.backend.height}"
                    raise wire.WireError(
                        "wrong-size",
                        f"page {number} frame is {image.width}x{image.height}, the panel is {panel}",
                    )
                decoded[frame.content_hash] = _Picture(frame.content_hash, image)
            return decoded[frame.content_hash]

        pictures = tuple(
            tuple(picture(number, frame) for frame in (page.frame, page.flash_frame) if frame is not None)
            for number, page in enumerate(item.pages, start=1)
        )
        return _Shown(sealed, item, item.pages, pictures)

    # --- the rotation -----------------------------------------------------------------------------

    def _begin(self, shown: _Shown) -> None:
        """Show the first page of ``shown`` now and restart the rotation on it; raise if the backend fails.

        The first page's dwell counts from when it is up, after a possibly slow e-paper refresh.
        """
        self._show(shown.picture(FIRST_STEP))
        self._shown = shown
        self._shown_since = self._monotonic()
        self._rotation_changed.notify_all()

    def _show(self, picture: _Picture, *, force: bool = False) -> None:
        """Display ``picture`` unless it is on the panel already; ``force`` is for an explicit refresh."""
        if not force and picture.content_hash == self._on_screen:
            return
        self._on_screen = None
        try:
            self.backend.display(picture.image)
        except Exception:
            # What the panel shows is unknown now: the rotation puts back the frame that is due.
            self._rotation_changed.notify_all()
            raise
        self._on_screen = picture.content_hash

    def _elapsed_ms(self) -> int:
        """Time since the first page of ``_shown`` went up, the input of the rotation schedule."""
        return int((self._monotonic() - self._shown_since) * 1000)

    def _rotate(self) -> None:
        """The rotation thread: show each change of the current item when it is due, until stop().

        It sleeps until the next change, or until a new item, a failed display elsewhere or stop() wakes
        it. A display that fails here is logged and the next change tried in its turn: the thread must
        outlive a flaky panel.
        """
        with self._lock:
            while not self._stopping:
                shown = self._shown
                timeout_s: float | None = None
                if shown is not None:
                    elapsed_ms = self._elapsed_ms()
                    step, wait_ms = step_at(shown.pages, elapsed_ms)
                    try:
                        self._show(shown.picture(step))
                    except Exception:
                        log.exception(
                            "the backend could not display page %d (flash phase %d) of seq %d",
                            step.page_index + 1,
                            step.flash_phase,
                            shown.sealed.seq,
                        )
                    if wait_ms is not None:
                        # Until the change itself, however long the display took: no drift.
                        change_at = self._shown_since + (elapsed_ms + wait_ms) / 1000
                        timeout_s = max(change_at - self._monotonic(), 0.0)
                self._rotation_changed.wait(timeout_s)

    def _refuse(self, kind: str, topic: str, exc: Exception) -> None:
        """Log and report a refusal; what is shown and stored stays as it was."""
        if isinstance(exc, wire.WireError):
            reason, detail = exc.reason, exc.detail
        else:
            reason, detail = "malformed", f"{type(exc).__name__}: {exc}"
        log.warning("refused %s payload for %s: %s: %s", kind, self.panel_id, reason, detail)
        self._publish_event(wire.EVENT_REFUSED, {"reason": reason, "detail": detail, "topic": topic})

    # --- what the panel reports -----------------------------------------------------------------

    def current_state(self) -> wire.PanelState:
        """The online state, with a screenshot of the item's first page.

        The first page whatever page is up: it is what the controller's preview shows, and a screenshot
        that depended on the moment of the report would make the controller's view flicker between pages.
        """
        with self._lock:
            shown = self._shown
            return wire.PanelState(
                panel_id=self.panel_id,
                online=True,
                reported_at=int(self._clock()),
                item_id=shown.item.item_id if shown and shown.item else None,
                content_hash=shown.item.content_hash if shown and shown.item else None,
                applied_seq=shown.sealed.seq if shown else 0,
                agent_version=relais.__version__,
                uptime_s=int(self._monotonic() - self._started),
                screenshot_png=(
                    screenshot_png(shown.pages[0].frame, shown.picture(FIRST_STEP).image) if shown else None
                ),
            )

    def _publish_state(self) -> None:
        self._publish(self.state_topic, self.current_state().to_payload(), retain=True)

    def _publish_event(self, event: str, details: dict[str, Any]) -> None:
        payload = wire.PanelEvent(self.panel_id, event, int(self._clock()), details).to_payload()
        self._publish(self.events_topic, payload, retain=False)

    def _publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """QoS 1; paho queues it while disconnected. Before start() there is no one to tell."""
        with self._lock:
            client = self._client
        if client is not None:
            client.publish(topic, payload, qos=1, retain=retain)

    # --- paho callbacks (paho's network thread) ---------------------------------------------------

    @_logged
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
        self._publish_state()

    @_logged
    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: mqtt.ReasonCode,
        properties: mqtt.Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("lost the broker (%s); reconnecting, the panel keeps its content", reason_code)

    @_logged
    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.desired_topic:
            self.handle_desired(message.payload)
        elif message.topic == self.cmd_topic:
            self.handle_command(message.payload)
        else:
            log.debug("ignoring a message on %s", message.topic)
