"""The panel agent: verifies what the controller signed, shows it, keeps it, and reports back.

A panel is in a public place and its network is not trusted: anything that is not signed by the
controller's key, addressed to this panel, newer than what is shown and not expired is refused, and
the panel keeps showing its last good content. That content is a schedule of the next 48 hours, kept
on disk, so a panel that reboots without a network goes on with it before it even tries the broker,
and falls back to its default item (or goes blank) when the schedule runs out, never to stale content.

A rotation thread asks ``panel_agent.schedule.showing_at`` what is due, sleeps until the next change
and redraws only when the frame actually changes, since every redraw of an e-paper panel flickers and
wears it. It sets the brightness the same way (``brightness_at``): the level due when a schedule is
applied, then at each change of level, which it also wakes up for. Each showing of an item that
ends is reported as a ``play`` event (proof of play), and the first time an item goes on air under a
schedule as an ``on_air`` event. The state, published with every new schedule, says what is on air:
the controller confirms emergency alerts with it, or with the ``on_air`` of an alert that comes on air
later. Events go in batches: those of one schedule, command or turn of the rotation in one message at
its end, what is for reports only (plays, and what a state has told) waiting for urgent events or
about a minute (``BATCH_S``). Offline, they wait in a bounded queue.

A technician's timed commands (``blank``, ``test_pattern``, ``identify``) are *overrides*: the rotation
thread shows them instead of the schedule and ends them by itself when their time is up (no thread
per command); a new schedule, another timed command or ``refresh`` replaces one. While an override is
up the schedule's item is not on air, so its play ends and a new one starts afterwards. The
``brightness`` command holds a level until the schedule's level changes next (or a new schedule
comes, or ``refresh``). ``rotation_heartbeat()`` tells a watchdog whether the rotation still turns.
"""

from __future__ import annotations

import collections
import functools
import logging
import math
import shutil
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import paho.mqtt.client as mqtt
from PIL import Image

import relais
from panel_agent.backends import Backend, create_backend
from panel_agent.config import CLOCK_CONTROLLER, AgentConfig
from panel_agent.field_test import PATTERNS
from panel_agent.schedule import Showing, brightness_at, showing_at
from panel_agent.store import CommandSeqStore, PayloadStore, StoredContentError
from relais import wire
from relais.mqtt import connect_in_background, new_client

log = logging.getLogger(__name__)

# How long stop() waits for the broker to take the offline state before disconnecting anyway.
STOP_PUBLISH_TIMEOUT_S = 2.0
# identify: white then black, each for half a second, i.e. 1 Hz, until the technician has found it.
IDENTIFY_HALF_PERIOD_S = 0.5
# The rotation looks at the clock at least this often, even with nothing due: a wall clock stepped by
# NTP (or a first controller payload on a board that booted in 1970) is followed within this delay,
# and rotation_heartbeat() is never older than this plus the time a display takes, while all is well.
MAX_SLEEP_S = 30.0
# Events kept while the broker is unreachable, the oldest dropped beyond: about 250 bytes each, so
# 2.5 MB at most, a day of a three-item rotation of 10 s slots. Drops are reported on reconnection.
MAX_PENDING_EVENTS = 10_000
# Events go in batches (``wire.join_events``): all those of one schedule, command or turn of the
# rotation together, at most this many a message. What is for reports only is not urgent: plays, and a
# schedule displayed or an item on air once a state has said so (the state is what the controller
# shows and what confirms an alert). They wait for an urgent event, or until the oldest has waited the
# panel's batch time: between 3/4 and 5/4 of BATCH_S, by panel, so that the panels of a department
# that all took an alert at once do not all report it in the same second. A panel with 3-second dwells
# sends a message a minute instead of 20; an alert costs a panel one message, its state, instead of two.
MAX_EVENTS_PER_MESSAGE = wire.MAX_EVENTS_PER_BATCH  # what the controller takes in one message
BATCH_S = 60.0
# Events a state always says too (a display is always followed by a state): never urgent.
BATCHED_EVENTS = frozenset({wire.EVENT_PLAY, wire.EVENT_DISPLAYED})
# The board's health (free disk, temperature, Wi-Fi) in a state is read again only after this long: a
# burst of states (schedules, commands) reads it once, and it changes over minutes.
HEALTH_EVERY_S = 30.0


