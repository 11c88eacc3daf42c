"""A technician's commands: ``refresh``, ``brightness``, the timed ``blank``, ``test_pattern`` and
``identify``, and ``screenshot``, each acknowledged on the events topic.

The timed commands are *overrides*: the rotation thread shows them instead of the schedule and ends
them by itself when their time is up (no thread per command); a new schedule, another timed command or
``refresh`` replaces one. While an override is up the schedule's item is not on air, so its play ends
and a new one starts afterwards. The ``brightness`` command holds a level until the schedule's level
changes next (or a new schedule comes, or ``refresh``). Commands have their own counter, kept on
disk: a command captured on the wire is refused after a restart too, while it is still valid.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Unpack

from PIL import Image

from panel_agent.agent.pictures import Override, Picture, picture_of
from panel_agent.agent.reporting import AgentOptions, then_send_events
from panel_agent.agent.rotation import RotatingAgent
from panel_agent.config import AgentConfig
from panel_agent.field_test import PATTERNS
from panel_agent.store import CommandSeqStore, StoredContentError
from relais import wire
from relais.playback import brightness_at

log = logging.getLogger(__name__)

# identify: white then black, each for half a second, i.e. 1 Hz, until the technician has found it.
IDENTIFY_HALF_PERIOD_S = 0.5


class CommandedAgent(RotatingAgent):
    """A panel that takes a technician's signed commands; see ``PanelAgent``."""

    def __init__(self, config: AgentConfig, **options: Unpack[AgentOptions]) -> None:
        """``options`` as for ``ReportingAgent``: the clocks, and a backend already open."""
        super().__init__(config, **options)
        self.command_seqs = CommandSeqStore(config.state_dir, panel_id=config.panel_id)
        self._command_seq = self._stored_command_seq()

    @then_send_events
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
            self._begin_override(command, (picture_of(pattern),))
        elif command.name == wire.COMMAND_IDENTIFY:
            white = picture_of(Image.new("RGB", size, "white"))
            self._begin_override(command, (white, self._blank), period_s=IDENTIFY_HALF_PERIOD_S)

    def _begin_override(
        self, command: wire.Command, frames: tuple[Picture, ...], *, period_s: float = math.inf
    ) -> None:
        """Put up a timed command's first frame; the rotation turns its frames and ends it."""
        now = self._monotonic()
        override = Override(command.name, frames, now, now + command.args["seconds"], period_s)
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
