"""What each panel has on air now, derived from the schedule the controller signed and the clock.

A panel publishes its state when it applies a schedule or takes a command, not at each turn of its
rotation, so its own report says what was up then. What a signed schedule puts on a panel at an
instant is a pure function of the time (``relais.playback``, the code the panel itself follows): the
item, its page and until when, without asking the panel. Where the panel's report matters more (a
technician's timed command is up instead, or the panel has not applied this schedule yet), the answer
says what the panel reported (``reported``) rather than pretending.

Each panel's desired schedule is decoded once and kept by sequence number, without its pictures; only
the panels asked for (the rows of one page of the fleet) are looked at, so a thousand panels cost no
more than fifty.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from controller.dates import iso_utc
from controller.domain.panels import item_labels
from controller.publishing.reports import frame_picture
from controller.storage.db import pairs_for_ids
from relais.playback import showing_at
from relais.wire import (
    COMMAND_BLANK,
    COMMAND_IDENTIFY,
    COMMAND_REFRESH,
    COMMAND_TEST_PATTERN,
    EVENT_ACK,
    Frame,
    Page,
    Schedule,
    WireError,
    read_own_sealed,
)

log = logging.getLogger(__name__)

SOURCE = "schedule"
# Decoded schedules kept, one a panel: a department's fleet, so that paging through it decodes each once.
SCHEDULES_KEPT = 2048
# Commands that put something else than the schedule on the panel for a while (``refresh`` ends them).
OVERRIDES = (COMMAND_BLANK, COMMAND_TEST_PATTERN, COMMAND_IDENTIFY)

# The panel's latest acknowledged command among those that begin or end an override.
_LAST_OVERRIDE = f"""
select c.command, c.args, e.at from commands c
join panel_events e on e.id = (
    select min(id) from panel_events where panel_id = c.panel_id and event = '{EVENT_ACK}'
    and json_extract(details, '$.seq') = c.seq)
where c.panel_id = ? and c.command in ({",".join(f"'{name}'" for name in (*OVERRIDES, COMMAND_REFRESH))})
  and json_extract(e.details, '$.ok')
order by c.id desc limit 1
"""


# What stands for every frame in a schedule's timing: playback reads dwells, never pictures.
_STAND_IN = Frame(1, 1, b"")


@dataclass(frozen=True)
class SignedSchedule:
    """A panel's desired schedule as sealed, read once for its sequence number and kept small: its
    timing, and each item's id and page frames by hash (the pictures stay in the outbox)."""

    seq: int
    # The schedule with every frame a stand-in and no flash: its showings end when a page does, not
    # at each flash, and a department's schedules fit in memory.
    timing: Schedule
    items: tuple[tuple[str, tuple[str, ...]], ...]  # each item's id and its pages' frame hashes

    @classmethod
    def read(cls, payload: bytes) -> SignedSchedule:
        sealed = read_own_sealed(payload)
        schedule = sealed.desired_schedule()
        timing = tuple(
            dataclasses.replace(item, pages=tuple(Page(_STAND_IN, page.dwell_ms) for page in item.pages))
            for item in schedule.items
        )
        items = tuple(
            (item.item_id, tuple(page.frame.content_hash for page in item.pages)) for item in schedule.items
        )
        return cls(sealed.seq, dataclasses.replace(schedule, items=timing), items)

    def has_frame(self, frame_hash: str) -> bool:
        return any(frame_hash in frames for _, frames in self.items)


_schedules: OrderedDict[str, SignedSchedule] = OrderedDict()
_schedules_lock = threading.Lock()


def signed_schedules(db: Database, panel_ids: Sequence[str]) -> dict[str, SignedSchedule]:
    """The desired schedule of each of these panels that has one, decoded only when its sequence changed."""
    seqs = pairs_for_ids(db, "select panel_id, seq from desired where panel_id in ({marks})", panel_ids)
    found: dict[str, SignedSchedule] = {}
    with _schedules_lock:
        for panel_id, seq in seqs.items():
            kept = _schedules.get(panel_id)
            if kept is not None and kept.seq == seq:
                _schedules.move_to_end(panel_id)
                found[panel_id] = kept
    stale = [panel_id for panel_id in seqs if panel_id not in found]
    payloads = pairs_for_ids(db, "select panel_id, payload from desired where panel_id in ({marks})", stale)
    for panel_id, payload in payloads.items():
        try:
            found[panel_id] = signed = SignedSchedule.read(payload)
        except WireError:
            log.exception("the outbox's schedule for %s cannot be read back", panel_id)
            continue
        with _schedules_lock:
            _schedules[panel_id] = signed
            if len(_schedules) > SCHEDULES_KEPT:
                _schedules.popitem(last=False)
    return found


def with_on_air(db: Database, statuses: Sequence[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Panels as ``panel_statuses`` gives them, each with ``on_air``: what its signed schedule puts on it
    at ``now`` (None when the controller never signed it one)."""
    schedules = signed_schedules(db, [status["id"] for status in statuses])
    now_ms = int(now * 1000)
    shows = {panel_id: showing_at(signed.timing, now_ms) for panel_id, signed in schedules.items()}
    labels = item_labels(
        db,
        [
            schedules[panel_id].items[showing.item][0]
            for panel_id, showing in shows.items()
            if showing.item is not None
        ],
    )
    answer = []
    for status in statuses:
        signed = schedules.get(status["id"])
        if signed is None:
            answer.append({**status, "on_air": None})
            continue
        showing = shows[status["id"]]
        on_air: dict[str, Any] = {
            "source": SOURCE,
            "seq": signed.seq,
            "item": None,
            "label": None,
            "page": None,
            "pages": None,
            "frame": None,
            "until": None if showing.until_ms is None else iso_utc(showing.until_ms // 1000),
        }
        if showing.item is not None:
            item_id, frames = signed.items[showing.item]
            on_air.update(
                item=item_id,
                label=labels.get(item_id),
                page=showing.page + 1,
                pages=len(frames),
                frame=frames[showing.page],
            )
        on_air["reported"] = _reported(db, status, signed.seq, on_air["item"], now)
        answer.append({**status, "on_air": on_air})
    return answer


def _reported(
    db: Database, status: dict[str, Any], seq: int, item_id: str | None, now: float
) -> dict[str, Any] | None:
    """What the panel reported instead of the schedule's item, when that matters: it has not applied
    this schedule yet (``behind``), or a technician's timed command is up (``command``); None otherwise.

    A panel's state that names another item of the same schedule is only older than the rotation, and
    says nothing against it.
    """
    if status["applied_seq"] < seq:
        return {"reason": "behind", "applied_seq": status["applied_seq"]}
    if item_id is None or status["showing"]["item_id"] is not None:
        return None
    row = db.execute(_LAST_OVERRIDE, [status["id"]]).fetchone()
    if row is None or row[0] not in OVERRIDES:
        return None
    command, args, began = row[0], json.loads(row[1] or "{}"), row[2]
    ends = began + int(args.get("seconds", 0))
    if ends <= now:
        return None
    return {"reason": "command", "command": command, "until": iso_utc(ends)}


def on_air_picture(db: Database, panel_id: str, frame_hash: str) -> bytes | None:
    """The picture of a page of the panel's signed schedule, by its frame's hash; None when that
    schedule has no such page."""
    signed = signed_schedules(db, [panel_id]).get(panel_id)
    if signed is None or not signed.has_frame(frame_hash):
        return None
    picture = frame_picture(db, panel_id, frame_hash)
    return None if picture is None else picture[1]