@dataclass(frozen=True)
class _Picture:
    """A frame decoded once per schedule, with the hash that tells whether it is already on the panel."""

    content_hash: str
    image: Image.Image


@dataclass(frozen=True)
class _Applied:
    """The schedule in force, the genuine message it came from, and every frame of it decoded."""

    sealed: wire.Sealed
    schedule: wire.Schedule
    pictures: tuple[tuple[tuple[_Picture, ...], ...], ...]  # [item][page][flash_phase], as in Showing
    blank: _Picture  # a black frame of the panel's size

    def picture(self, showing: Showing) -> _Picture:
        if showing.item is None:
            return self.blank
        return self.pictures[showing.item][showing.page][showing.flash_phase]


# Frames decoded by any agent of this process, by content hash, for as long as one of them holds the
# picture: a board's single agent gains nothing and keeps nothing more, but the hundreds of simulated
# panels of a fleet worker decode a department's alert once instead of once each. Pictures are never
# changed once decoded (backends only read them), so sharing them is safe.
_decoded: weakref.WeakValueDictionary[str, _Picture] = weakref.WeakValueDictionary()


def _picture_of(image: Image.Image) -> _Picture:
    """A frame made on the panel (commands), keyed by its pixels rather than by a PNG it never had."""
    return _Picture(wire.content_hash(image.tobytes()), image)


