"""Which events wait for the next batch and which are urgent: a bounded queue, pure of any network.

Events go in batches (``wire.join_events``): all those of one schedule, command or turn of the
rotation together, at most ``MAX_EVENTS_PER_MESSAGE`` a message. What is for reports only is not
urgent: a schedule displayed or an item on air once a state has said so (the state is
what the controller shows and what confirms an alert). They wait for an urgent event, or until the
oldest has waited the panel's batch time: between 3/4 and 5/4 of ``BATCH_S``, by panel, so that the
panels of a department that all took an alert at once do not all report it in the same second: an
alert costs a panel one message, its state, instead of two. Proof of play is no event of this queue:
it is summed per hour (``play_hours``) and its sums go with a batch (``take``'s ``also``). Offline,
events wait in the queue, the oldest dropped beyond ``MAX_PENDING_EVENTS`` and the drop reported on
reconnection.
"""

from __future__ import annotations

import collections
import logging
import math
import zlib
from collections.abc import Sequence

from relais import wire

log = logging.getLogger(__name__)

# Events kept while the broker is unreachable, the oldest dropped beyond: about 250 bytes each, so
# 2.5 MB at most. Drops are reported on reconnection.
MAX_PENDING_EVENTS = 10_000
MAX_EVENTS_PER_MESSAGE = wire.MAX_EVENTS_PER_BATCH  # what the controller takes in one message
BATCH_S = 60.0
# Events a state always says too (a display is always followed by a state): never urgent.
BATCHED_EVENTS = frozenset({wire.EVENT_DISPLAYED})


def batch_seconds(panel_id: str) -> float:
    """The panel's batch time: the same for a panel at every start, spread over the panels of a fleet."""
    return BATCH_S * (0.75 + 0.5 * zlib.crc32(panel_id.encode()) / 2**32)


class PendingEvents:
    """The events of one panel not sent yet, oldest first, and whether they must go now.

    Times are the agent's monotonic clock, given by the caller; ``take`` hands back the messages to
    publish and empties the batch.
    """

    def __init__(self, panel_id: str) -> None:
        self.panel_id = panel_id
        self.batch_s = batch_seconds(panel_id)
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()  # (at, event payload)
        # Why the events pending cannot wait for the batch: the urgent events' names, and "on_air <item>"
        # for an item on air that no state has told yet.
        self._urgent: set[str] = set()
        self._since: float | None = None  # monotonic time of the oldest event pending
        self._dropped: tuple[int, int, int] | None = None  # count, first and last `at` of events dropped

    def add(self, event: wire.PanelEvent, now: float) -> None:
        """Queue ``event``, the oldest dropped beyond MAX_PENDING_EVENTS.

        paho would queue them while offline too, but without a bound: days offline with a fast rotation
        would eat the board's memory.
        """
        if len(self._pending) >= MAX_PENDING_EVENTS:
            dropped_at, _ = self._pending.popleft()
            count, first_at, _ = self._dropped or (0, dropped_at, dropped_at)
            self._dropped = (count + 1, first_at, dropped_at)
        self._pending.append((event.at, event.to_payload()))
        if event.event == wire.EVENT_ON_AIR:
            self._urgent.add(f"{event.event} {event.details['item_id']}")
        elif event.event not in BATCHED_EVENTS:
            self._urgent.add(event.event)
        if self._since is None:
            self._since = now

    def told(self, item_id: str | None) -> None:
        """A state has said ``item_id`` is on air: its ``on_air`` event can wait for the batch."""
        self._urgent.discard(f"{wire.EVENT_ON_AIR} {item_id}")

    def due_in(self, now: float) -> float:
        """Seconds until the events pending must go, however quiet the panel; inf without any."""
        if self._since is None:
            return math.inf
        return self._since + self.batch_s - now

    def ready(self, now: float, *, everything: bool = False) -> bool:
        """Whether to send now: one event is urgent, the batch has waited long enough, or ``everything``."""
        return bool(self._pending) and (everything or bool(self._urgent) or self.due_in(now) <= 0)

    def take(self, at: int, also: Sequence[bytes] = ()) -> list[bytes]:
        """The messages for every event pending, a drop report (dated ``at``) first, then ``also``
        (events kept elsewhere: the sums of plays); the batch is empty after."""
        payloads = [payload for _, payload in self._pending] + list(also)
        if self._dropped is not None:
            count, first_at, last_at = self._dropped
            log.warning("%d events were dropped while the broker was unreachable", count)
            dropped = {"count": count, "first_at": first_at, "last_at": last_at}
            report = wire.PanelEvent(self.panel_id, wire.EVENT_EVENTS_DROPPED, at, dropped)
            payloads.insert(0, report.to_payload())
            self._dropped = None
        self._pending.clear()
        self._urgent.clear()
        self._since = None
        return messages(payloads)


def messages(payloads: Sequence[bytes]) -> list[bytes]:
    """Events as the messages that carry them, in order, at most ``MAX_EVENTS_PER_MESSAGE`` each."""
    return [
        wire.join_events(payloads[start : start + MAX_EVENTS_PER_MESSAGE])
        for start in range(0, len(payloads), MAX_EVENTS_PER_MESSAGE)
    ]
