"""Proof of play summed on the panel, per item, content hash and hour: pure, no clock or network of its own.

A play event for each showing was 1,000 rows a second at the controller for 10,000 panels rotating
every 10 s, 3.6 million an hour, for ever. Instead each panel adds its showings up, per item, content
hash and hour (UTC, which is also a Paris hour: France is a whole number of hours ahead): how many,
their seconds on air, the first start and the last end. A report sums those, so its figures are the
ones the plays gave, whatever the rotation's pace, and the rows grow with items and hours, not plays.

- A showing counts whole in the hour it started in, however long it lasts: one from 10:59:55 to
  11:00:05 adds one display and 10 s to 10:00, whose last end becomes 11:00:05. A play was dated by
  its start (a report's first display, an indicator's week), and so is its hour.
- An hour is closed once it is over and no showing that started in it is still up (``PlayTally.due``);
  its sums then go to the controller, within ``SENT_WITHIN_S`` of the hour's end, a time of its own to
  each panel so that a region's panels do not all report at the hour. They also go with any batch of
  events that goes earlier, and at once on reconnection. A panel that stops sends its open hours too,
  and keeps them: they go again, grown, once closed.
- The controller keeps a sum by panel, item, content hash and hour, the larger count and seconds, the
  earlier start and the later end of what it got: a sum sent again or late never counts twice.
- What is not sent yet is kept (the agent writes it beside its schedule; see ``to_json``), at most
  ``MAX_SUMS`` of them, the oldest hours dropped beyond: 10,000 is months offline.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from relais import wire
from relais.playback import Showing

log = logging.getLogger(__name__)

HOUR_S = 3600
SENT_WITHIN_S = 300.0
MAX_SUMS = 10_000
# An item, its content hash (None from a schedule without one) and the hour (epoch seconds).
SumKey = tuple[str, str | None, int]


def hour_of(moment: float) -> int:
    """The start of the hour (epoch seconds) that ``moment`` is in."""
    return int(moment // HOUR_S) * HOUR_S


def sums_delay_s(panel_id: str) -> float:
    """How long after an hour's end the panel sends its sums: the same at every start, spread over a fleet."""
    return SENT_WITHIN_S * zlib.crc32(panel_id.encode()) / 2**32


def play_key(showing: Showing) -> tuple[int, int | None, int] | None:
    """Moments with the same key belong to the same showing; None for a blank panel."""
    if showing.item is None:
        return None
    return (showing.item, showing.entry_index, showing.started_at_ms)


@dataclass
class HourSum:
    """The showings of one item in one hour."""

    count: int
    seconds: float
    first_start: float
    last_end: float


class PlayTally:
    """The sums of one panel not sent yet, or sent while their hour was still open."""

    def __init__(self, panel_id: str) -> None:
        self.panel_id = panel_id
        self.delay_s = sums_delay_s(panel_id)
        self._sums: dict[SumKey, HourSum] = {}
        self.dropped = 0  # showings of hours dropped beyond MAX_SUMS, since the start
        # Hours came or went since the agent last wrote the tally down (``kept``).
        self.changed = False

    def __len__(self) -> int:
        return len(self._sums)

    def add(self, item_id: str, content_hash: str | None, started: float, ended: float) -> None:
        """A showing that ended: counted whole in the hour of its start."""
        seconds = max(ended - started, 0.0)
        key = (item_id, content_hash, hour_of(started))
        found = self._sums.get(key)
        if found is None:
            if len(self._sums) >= MAX_SUMS:
                self._drop_oldest()
            self._sums[key] = HourSum(1, seconds, started, started + seconds)
            self.changed = True
            return
        found.count += 1
        found.seconds += seconds
        found.first_start = min(found.first_start, started)
        found.last_end = max(found.last_end, started + seconds)

    def _drop_oldest(self) -> None:
        oldest = min(self._sums, key=lambda key: key[2])
        self.dropped += self._sums.pop(oldest).count
        log.warning(
            "%d showings dropped from proof of play: more than %d hours' sums unsent", self.dropped, MAX_SUMS
        )

    @staticmethod
    def _closed(hour: int, now: float, up_since: float | None) -> bool:
        """Over, and no showing that started in it still up (``up_since``: the one up now, None: blank)."""
        end = hour + HOUR_S
        return end <= now and (up_since is None or end <= up_since)

    def due(
        self, now: float, up_since: float | None, *, at_once: bool = False, open_hours: bool = False
    ) -> bool:
        """Whether sums must go now: a closed hour's once the panel's delay is past, or ``at_once``
        (on connection); any with ``open_hours`` (the panel stops)."""
        if open_hours and self._sums:
            return True
        late = now if at_once else now - self.delay_s
        return any(self._closed(hour, late, up_since) for _, _, hour in self._sums)

    def take(self, now: float, up_since: float | None, *, open_hours: bool = False) -> list[dict[str, Any]]:
        """The ``play_hours`` details of every closed hour, forgotten here; with ``open_hours``, those of
        the hours still open too, kept (they will grow), oldest hour first."""
        found: list[dict[str, Any]] = []
        for key in sorted(self._sums, key=lambda key: (key[2], key[0], key[1] or "")):
            closed = self._closed(key[2], now, up_since)
            if closed or open_hours:
                found.append(details(key, self._sums[key]))
            if closed:
                del self._sums[key]
                self.changed = True
        return found

    def kept(self) -> None:
        """The agent wrote the tally down."""
        self.changed = False

    def to_json(self) -> bytes:
        """What the agent keeps on disk: every sum with its key."""
        return json.dumps([details(key, found) for key, found in self._sums.items()]).encode()

    @classmethod
    def from_json(cls, panel_id: str, text: bytes) -> PlayTally:
        """A tally kept by ``to_json``; raises ValueError if it is not one."""
        tally = cls(panel_id)
        try:
            for row in json.loads(text):
                key = (str(row["item_id"]), row["content_hash"], int(row["hour"]))
                tally._sums[key] = HourSum(
                    int(row["count"]),
                    float(row["seconds"]),
                    float(row["first_start"]),
                    float(row["last_end"]),
                )
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"not a tally of plays: {exc!r}") from None
        return tally

    def events(self, sums: list[dict[str, Any]], at: int) -> list[bytes]:
        """The events that carry ``sums`` (``take``), one a sum."""
        return [wire.PanelEvent(self.panel_id, wire.EVENT_PLAY_HOURS, at, sum_).to_payload() for sum_ in sums]


def details(key: SumKey, found: HourSum) -> dict[str, Any]:
    """A sum as a ``play_hours`` event says it, times to the millisecond."""
    item_id, content_hash, hour = key
    return {
        "item_id": item_id,
        "content_hash": content_hash,
        "hour": hour,
        **asdict(found),
        "seconds": round(found.seconds, 3),
        "first_start": round(found.first_start, 3),
        "last_end": round(found.last_end, 3),
    }