@dataclass(frozen=True)
class _Override:
    """A timed command on the panel instead of the schedule: ``frames`` in turn, each for ``period_s``,
    from ``since`` until ``until`` (the agent's monotonic time: a wall clock step neither cuts it short
    nor stretches it)."""

    command: str
    frames: tuple[_Picture, ...]
    since: float
    until: float
    period_s: float = math.inf

    def at(self, t: float) -> tuple[_Picture, float]:
        """The frame up at monotonic time ``t``, and when the next change is (the next frame, or the end)."""
        turn = int(max(t - self.since, 0.0) // self.period_s)
        return self.frames[turn % len(self.frames)], min(self.since + (turn + 1) * self.period_s, self.until)


@dataclass(frozen=True)
class _Play:
    """A showing of an item that is up on the panel: what its ``play`` event reports when it ends."""

    key: tuple[int, int | None, int]  # Showing's item, entry_index and started_at_ms
    item_index: int
    item: wire.DisplayItem
    since: float  # agent time at which it went up


def _play_key(showing: Showing) -> tuple[int, int | None, int] | None:
    """Instants with the same key belong to the same showing; None for a blank panel."""
    if showing.item is None:
        return None
    return (showing.item, showing.entry_index, showing.started_at_ms)


def _earliest(*times_ms: int | None) -> int | None:
    """The first of the changes that are due at all; None when none is."""
    return min((t for t in times_ms if t is not None), default=None)


def _logged(callback: Callable[..., None]) -> Callable[..., None]:
    """An exception escaping a paho callback would stop paho's network thread: log it instead."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            log.exception("error in the MQTT callback %s", callback.__name__)

    return wrapper


def _then_send_events(handler: Callable[..., None]) -> Callable[..., None]:
    """What a handler reports goes in one batch once it is done, however it ends."""

    @functools.wraps(handler)
    def wrapper(self: PanelAgent, *args: Any, **kwargs: Any) -> None:
        try:
            handler(self, *args, **kwargs)
        finally:
            self._send_events()

    return wrapper


THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")


def cpu_temperature() -> float | None:
    """The SoC temperature in °C where Linux exposes it (a Raspberry Pi does); None elsewhere."""
    try:
        return int(THERMAL_ZONE.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


WIRELESS = Path("/proc/net/wireless")


def wifi_link_quality() -> int | None:
    """Link quality of the first Wi-Fi interface in percent of its 70-step scale; None without Wi-Fi."""
    try:
        lines = WIRELESS.read_text().splitlines()[2:]
        return min(100, round(float(lines[0].split()[2].rstrip(".")) * 100 / 70)) if lines else None
    except (OSError, ValueError, IndexError):
        return None


def describe_backend(name: str, backend: Backend) -> str:
    """``epaper (bwr, partial refresh)``: what a technician needs to know of the panel at a glance."""
    capabilities = backend.capabilities
    facts = [capabilities.colours]
    if capabilities.partial_refresh:
        facts.append("partial refresh")
    if capabilities.dimming:
        facts.append("dimming")
    return f"{name} {backend.width}x{backend.height} ({', '.join(facts)})"


class _Health(TypedDict):
    """What a state says of the board itself."""

    disk_free_mb: int
    cpu_temp_c: float | None
    link_quality: int | None


def free_disk_mb(folder: Path) -> int:
    """Free space where the schedule is kept (the first folder of the path that exists yet)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free // 2**20


def batch_seconds(panel_id: str) -> float:
    """The panel's batch time: the same for a panel at every start, spread over the panels of a fleet."""
    return BATCH_S * (0.75 + 0.5 * zlib.crc32(panel_id.encode()) / 2**32)


def _seconds(t: float) -> float:
    """Event times: epoch seconds to the millisecond, enough to order the pages of a fast rotation."""
    return round(t, 3)


class PanelAgent:
    """One panel: ``start()`` shows the stored schedule then connects; ``stop()`` says goodbye.

    paho's callbacks run in paho's network thread and the rotation in its own; ``_lock`` serialises
    everything that reads or changes what is shown, including every ``backend.display()`` call, so a
    command never sees a half-applied display and a backend is never driven from two threads at once.
    ``clock`` is the system's wall time, corrected by the controller's signed time when the config
    says ``clock = "controller"`` (see ``now()``); ``monotonic`` measures time since the last payload
    for that correction, and the uptime.
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
        black = Image.new("RGB", (self.backend.width, self.backend.height), "black")
        self._blank_frame = wire.Frame.from_image(black)
        self._blank = _Picture(self._blank_frame.content_hash, black)
        self._lock = threading.RLock()
        self._applied: _Applied | None = None
        self._playing: _Play | None = None  # None: blank, or nothing applied
        self._aired: set[str] = set()  # item ids on air since the schedule was applied
        self._signed_time: tuple[int, float] | None = None  # (issued_at, monotonic time received)
        self._on_screen: str | None = None  # content hash of the frame on the panel, None if unknown
        self._brightness: int | None = None  # the level the backend was set to, None before any
        self._fault: str | None = None  # the hardware problem going on, as reported in the state
        self._store_fault: str | None = None  # the stored schedule distrusted, or not kept
        self._override: _Override | None = None  # a timed command up instead of the schedule
        # Until when (ms, agent time) a brightness command holds its level; inf: until a new schedule.
        self._brightness_held_until_ms: float | None = None
        self._rotation_changed = threading.Condition(self._lock)
        self._rotation: threading.Thread | None = None
        self._stopping = False
        # Commands have their own counter, kept on disk: a command captured on the wire is refused after
        # a restart too, while it is still valid.
        self.command_seqs = CommandSeqStore(config.state_dir, panel_id=config.panel_id)
        self._command_seq = self._stored_command_seq()
        self._client: mqtt.Client | None = None
        self._connected = False  # set once _on_connect has flushed the pending events
        # Events not sent yet, oldest first: (at, event payload). Those that can wait stay while connected.
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()
        # Why the events pending cannot wait for the batch: the urgent events' names, and "on_air <item>"
        # for an item on air that no state has told yet. Sent at the end of the handler when not empty.
        self._urgent: set[str] = set()
        self._batch_since: float | None = None  # monotonic time of the oldest event pending
        self.batch_s = batch_seconds(self.panel_id)
        self._dropped: tuple[int, int, int] | None = None  # count, first and last `at` of events dropped
        self._started = monotonic()
        self._health: tuple[float, _Health] | None = None  # when read (monotonic), what was read
        # A float written by the rotation thread alone and read without the lock: a watchdog must get
        # it even while a stuck display() holds the lock.
        self._heartbeat = self._started

    @property
    def applied_seq(self) -> int:
        """Sequence number of the desired message in force, 0 if none."""
        with self._lock:
            return self._applied.sealed.seq if self._applied else 0

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

    def rotation_heartbeat(self) -> float:
        """When (monotonic clock) the rotation last finished a turn and began to wait: at most
        MAX_SLEEP_S plus a display's duration ago while it works; older means it is stuck."""
        return self._heartbeat

    def wake(self) -> None:
        """Look at the schedule again now rather than when the next change is due: after a clock step."""
        with self._lock:
            self._rotation_changed.notify_all()

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

    def _decode_stored(self, stored: wire.Sealed) -> _Applied:
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
        """Stop the rotation, end the play in progress and queue the offline state on the client, which is
        handed back with that publication: whoever runs its network loop waits for it, then disconnects."""
        with self._lock:
            rotation, self._rotation = self._rotation, None
            self._stopping = True
            self._rotation_changed.notify_all()
        if rotation is not None:
            rotation.join()  # before backend.close(): no display() on a closed backend
        with self._lock:
            self._end_play()
            self._send_events(everything=True)
            client, self._client = self._client, None
            self._connected = False
        if client is None:
            return None, None
        offline = wire.offline_state(self.panel_id, int(self.now()))
        info = client.publish(self.state_topic, offline.to_payload(), qos=1, retain=True)
        return client, (info if info.rc == mqtt.MQTT_ERR_SUCCESS else None)

    # --- what the controller sends ------------------------------------------------------------

    def _verify(self, payload: bytes, kind: str, last_seq: int) -> wire.Sealed:
        """Signed by the controller, for this panel, of this kind, newer than ``last_seq``, not expired."""
        sealed = wire.unseal(payload, self.config.trusted_keys)
        wire.check_fresh(sealed, kind=kind, panel_id=self.panel_id, now=self.now(), last_seq=last_seq)
        return sealed

    @_then_send_events
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

    @_then_send_events
    def handle_command(self, payload: bytes) -> None:
        """Run a genuine, fresh one-off command and acknowledge it on the events topic.

        A command the panel does not know or cannot take (bad arguments) is acknowledged with ``ok``
        false and the reason, never raised: the technician sees why at once.
        """
        with self._lock:
            try:
                sealed = self._verify(payload, wire.KIND_COMMAND, self._command_seq)
            except Exception as exc:
                self._refuse(wire.KIND_COMMAND, self.cmd_topic, exc)
                return
            self._learn_time(sealed)
            self._command_seq = sealed.seq
            self._keep_command_seq(sealed.seq)
            details: dict[str, Any] = {"command": sealed.content.get("command"), "seq": sealed.seq}
            try:
                command = wire.Command.from_content(sealed.content, patterns=PATTERNS)
            except wire.CommandError as exc:
                log.warning("command seq %d not run: %s: %s", sealed.seq, exc.reason, exc.detail)
                details.update(ok=False, reason=exc.reason, field=exc.field, detail=exc.detail)
            else:
                details["ok"] = True
                try:
                    self._run(command)
                except Exception as exc:
                    log.exception("the backend could not run the %s command", command.name)
                    failed = (
                        "brightness-failed" if command.name == wire.COMMAND_BRIGHTNESS else "display-failed"
                    )
                    details.update(ok=False, reason=failed, detail=str(exc))
                self._publish_state(picture=command.name == wire.COMMAND_SCREENSHOT)
            self._publish_event(wire.EVENT_ACK, details)

    def _stored_command_seq(self) -> int:
        """The last command's number kept on disk; 0 (the commands' expiry alone then bounds a replay)
        when the file is unreadable, which only a failing card or a hand on it can cause."""
        try:
            return self.command_seqs.load()
        except StoredContentError as exc:
            log.error("starting the command count afresh: %s", exc)
            return 0

    def _keep_command_seq(self, seq: int) -> None:
        """Before the command runs, so a reboot during it cannot run it twice; a full or read-only card
        does not stop the technician's command, the count in memory still refuses replays until a restart."""
        try:
            self.command_seqs.save(seq)
        except OSError as exc:
            log.warning(
                "could not keep command seq %d in %s (%s): a restart would accept it again",
                seq,
                self.command_seqs.path,
                exc,
            )

    def _run(self, command: wire.Command) -> None:
        """Carry out a checked command; raise if the backend fails."""
        size = (self.backend.width, self.backend.height)
        if command.name == wire.COMMAND_REFRESH:
            self._refresh()
        elif command.name == wire.COMMAND_BRIGHTNESS:
            self._hold_brightness(command.args["level"])
        elif command.name == wire.COMMAND_BLANK:
            self._begin_override(command, (self._blank,))
        elif command.name == wire.COMMAND_TEST_PATTERN:
            pattern = PATTERNS[command.args["pattern"]](*size)
            self._begin_override(command, (_picture_of(pattern),))
        elif command.name == wire.COMMAND_IDENTIFY:
            white = _picture_of(Image.new("RGB", size, "white"))
            self._begin_override(command, (white, self._blank), period_s=IDENTIFY_HALF_PERIOD_S)
        # screenshot: the state the caller publishes, with the panel's own picture, is the answer.

    def _begin_override(
        self, command: wire.Command, frames: tuple[_Picture, ...], *, period_s: float = math.inf
    ) -> None:
        """Put up a timed command's first frame; the rotation turns its frames and ends it."""
        now = self._monotonic()
        override = _Override(command.name, frames, now, now + command.args["seconds"], period_s)
        self._show(override.at(now)[0])
        self._end_play()  # the schedule's item is off the air meanwhile
        self._override = override
        log.info("%s for %d s, then the schedule again", command.name, command.args["seconds"])
        self._rotation_changed.notify_all()

    def _refresh(self) -> None:
        """Back to the schedule: no override, no held brightness, the frame due redrawn even if it is up
        (a panel that lost its picture)."""
        self._override = None
        self._brightness_held_until_ms = None
        self._rotation_changed.notify_all()
        picture, showing = self._schedule_picture()
        if picture is not None:
            self._show(picture, force=True)
        if showing is not None:
            self._track(showing)
        if self._applied is not None:
            self._dim(self._applied)

    def _hold_brightness(self, level: int) -> None:
        """Set ``level`` whatever the schedule says, until the schedule's level changes next."""
        if level != self._brightness:
            self._brightness = None  # unknown if the backend fails
            self.backend.set_brightness(level)
            self._brightness = level
        until_ms: int | None = None
        if self._applied is not None:
            _, until_ms = brightness_at(self._applied.schedule, int(self.now() * 1000))
        self._brightness_held_until_ms = math.inf if until_ms is None else until_ms

    def _learn_time(self, sealed: wire.Sealed) -> None:
        """Keep the controller's signed time that puts ``now()`` latest: an older payload never moves it back."""
        signed_now = self._signed_now()
        if signed_now is None or sealed.issued_at > signed_now:
            self._signed_time = (sealed.issued_at, self._monotonic())

    def _decode(self, sealed: wire.Sealed) -> _Applied:
        """Decode every frame of a desired schedule, each of exactly the panel's size, or raise.

        All at once, before anything is shown: a schedule with one bad page is refused whole rather than
        failing hours later in the rotation, and the rotation never decodes a PNG on its schedule. A
        frame used several times (by several items, say), or held by another agent of the process, is
        decoded once.
        """
        schedule = sealed.desired_schedule()
        # Frames of the schedule in force (its fallback, the items that stay) are not decoded again.
        held = self._applied.pictures if self._applied is not None else ()
        decoded = {picture.content_hash: picture for item in held for page in item for picture in page}

        def picture(item: int, page: int, frame: wire.Frame) -> _Picture:
            size = (self.backend.width, self.backend.height)
            if (frame.width, frame.height) != size:
                raise wire.WireError(
                    "wrong-size",
                    f"item {item} page {page} frame is {frame.width}x{frame.height}, "
                    f"the panel is {size[0]}x{size[1]}",
                )
            found = decoded.get(frame.content_hash)
            if found is None:
                found = _decoded.get(frame.content_hash)
                if found is None or found.image.size != size:
                    # image() refuses data whose size is not the declared one.
                    found = _decoded[frame.content_hash] = _Picture(frame.content_hash, frame.image())
                decoded[frame.content_hash] = found
            return found

        pictures = tuple(
            tuple(
                tuple(
                    picture(item, number, frame)
                    for frame in (page.frame, page.flash_frame)
                    if frame is not None
                )
                for number, page in enumerate(display_item.pages, start=1)
            )
            for item, display_item in enumerate(schedule.items)
        )
        return _Applied(sealed, schedule, pictures, self._blank)

    # --- the rotation -----------------------------------------------------------------------------

    def _showing_now(self, applied: _Applied) -> Showing:
        return showing_at(applied.schedule, int(self.now() * 1000))

    def _begin(self, applied: _Applied) -> None:
        """Put up what ``applied`` shows now and make it the schedule in force; raise if the backend fails.

        A new schedule ends the play in progress and opens a new round of ``on_air`` events; it also
        ends a technician's override and held brightness.
        """
        showing = self._showing_now(applied)
        self._show(applied.picture(showing))
        self._end_play()
        self._applied = applied
        self._override = None
        self._brightness_held_until_ms = None
        self._aired = set()
        self._track(showing)
        self._dim(applied)
        self._rotation_changed.notify_all()

    def _schedule_picture(self) -> tuple[_Picture | None, Showing | None]:
        """What the schedule puts up now. Without a schedule: black once something was shown (a
        technician's override that ended), nothing before, so a new panel is left as it is."""
        if self._applied is None:
            return (None if self._on_screen is None else self._blank), None
        showing = self._showing_now(self._applied)
        return self._applied.picture(showing), showing

    def _advance(self) -> float:
        """One turn of the rotation: end what is over, put up what is due (an override, else the
        schedule) and dim as due; how many seconds until the next change, at most MAX_SLEEP_S."""
        override = self._override
        ended = override is not None and self._monotonic() >= override.until
        if override is not None and ended:
            log.info("%s is over; the schedule again", override.command)
            self._override = override = None
        showing: Showing | None = None
        change_at: float | None = None  # monotonic time of the override's next frame or end
        if override is not None:
            picture, change_at = override.at(self._monotonic())
            what = override.command
        else:
            picture, showing = self._schedule_picture()
            if showing is not None and self._playing is not None and self._playing.key != _play_key(showing):
                self._end_play()
            what = "a blank frame" if showing is None or showing.item is None else f"item {showing.item}"
        if picture is not None:
            try:
                self._show(picture)
            except Exception:
                # The fault itself is logged once when it starts (_set_fault); each retry only at debug.
                log.debug("the backend could not display %s", what, exc_info=True)
            else:
                if showing is not None:
                    self._track(showing)
        dim_until_ms = self._dim(self._applied) if self._applied is not None else None
        if ended:
            self._publish_state()  # the last one showed the override
        # Until the change itself, however long the display took: no drift.
        wait_s = MAX_SLEEP_S
        until_ms = _earliest(showing.until_ms if showing else None, dim_until_ms)
        if until_ms is not None:
            wait_s = min(wait_s, until_ms / 1000 - self.now())
        if change_at is not None:
            wait_s = min(wait_s, change_at - self._monotonic())
        return max(wait_s, 0.0)

    def _dim(self, applied: _Applied) -> int | None:
        """Set the brightness due now unless the panel is at it already; when the level changes next.

        A backend that fails is logged and asked again at the next turn of the rotation: dimming
        matters less than what is shown, so it never stops a schedule. A level held by a brightness
        command stays until the schedule's own level changes.
        """
        now_ms = int(self.now() * 1000)
        level, until_ms = brightness_at(applied.schedule, now_ms)
        held_until_ms = self._brightness_held_until_ms
        if held_until_ms is not None:
            if now_ms < held_until_ms:
                return until_ms
            self._brightness_held_until_ms = None
        if level != self._brightness:
            try:
                self.backend.set_brightness(level)
            except Exception:
                log.exception("the backend could not set the brightness to %d%%", level)
                self._brightness = None  # unknown now: set again whatever the level
            else:
                self._brightness = level
        return until_ms

    def _track(self, showing: Showing) -> None:
        """``showing`` is up: start its play unless it is the one in progress, and say on_air the first time."""
        key = _play_key(showing)
        if key is None or self._applied is None or (self._playing is not None and self._playing.key == key):
            return
        item = self._applied.schedule.items[key[0]]
        self._playing = _Play(key, key[0], item, self.now())
        if item.item_id not in self._aired:
            self._aired.add(item.item_id)
            self._publish_event(
                wire.EVENT_ON_AIR,
                {
                    "item_id": item.item_id,
                    "content_hash": item.content_hash,
                    "at": _seconds(self._playing.since),
                },
            )

    def _end_play(self) -> None:
        """The showing in progress is over (rotation, segment change, new schedule, stop): report it."""
        play, self._playing = self._playing, None
        if play is not None:
            self._publish_event(
                wire.EVENT_PLAY,
                {
                    "item_id": play.item.item_id,
                    "content_hash": play.item.content_hash,
                    "started_at": _seconds(play.since),
                    "ended_at": _seconds(self.now()),
                },
            )

    def _show(self, picture: _Picture, *, force: bool = False) -> None:
        """Display ``picture`` unless it is on the panel already; ``force`` is for an explicit refresh."""
        if not force and picture.content_hash == self._on_screen:
            return
        self._on_screen = None
        try:
            self.backend.display(picture.image)
        except Exception as exc:
            # What the panel shows is unknown now: the rotation puts back the frame that is due.
            self._rotation_changed.notify_all()
            self._set_fault(exc)
            raise
        self._on_screen = picture.content_hash
        self._set_fault(None)

    def _set_fault(self, exc: Exception | None) -> None:
        """A hardware problem is reported once when it starts and once when it ends, never fatal."""
        fault = None if exc is None else f"{type(exc).__name__}: {exc}"[:300]
        if fault == self._fault:
            return
        previous, self._fault = self._fault, fault
        if fault is None:
            log.info("the panel works again (was: %s)", previous)
            self._publish_event(wire.EVENT_FAULT, {"cleared": True, "was": previous})
        else:
            log.error("panel fault: %s", fault)
            self._publish_event(wire.EVENT_FAULT, {"code": type(exc).__name__, "detail": fault})
        self._publish_state()

    def _set_store_fault(self, exc: Exception | None) -> None:
        """A problem with the stored schedule, apart from hardware faults (a good display does not end it):
        reported once when it starts and once when it ends; the caller publishes the state."""
        fault = None if exc is None else f"{type(exc).__name__}: {exc}"[:300]
        if fault == self._store_fault:
            return
        previous, self._store_fault = self._store_fault, fault
        if fault is None:
            log.info("the stored schedule is good again (was: %s)", previous)
            self._publish_event(wire.EVENT_FAULT, {"cleared": True, "was": previous})
        else:
            self._publish_event(wire.EVENT_FAULT, {"code": type(exc).__name__, "detail": fault})

    def _rotate(self) -> None:
        """The rotation thread: follow the schedule in force, change by change, until stop().

        It sleeps until the next change (at most MAX_SLEEP_S), or until a new schedule, a command, a
        failed display elsewhere, wake() or stop() wakes it. A display that fails here is logged and the
        next change tried in its turn: the thread must outlive a flaky panel.
        """
        with self._lock:
            while not self._stopping:
                self._rotation_changed.wait(self.turn())

    def turn(self) -> float:
        """One turn of the rotation (see ``_advance``): seconds until it is due again. The rotation
        thread calls it; so does a fleet simulator's shared timer, and after each message it delivers."""
        with self._lock:
            timeout_s = self._advance()
            self._send_events()
            if self._connected:  # offline, the batch waits for the connection, not for a timer
                timeout_s = min(timeout_s, max(self._batch_due_in(), 0.0))
            self._heartbeat = self._monotonic()
            return timeout_s

    def _refuse(self, kind: str, topic: str, exc: Exception) -> None:
        """Log and report a refusal; what is shown and stored stays as it was."""
        if isinstance(exc, wire.WireError):
            reason, detail = exc.reason, exc.detail
        else:
            reason, detail = "malformed", f"{type(exc).__name__}: {exc}"
        log.warning("refused %s payload for %s: %s: %s", kind, self.panel_id, reason, detail)
        self._publish_event(wire.EVENT_REFUSED, {"reason": reason, "detail": detail, "topic": topic})

    # --- what the panel reports -----------------------------------------------------------------

    def current_state(self, *, picture: bool = False) -> wire.PanelState:
        """The online state: the schedule in force (``applied_seq``) and the item on air at this moment.

        The state is published when a schedule is applied, on a command and on every connection, not at
        each turn of the rotation (that is what ``play`` events are for), so ``item_id`` and
        ``content_hash`` say what was on air when it was published. The screenshot is that item's first
        page whatever page is up, as the controller's preview shows it, named by its frame's hash (the
        controller has that frame) unless ``picture`` asks for the panel's own copy (the ``screenshot``
        command); a black frame when blank; during a technician's override, nothing is on air and the
        screenshot is the override's (first) frame. Pictures the panel made itself always travel whole.
        """
        with self._lock:
            applied, playing, override = self._applied, self._playing, self._override
            screenshot: bytes | None = None
            screenshot_frame: str | None = None
            if override is not None:
                screenshot = wire.screenshot_png(wire.Frame.from_image(override.frames[0].image))
            elif playing is not None and applied is not None:
                frame = playing.item.pages[0].frame
                if picture:
                    screenshot = wire.screenshot_png(frame)
                else:
                    screenshot_frame = frame.content_hash
            elif applied is not None:
                screenshot = wire.screenshot_png(self._blank_frame)
            return wire.PanelState(
                panel_id=self.panel_id,
                online=True,
                reported_at=int(self.now()),
                item_id=playing.item.item_id if playing else None,
                content_hash=playing.item.content_hash if playing else None,
                applied_seq=applied.sealed.seq if applied else 0,
                agent_version=relais.__version__,
                uptime_s=int(self._monotonic() - self._started),
                screenshot_png=screenshot,
                screenshot_frame=screenshot_frame,
                brightness=self._brightness,
                faults=tuple(fault for fault in (self._fault, self._store_fault) if fault is not None),
                backend=describe_backend(self.config.backend_name, self.backend),
                **self._health_now(),
            )

    def _health_now(self) -> _Health:
        now = self._monotonic()
        if self._health is None or now - self._health[0] >= HEALTH_EVERY_S:
            health: _Health = {
                "disk_free_mb": free_disk_mb(self.store.path.parent),
                "cpu_temp_c": cpu_temperature(),
                "link_quality": wifi_link_quality(),
            }
            self._health = (now, health)
        return self._health[1]

    def _publish_state(self, *, picture: bool = False) -> None:
        """Only when connected: every connection publishes a fresh state anyway. The item on air that
        the state names has been told: its ``on_air`` event can wait for the batch."""
        with self._lock:
            if self._connected and self._client is not None:
                state = self.current_state(picture=picture)
                self._client.publish(self.state_topic, state.to_payload(), qos=1, retain=True)
                self._urgent.discard(f"{wire.EVENT_ON_AIR} {state.item_id}")

    def _publish_event(self, event: str, details: dict[str, Any]) -> None:
        """Queue an event for the next batch (``_send_events``), the oldest dropped beyond a bound.

        paho would queue them while offline too, but without a bound: days offline with a fast rotation
        would eat the board's memory.
        """
        at = int(self.now())
        payload = wire.PanelEvent(self.panel_id, event, at, details).to_payload()
        with self._lock:
            if len(self._pending) >= MAX_PENDING_EVENTS:
                dropped_at, _ = self._pending.popleft()
                count, first_at, _ = self._dropped or (0, dropped_at, dropped_at)
                self._dropped = (count + 1, first_at, dropped_at)
            self._pending.append((at, payload))
            if event == wire.EVENT_ON_AIR:
                self._urgent.add(f"{event} {details['item_id']}")
            elif event not in BATCHED_EVENTS:
                self._urgent.add(event)
            if self._batch_since is None:
                self._batch_since = self._monotonic()

    def _batch_due_in(self) -> float:
        """Seconds until the events pending must go, however quiet the panel; inf without any."""
        if self._batch_since is None:
            return math.inf
        return self._batch_since + self.batch_s - self._monotonic()

    def _send_events(self, *, everything: bool = False) -> None:
        """Publish the pending events, oldest first, when connected and when one is urgent, the batch
        has waited long enough or ``everything`` is asked; a drop report goes first."""
        with self._lock:
            client = self._client
            if not self._connected or client is None or not self._pending:
                return
            if not (everything or self._urgent or self._batch_due_in() <= 0):
                return
            payloads = [payload for _, payload in self._pending]
            if self._dropped is not None:
                count, first_at, last_at = self._dropped
                log.warning("%d events were dropped while the broker was unreachable", count)
                dropped = {"count": count, "first_at": first_at, "last_at": last_at}
                report = wire.PanelEvent(self.panel_id, wire.EVENT_EVENTS_DROPPED, int(self.now()), dropped)
                payloads.insert(0, report.to_payload())
                self._dropped = None
            for start in range(0, len(payloads), MAX_EVENTS_PER_MESSAGE):
                batch = payloads[start : start + MAX_EVENTS_PER_MESSAGE]
                client.publish(self.events_topic, wire.join_events(batch), qos=1)
            self._pending.clear()
            self._urgent.clear()
            self._batch_since = None

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
        with self._lock:
            if self._client is not client:  # stop() has begun
                return
            self._connected = True
            self._publish_state()
            self._send_events(everything=True)

    @_logged
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

    @_logged
    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.desired_topic:
            self.handle_desired(message.payload)
        elif message.topic == self.cmd_topic:
            self.handle_command(message.payload)
        else:
            log.debug("ignoring a message on %s", message.topic)
