"""Proof of play summed per item, content hash and hour on the panel (``play_hours``): pure, no agent."""

from __future__ import annotations

from collections import Counter

import pytest

from panel_agent.agent import play_hours
from panel_agent.agent.play_hours import HOUR_S, PlayTally, hour_of, sums_delay_s

HOUR = 1_800_000_000 // HOUR_S * HOUR_S  # a whole hour
A, B = "msg-1", "msg-2"


def tally(**delay: float) -> PlayTally:
    found = PlayTally("bourg-entree-nord")
    found.delay_s = delay.get("delay_s", 0.0)
    return found


def sums(found: list[dict]) -> list[tuple]:
    return [
        (s["item_id"], s["hour"], s["count"], s["seconds"], s["first_start"], s["last_end"]) for s in found
    ]


def test_showings_add_up_per_item_hash_and_hour_with_the_first_start_and_the_last_end() -> None:
    counted = tally()
    counted.add(A, "sha256:a", HOUR + 10, HOUR + 20)
    counted.add(B, "sha256:b", HOUR + 20, HOUR + 25.5)
    counted.add(A, "sha256:a", HOUR + 30, HOUR + 40)
    counted.add(A, "sha256:a2", HOUR + 40, HOUR + 50)  # the item edited: a content of its own
    counted.add(A, "sha256:a", HOUR + HOUR_S + 5, HOUR + HOUR_S + 15)
    assert len(counted) == 4
    taken = counted.take(HOUR + 2 * HOUR_S, None)
    assert sums(taken) == [
        (A, HOUR, 2, 20.0, HOUR + 10, HOUR + 40),
        (A, HOUR, 1, 10.0, HOUR + 40, HOUR + 50),
        (B, HOUR, 1, 5.5, HOUR + 20, HOUR + 25.5),
        (A, HOUR + HOUR_S, 1, 10.0, HOUR + HOUR_S + 5, HOUR + HOUR_S + 15),
    ]
    assert [s["content_hash"] for s in taken] == ["sha256:a", "sha256:a2", "sha256:b", "sha256:a"]
    assert len(counted) == 0


def test_a_showing_across_the_hour_counts_whole_in_the_hour_it_started() -> None:
    counted = tally()
    counted.add(A, "sha256:a", HOUR + HOUR_S - 5, HOUR + HOUR_S + 5)
    # As its play row did: one display, 10 s, dated by its start; the hour's last end is past the hour.
    assert sums(counted.take(HOUR + 2 * HOUR_S, None)) == [
        (A, HOUR, 1, 10.0, HOUR + HOUR_S - 5, HOUR + HOUR_S + 5)
    ]
    assert hour_of(HOUR + HOUR_S - 0.001) == HOUR and hour_of(HOUR + HOUR_S) == HOUR + HOUR_S


def test_an_hour_is_due_once_over_with_no_showing_of_it_still_up_and_the_panels_delay_past() -> None:
    counted = tally(delay_s=60)
    counted.add(A, "sha256:a", HOUR + 100, HOUR + 110)
    end = HOUR + HOUR_S
    assert not counted.due(end - 1, None, at_once=True)  # not over
    assert not counted.due(end + 59, None)  # over, but the panel's delay is not past
    assert counted.due(end + 59, None, at_once=True)  # on reconnection, at once
    assert counted.due(end + 60, None)
    # A showing that began in the hour is still up: it will count there, the hour is not closed.
    assert not counted.due(end + 600, end - 5, at_once=True)
    assert counted.take(end + 600, end - 5) == []
    assert counted.due(end + 600, end + 1)


def test_open_hours_go_at_stop_and_stay_counted_for_the_sum_once_closed() -> None:
    counted = tally()
    counted.add(A, "sha256:a", HOUR + 10, HOUR + 20)
    assert not counted.due(HOUR + 30, None) and counted.due(HOUR + 30, None, open_hours=True)
    sent = counted.take(HOUR + 30, None, open_hours=True)
    assert sums(sent) == [(A, HOUR, 1, 10.0, HOUR + 10, HOUR + 20)]
    counted.add(A, "sha256:a", HOUR + 30, HOUR + 40)
    # The whole hour once closed: the controller keeps the larger sum, so nothing counts twice.
    assert sums(counted.take(HOUR + HOUR_S, None)) == [(A, HOUR, 2, 20.0, HOUR + 10, HOUR + 40)]


def test_the_tally_kept_on_disk_reads_back_whole_and_a_garbled_one_is_refused() -> None:
    counted = tally()
    counted.add(A, "sha256:a", HOUR + 10, HOUR + 20.125)
    counted.add(B, None, HOUR + HOUR_S, HOUR + HOUR_S + 4)
    assert counted.changed
    kept = PlayTally.from_json("bourg-entree-nord", counted.to_json())
    assert not kept.changed
    assert kept.take(HOUR + 3 * HOUR_S, None) == counted.take(HOUR + 3 * HOUR_S, None)
    for garbled in (b"", b"{", b"[1]", b'[{"item_id": "x"}]', b"\xff"):
        with pytest.raises(ValueError, match="not a tally of plays"):
            PlayTally.from_json("bourg-entree-nord", garbled)


def test_the_tally_is_bounded_the_oldest_hours_dropped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(play_hours, "MAX_SUMS", 3)
    counted = tally()
    for hour in range(5):
        counted.add(A, "sha256:a", HOUR + hour * HOUR_S, HOUR + hour * HOUR_S + 10)
        counted.add(A, "sha256:a", HOUR + hour * HOUR_S + 20, HOUR + hour * HOUR_S + 30)
    assert len(counted) == 3 and counted.dropped == 4  # two hours of two showings each
    assert [s["hour"] for s in counted.take(HOUR + 9 * HOUR_S, None)] == [
        HOUR + h * HOUR_S for h in (2, 3, 4)
    ]


def test_each_panel_sends_its_sums_at_a_time_of_its_own_after_the_hour() -> None:
    delays = [sums_delay_s(f"sim-{n:05d}") for n in range(10_000)]
    assert sums_delay_s("bourg-entree-nord") == sums_delay_s("bourg-entree-nord")
    assert 0 <= min(delays) < 1 and play_hours.SENT_WITHIN_S - 1 < max(delays) < play_hours.SENT_WITHIN_S
    # A region's 10,000 panels after an hour: at most a few dozen messages in any second.
    assert max(Counter(int(d) for d in delays).values()) < 70
