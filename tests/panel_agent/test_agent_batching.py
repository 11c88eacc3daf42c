"""Which of a panel's events go at once and which wait for the batch, and the fault records: no broker."""

from __future__ import annotations

import pytest

from panel_agent.agent import batching
from panel_agent.agent.batching import BATCH_S, PendingEvents, batch_seconds
from panel_agent.agent.health import Fault
from relais import wire

PANEL = "bourg-entree-nord"


def event(name: str, at: int, **details: object) -> wire.PanelEvent:
    return wire.PanelEvent(PANEL, name, at, dict(details))


def received(messages: list[bytes]) -> list[list[tuple[str, int]]]:
    """What the controller reads, message by message: each event's name and time."""
    return [[(e.event, e.at) for e in wire.events_from_payload(message)] for message in messages]


def test_displays_wait_for_the_panels_batch_time_and_an_urgent_event_takes_them_along() -> None:
    pending = PendingEvents(PANEL)
    assert pending.batch_s == batch_seconds(PANEL) and 0.75 * BATCH_S <= pending.batch_s <= 1.25 * BATCH_S
    assert not pending.ready(0.0) and pending.due_in(0.0) == float("inf")
    pending.add(event(wire.EVENT_DISPLAYED, 100, item_id="item-1", seq=1), now=10.0)
    pending.add(event(wire.EVENT_DISPLAYED, 110, item_id="item-2", seq=2), now=20.0)
    assert not pending.ready(20.0)
    assert pending.due_in(20.0) == pytest.approx(10.0 + pending.batch_s - 20.0)
    assert pending.ready(10.0 + pending.batch_s)  # the oldest has waited long enough
    pending.add(event(wire.EVENT_ACK, 111, command="refresh"), now=21.0)
    assert pending.ready(21.0)
    sums = [event(wire.EVENT_PLAY_HOURS, 112, item_id="item-1").to_payload()]  # kept apart, sent along
    assert received(pending.take(at=112, also=sums)) == [
        [
            (wire.EVENT_DISPLAYED, 100),
            (wire.EVENT_DISPLAYED, 110),
            (wire.EVENT_ACK, 111),
            (wire.EVENT_PLAY_HOURS, 112),
        ]
    ]
    assert not pending.ready(21.0, everything=True)  # nothing left to send


def test_an_item_on_air_is_urgent_until_a_state_has_told_it() -> None:
    pending = PendingEvents(PANEL)
    pending.add(event(wire.EVENT_ON_AIR, 100, item_id="alerte"), now=0.0)
    pending.add(event(wire.EVENT_DISPLAYED, 100, item_id="alerte", seq=3), now=0.0)
    assert pending.ready(0.0)
    pending.told("alerte")
    assert not pending.ready(0.0)
    assert pending.ready(0.0, everything=True)  # on connection, or when the agent stops


def test_offline_the_oldest_events_are_dropped_and_the_drop_is_reported_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batching, "MAX_PENDING_EVENTS", 3)
    pending = PendingEvents(PANEL)
    for at in range(100, 106):
        pending.add(event(wire.EVENT_DISPLAYED, at, item_id="item-1", seq=at), now=0.0)
    (message,) = pending.take(at=200)
    dropped, *displays = wire.events_from_payload(message)
    assert (dropped.event, dropped.at, dropped.details) == (
        wire.EVENT_EVENTS_DROPPED,
        200,
        {"count": 3, "first_at": 100, "last_at": 102},
    )
    assert [display.at for display in displays] == [103, 104, 105]


def test_a_long_wait_goes_in_messages_of_at_most_what_the_controller_takes() -> None:
    pending = PendingEvents(PANEL)
    count = batching.MAX_EVENTS_PER_MESSAGE + 1
    for at in range(count):
        pending.add(event(wire.EVENT_DISPLAYED, at, item_id="item-1", seq=at), now=0.0)
    messages = received(pending.take(at=count))
    assert [len(events) for events in messages] == [batching.MAX_EVENTS_PER_MESSAGE, 1]
    assert [at for events in messages for _, at in events] == list(range(count))


def test_a_fault_is_reported_when_it_starts_changes_and_ends_not_while_it_lasts() -> None:
    fault = Fault("the panel works again (was: %s)", "panel fault: %s")
    assert fault.change(None) is None
    assert fault.change(OSError("port gone")) == {"code": "OSError", "detail": "OSError: port gone"}
    assert fault.change(OSError("port gone")) is None
    assert fault.change(TimeoutError("busy")) == {"code": "TimeoutError", "detail": "TimeoutError: busy"}
    assert fault.change(None) == {"cleared": True, "was": "TimeoutError: busy"}
    assert fault.detail is None
    long = fault.change(RuntimeError("x" * 400))
    assert long is not None and long["detail"] == ("RuntimeError: " + "x" * 400)[:300]
