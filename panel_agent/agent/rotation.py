"""The rotation: what the panel shows at each moment, from the schedule in force or a technician's override.

A rotation thread asks ``relais.playback.showing_at`` what is due, sleeps until the next change
and redraws only when the frame actually changes, since every redraw of an e-paper panel flickers and
wears it. It sets the brightness the same way (``brightness_at``): the level due when a schedule is
applied, then at each change of level, which it also wakes up for. Each showing of an item that
ends is counted in its hour's sum (proof of play, ``play_hours``), and the first time an item goes
on air under a schedule is reported as an ``on_air`` event. The state says what is on air: the
controller confirms emergency alerts with it, or with the ``on_air`` of an alert that comes on air
later.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Unpack

from PIL import Image

import relais
from panel_agent.agent.health import describe_backend
from panel_agent.agent.pictures import Applied, Override, Picture, decode
from panel_agent.agent.play_hours import play_key
from panel_agent.agent.reporting import AgentOptions, ReportingAgent
from panel_agent.config import AgentConfig
from relais import wire
from relais.playback import Showing, brightness_at, showing_at

log = logging.getLogger(__name__)

# The rotation looks at the clock at least this often, even with nothing due: a wall clock stepped by
# NTP (or a first controller payload on a board that booted in 1970) is followed within this delay,
# and rotation_heartbeat() is never older than this plus the time a display takes, while all is well.
MAX_SLEEP_S = 30.0


def _seconds(t: float) -> float:
    """Event times: epoch seconds to the millisecond, enough to order the pages of a fast rotation."""
    return round(t, 3)


@dataclass(frozen=True)
class Play:
    """A showing of an item that is up on the panel: what its hour's sum counts when it ends."""

    key: tuple[int, int | None, int]  # Showing's item, entry_index and started_at_ms
    item_index: int
    item: wire.DisplayItem
    since: float  # agent time at which it went up


def _earliest(*times_ms: int | None) -> int | None:
    """The first of the changes that are due at all; None when none is."""
    return min((t for t in times_ms if t is not None), default=None)


class RotatingAgent(ReportingAgent):
    """A panel that follows the schedule in force, change by change; see ``PanelAgent``.

    ``_lock`` serialises everything that reads or changes what is shown, including every
    ``backend.display()`` call, so a command never sees a half-applied display and a backend is never
    driven from two threads at once.
    """

    def __init__(self, config: AgentConfig, **options: Unpack[AgentOptions]) -> None:
        """``options`` as for ``ReportingAgent``: the clocks, and a backend already open."""
        super().__init__(config, **options)
        black = Image.new("RGB", (self.backend.width, self.backend.height), "black")
        self._blank_frame = wire.Frame.from_image(black)
        self._blank = Picture(self._blank_frame.content_hash, black)
        self._applied: Applied | None = None
        self._playing: Play | None = None  # None: blank, or nothing applied
        self._aired: set[str] = set()  # item ids on air since the schedule was applied
        self._on_screen: str | None = None  # content hash of the frame on the panel, None if unknown
        self._brightness: int | None = None  # the level the backend was set to, None before any
        self._override: Override | None = None  # a timed command up instead of the schedule
        # Until when (ms, agent time) a brightness command holds its level; inf: until a new schedule.
        self._brightness_held_until_ms: float | None = None
        self._rotation_changed = threading.Condition(self._lock)
        self._rotation: threading.Thread | None = None
        self._stopping = False
        # A float written by the rotation thread alone and read without the lock: a watchdog must get
        # it even while a stuck display() holds the lock.
        self._heartbeat = self._started

    @property
    def applied_seq(self) -> int:
        """Sequence number of the desired message in force, 0 if none."""
        with self._lock:
            return self._applied.sealed.seq if self._applied else 0

    def rotation_heartbeat(self) -> float:
        """When (monotonic clock) the rotation last finished a turn and began to wait: at most
        MAX_SLEEP_S plus a display's duration ago while it works; older means it is stuck."""
        return self._heartbeat

    def wake(self) -> None:
        """Look at the schedule again now rather than when the next change is due: after a clock step."""
        with self._lock:
            self._rotation_changed.notify_all()

    def _decode(self, sealed: wire.Sealed) -> Applied:
        """Every frame of a desired schedule decoded for this panel (``pictures.decode``), or raise."""
        size = (self.backend.width, self.backend.height)
        return decode(sealed, size, self._blank, self._applied)

    def _showing_now(self, applied: Applied) -> Showing:
        return showing_at(applied.schedule, int(self.now() * 1000))

    def _begin(self, applied: Applied) -> None:
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

    def _schedule_picture(self) -> tuple[Picture | None, Showing | None]:
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
        picture: Picture | None
        if override is not None:
            picture, change_at = override.at(self._monotonic())
            what = override.command
        else:
            picture, showing = self._schedule_picture()
            if showing is not None and self._playing is not None and self._playing.key != play_key(showing):
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

    def _dim(self, applied: Applied) -> int | None:
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
        key = play_key(showing)
        if key is None or self._applied is None or (self._playing is not None and self._playing.key == key):
            return
        item = self._applied.schedule.items[key[0]]
        self._playing = Play(key, key[0], item, self.now())
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
        """The showing in progress is over (rotation, segment change, new schedule, stop): count it."""
        play, self._playing = self._playing, None
        if play is not None:
            self._count_play(play.item, _seconds(play.since), _seconds(self.now()))

    def _showing_since(self) -> float | None:
        return None if self._playing is None else self._playing.since

    def _show(self, picture: Picture, *, force: bool = False) -> None:
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

    def _frame_on_screen(self, applied: Applied, playing: Play) -> wire.Frame:
        """The schedule's frame on the panel, as drawn: whichever page is up, its flash frame in the
        flash phase. The item's first page when the screen is unknown (its last display failed)."""
        on_screen = None if self._on_screen is None else applied.schedule.frame(self._on_screen)
        return playing.item.pages[0].frame if on_screen is None else on_screen

    def current_state(self, *, picture: bool = False) -> wire.PanelState:
        """The online state: the schedule in force (``applied_seq``) and the item on air at this moment.

        The state is published when a schedule is applied, on a command and on every connection, not at
        each turn of the rotation (that is what ``play`` events are for), so ``item_id`` and
        ``content_hash`` say what was on air when it was published. The screenshot is the frame on the
        panel then, the page that is up and its flash phase (``_frame_on_screen``), named by its hash
        (the controller has that frame) unless ``picture`` asks for the panel's own copy (the
        ``screenshot`` command); a black frame when blank; during a technician's override, nothing is on
        air and the screenshot is the override's (first) frame. Pictures the panel made itself always
        travel whole.
        """
        with self._lock:
            applied, playing, override = self._applied, self._playing, self._override
            screenshot: bytes | None = None
            screenshot_frame: str | None = None
            if override is not None:
                screenshot = wire.screenshot_png(wire.Frame.from_image(override.frames[0].image))
            elif playing is not None and applied is not None:
                frame = self._frame_on_screen(applied, playing)
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
                faults=self._faults(),
                backend=describe_backend(self.config.backend_name, self.backend),
                **self._health.now(),
            )
