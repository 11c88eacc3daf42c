"""Schedules on the panel: ``showing_at`` on its own, then agents that follow a 48-hour schedule offline.

The agent tests drive the agent's clocks by hand (``clock`` and ``monotonic`` injected, then ``wake()``),
so hours of schedule pass in a second.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from panel_agent.agent import PanelAgent, batching
from panel_agent.agent.batching import BATCH_S, batch_seconds
from panel_agent.agent.play_hours import hour_of
from panel_agent.config import AgentConfig, load_config
from relais import wire
from relais.brokers.mosquitto import free_loopback_port
from relais.playback import Showing, brightness_at, showing_at
from relais.wire import BrightnessStep, DisplayItem, Frame, Page, PanelEvent, PlaylistEntry, Schedule, Segment
from tests.support import same_pixels, wait_for
from tests.support.agents import (
    BLACK,
    TOPICS,
    UNUSED_BROKER_URL,
    Clocks,
    FakeBroker,
    H,
    command,
    full_size_item,
    install_fake_broker,
    is_event,
    new_panel_id,
    picture,
    screen,
    sealed,
    shown_at,
    write_config,
)

T0 = 1_800_000_000
MS = 1000


def small_item(name: str, *dwells: int, flash_ms: int | None = None) -> DisplayItem:
    """An item of tiny frames, one page per dwell; pages differ so that a wrong one shows."""
    pages = []
    for number, dwell in enumerate(dwells):
        frame = Frame.from_image(Image.new("L", (8, 4), number * 40))
        flash = None if flash_ms is None else Frame.from_image(Image.new("L", (8, 4), 255))
        pages.append(Page(frame, dwell, flash, flash_ms or 500))
    return DisplayItem(name, name, tuple(pages))


# Item 0: two pages of 3 s and 5 s; item 1: one page of 4 s; item 2, the fallback: two pages of 2 s.
ITEMS = (small_item("a", 3000, 5000), small_item("b", 4000), small_item("c", 2000, 2000))
SCHEDULE = Schedule(
    items=ITEMS,
    segments=(
        Segment(T0, T0 + H, (PlaylistEntry(0),)),
        Segment(T0 + H, T0 + 3 * H, (PlaylistEntry(0), PlaylistEntry(1, dwell_ms=1000))),
        # a gap from 3 h to 5 h: the fallback
        Segment(T0 + 5 * H, T0 + 6 * H, blank=True),
        Segment(T0 + 6 * H, T0 + 7 * H),  # no playlist, not blank: the fallback
    ),
    horizon_end=T0 + 48 * H,
    fallback=2,
)


def shows(item: int, page: int, entry: int | None, started_s: float, until_s: float | None) -> Showing:
    until_ms = None if until_s is None else round(until_s * MS)
    return Showing(item, page, 0, False, entry, round(started_s * MS), until_ms)


def blank(started_s: float, until_s: float | None) -> Showing:
    return Showing(
        None, 0, 0, True, None, round(started_s * MS), None if until_s is None else round(until_s * MS)
    )


def at(seconds: float) -> Showing:
    return showing_at(SCHEDULE, round(seconds * MS))


def test_a_single_entry_rotates_its_pages_as_one_showing_for_the_whole_segment() -> None:
    assert at(T0) == shows(0, 0, 0, T0, T0 + 3)
    assert at(T0 + 3) == shows(0, 1, 0, T0, T0 + 8)
    assert at(T0 + 8) == shows(0, 0, 0, T0, T0 + 11)  # round two, same showing
    assert at(T0 + 8 * 3 + 4) == shows(0, 1, 0, T0, T0 + 32)
    # 3600 s is 450 rounds of 8 s: the last page ends with the segment.
    assert at(T0 + H - 0.5) == shows(0, 1, 0, T0, T0 + H)


def test_a_playlist_cycles_its_entries_in_order_with_the_entry_dwell_overriding_the_pages() -> None:
    start = T0 + H  # rounds of 9 s: item 0 for 3 + 5 s, then item 1 for 1 s instead of its 4 s
    assert at(start) == shows(0, 0, 0, start, start + 3)
    assert at(start + 3) == shows(0, 1, 0, start, start + 8)
    assert at(start + 8) == shows(1, 0, 1, start + 8, start + 9)
    assert at(start + 9) == shows(0, 0, 0, start + 9, start + 12)  # a new round, a new showing
    assert at(start + 9 * 400 + 8.5) == shows(1, 0, 1, start + 9 * 400 + 8, start + 9 * 400 + 9)


def test_gaps_and_empty_playlists_show_the_fallback_from_their_own_start() -> None:
    gap = T0 + 3 * H
    assert at(gap) == shows(2, 0, None, gap, gap + 2)
    assert at(gap + 3) == shows(2, 1, None, gap, gap + 4)
    assert at(T0 + 5 * H - 0.5) == shows(2, 1, None, gap, T0 + 5 * H)  # cut short by the next segment
    empty = T0 + 6 * H
    assert at(empty + 1) == shows(2, 0, None, empty, empty + 2)


def test_quiet_hours_are_blank_for_the_whole_segment() -> None:
    assert at(T0 + 5 * H) == blank(T0 + 5 * H, T0 + 6 * H)
    assert at(T0 + 6 * H - 0.001) == blank(T0 + 5 * H, T0 + 6 * H)


def test_after_the_last_segment_and_beyond_the_horizon_only_the_fallback_shows() -> None:
    end = T0 + 7 * H
    assert at(end) == shows(2, 0, None, end, end + 2)
    beyond = T0 + 48 * H + 1  # one showing from the last segment's end on: nothing expires into view
    assert at(beyond) == shows(2, 0, None, end, beyond + 1)
    assert at(T0 + 400 * 24 * H) == shows(2, 0, None, end, T0 + 400 * 24 * H + 2)


def test_before_the_first_segment_the_fallback_rotates_from_the_epoch() -> None:
    assert at(T0 - 1) == shows(2, 1, None, 0, T0)
    assert at(T0 - 3) == shows(2, 0, None, 0, T0 - 2)


def test_without_a_fallback_gaps_are_blank_and_the_end_is_blank_forever() -> None:
    schedule = Schedule(ITEMS[:1], (Segment(T0, T0 + H, (PlaylistEntry(0),)),), T0 + 48 * H)
    assert showing_at(schedule, (T0 - 5) * MS) == blank(0, T0)
    assert showing_at(schedule, (T0 + H) * MS) == blank(T0 + H, None)
    assert showing_at(schedule, (T0 + 50 * H) * MS) == blank(T0 + H, None)
    assert showing_at(Schedule((), (), T0 + H), T0 * MS) == blank(0, None)


def test_a_static_single_page_never_wakes_the_panel_before_the_segment_ends() -> None:
    schedule = Schedule.single(ITEMS[1], start=T0, horizon_end=T0 + 48 * H)
    assert showing_at(schedule, T0 * MS) == shows(0, 0, 0, T0, T0 + 48 * H)
    assert showing_at(schedule, (T0 + 47 * H) * MS) == shows(0, 0, 0, T0, T0 + 48 * H)
    assert showing_at(schedule, (T0 + 48 * H) * MS) == blank(T0 + 48 * H, None)
    assert showing_at(Schedule.single(None, start=T0, horizon_end=T0 + H), T0 * MS) == blank(0, None)


def test_flashing_pages_follow_the_rotation_with_the_entry_dwell() -> None:
    flashing = small_item("f", 5000, flash_ms=300)
    schedule = Schedule(
        (flashing, ITEMS[1]),
        (Segment(T0, T0 + H, (PlaylistEntry(0, dwell_ms=800), PlaylistEntry(1, dwell_ms=1000))),),
        T0 + H,
    )
    expected = [
        (0, 0, 0, 0, 300),
        (300, 0, 1, 0, 600),
        (600, 0, 0, 0, 800),  # cut short by the entry's dwell of 800 ms
        (800, 1, 0, 800, 1800),
        (1800, 0, 0, 1800, 2100),  # the next round starts on the frame
    ]
    for offset_ms, item, phase, started_ms, until_ms in expected:
        showing = showing_at(schedule, T0 * MS + offset_ms)
        assert (showing.item, showing.flash_phase) == (item, phase), offset_ms
        assert (showing.started_at_ms, showing.until_ms) == (T0 * MS + started_ms, T0 * MS + until_ms), (
            offset_ms
        )


def test_walking_from_change_to_change_covers_the_schedule_without_surprises() -> None:
    """Every instant between two changes shows the same thing: the rotation may sleep in between."""
    t_ms, changes = (T0 - 10) * MS, 0
    while t_ms < (T0 + 9 * H) * MS:
        showing = showing_at(SCHEDULE, t_ms)
        assert showing.until_ms is not None and showing.until_ms > t_ms
        assert showing_at(SCHEDULE, (t_ms + showing.until_ms) // 2) == showing
        assert showing_at(SCHEDULE, showing.until_ms - 1) == showing
        t_ms, changes = showing.until_ms, changes + 1
    assert changes > 5000


# Dimmed to 30 % for the first hour and the next (one stretch), full from 2 h to 3 h then a gap at
# full brightness (one stretch too), 10 % from 5 h to 6 h, then full for ever after.
DIMMED = dataclasses.replace(
    SCHEDULE,
    brightness=(
        BrightnessStep(T0, T0 + H, 30),
        BrightnessStep(T0 + H, T0 + 2 * H, 30),
        BrightnessStep(T0 + 2 * H, T0 + 3 * H, 100),
        BrightnessStep(T0 + 5 * H, T0 + 6 * H, 10),
    ),
)


def dimmed_at(seconds: float) -> tuple[int, float | None]:
    level, until_ms = brightness_at(DIMMED, round(seconds * MS))
    return level, None if until_ms is None else until_ms / MS


def test_brightness_is_full_outside_the_steps_and_changes_only_when_the_level_does() -> None:
    assert dimmed_at(0) == (100, T0)  # before the first step, from the epoch
    assert dimmed_at(T0 - 0.001) == (100, T0)
    assert dimmed_at(T0) == (30, T0 + 2 * H)  # two steps at 30 %: one stretch
    assert dimmed_at(T0 + 1.5 * H) == (30, T0 + 2 * H)
    assert dimmed_at(T0 + 2 * H) == (100, T0 + 5 * H)  # a full step and the gap after it: one stretch
    assert dimmed_at(T0 + 4 * H) == (100, T0 + 5 * H)
    assert dimmed_at(T0 + 5 * H) == (10, T0 + 6 * H)
    assert dimmed_at(T0 + 6 * H) == (100, None)  # after the last step, and past the horizon: full
    assert dimmed_at(T0 + 49 * H) == (100, None)
    assert brightness_at(SCHEDULE, T0 * MS) == (100, None)  # no steps at all


def test_walking_from_brightness_change_to_change_sees_every_level_once() -> None:
    t_ms, levels = 0, []
    while True:
        level, until_ms = brightness_at(DIMMED, t_ms)
        levels.append(level)
        if until_ms is None:
            break
        assert brightness_at(DIMMED, until_ms - 1) == (level, until_ms)
        t_ms = until_ms
    assert levels == [100, 30, 100, 10, 100]


# --- agents following a schedule -----------------------------------------------------------------


def two_days(start: int) -> Schedule:
    """Item 1 for an hour, item 2 from 1 h to 3 h, a gap, quiet hours from 5 h to 8 h; item 3 as fallback."""
    return Schedule(
        items=(full_size_item(1), full_size_item(2), full_size_item(3)),
        segments=(
            Segment(start, start + H, (PlaylistEntry(0),)),
            Segment(start + H, start + 3 * H, (PlaylistEntry(1),)),
            Segment(start + 5 * H, start + 8 * H, blank=True),
        ),
        horizon_end=start + 48 * H,
        fallback=2,
    )


@pytest.fixture
def panel() -> str:
    return new_panel_id()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, panel: str) -> FakeBroker:
    """What the agent reports is the subject here, not MQTT: a fake broker records it as it is published."""
    return install_fake_broker(monkeypatch, panel)


def wait_events(watcher: FakeBroker, name: str, count: int) -> list[PanelEvent]:
    """The first ``count`` events called ``name``, once they have all come."""

    def found() -> list[PanelEvent] | None:
        named = [event for event in list(watcher.events) if event.event == name]
        return named[:count] if len(named) >= count else None

    return wait_for(found, f"{count} {name} events")


@contextmanager
def agent_on_clocks(
    tmp_path: Path,
    panel: str,
    watcher: FakeBroker,
    key: Ed25519PrivateKey,
    *,
    ahead_s: int = 0,
) -> Iterator[tuple[PanelAgent, Clocks, int]]:
    """A started agent on clocks the test moves, online on the fake broker, stopped at the end: the
    agent, its clocks, and ``start``, the wall time (whole seconds) they read less ``ahead_s``."""
    config = load_config(write_config(tmp_path, panel, UNUSED_BROKER_URL, key))
    start = int(time.time())
    clocks = Clocks(start + ahead_s)
    agent = PanelAgent(config, clock=clocks.time, monotonic=clocks.monotonic)
    agent.start()
    try:
        watcher.wait_state(lambda s: s.online, "the agent online")
        yield agent, clocks, start
    finally:
        agent.stop()


def two_items_in_turn(start: int) -> Schedule:
    """Items 1 and 2 in turn, 5 s each, for an hour from ``start``."""
    return Schedule(
        items=(full_size_item(1), full_size_item(2)),
        segments=(Segment(start, start + H, (PlaylistEntry(0), PlaylistEntry(1))),),
        horizon_end=start + 48 * H,
    )


def test_with_the_broker_killed_the_panel_follows_its_48_hour_schedule_even_after_a_restart(
    tmp_path: Path,
    panel: str,
    fake: FakeBroker,
    signing_key: Ed25519PrivateKey,
) -> None:
    with agent_on_clocks(tmp_path, panel, fake, signing_key, ahead_s=60) as (
        agent,
        clocks,
        start,
    ):
        config = agent.config
        fake.publish(
            TOPICS.desired(panel), sealed(signing_key, panel, 1, two_days(start), start), retain=True
        )
        fake.wait_state(lambda s: (s.applied_seq, s.item_id) == (1, "item-1"), "the schedule applied")
        assert same_pixels(screen(config), picture(1))
        fake.cut()  # the broker killed

        shown_at(agent, clocks, 30 * 60, picture(1), "segment A at 0 h 31")
        shown_at(agent, clocks, 30 * 60, picture(2), "segment B at 1 h 01")
        shown_at(agent, clocks, 2 * H, picture(3), "the fallback in the gap at 3 h 01")
        shown_at(agent, clocks, 2 * H, BLACK, "quiet hours at 5 h 01")
        shown_at(agent, clocks, 3 * H, picture(3), "the fallback after the quiet hours at 8 h 01")
        shown_at(agent, clocks, 41 * H, picture(3), "the fallback after the horizon at 49 h 01")
        assert agent.applied_seq == 1

    # A reboot, the broker still down: the stored schedule is followed before any network.
    for hours, expected in ((1.5, picture(2)), (4, picture(3)), (6, BLACK), (50, picture(3))):
        screen(config).unlink()
        clocks = Clocks(start + hours * H)
        again = PanelAgent(config, clock=clocks.time, monotonic=clocks.monotonic)
        again.start()
        try:
            assert same_pixels(screen(config), expected), f"after a restart at {hours} h"
            assert again.applied_seq == 1
        finally:
            again.stop()
    clocks = Clocks(start + 20 * 60)
    again = PanelAgent(config, clock=clocks.time, monotonic=clocks.monotonic)
    again.start()
    try:
        shown_at(again, clocks, 0, picture(1), "segment A after a restart")
        shown_at(again, clocks, H, picture(2), "segment B after a restart")
    finally:
        again.stop()


@pytest.fixture
def offline_config(tmp_path: Path, panel: str, signing_key: Ed25519PrivateKey) -> AgentConfig:
    closed = f"mqtt://127.0.0.1:{free_loopback_port()}"
    path = write_config(tmp_path, panel, closed, signing_key)
    path.write_text('clock = "controller"\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    return load_config(path)


def test_with_clock_controller_a_board_in_1970_accepts_a_fresh_schedule_and_follows_it(
    offline_config: AgentConfig, panel: str, signing_key: Ed25519PrivateKey
) -> None:
    issued = int(time.time())
    clocks = Clocks(86_400.0)  # 2 January 1970: no real-time clock, no NTP
    agent = PanelAgent(offline_config, clock=clocks.time, monotonic=clocks.monotonic)
    agent.start()
    try:
        assert agent.now() == 86_400.0
        agent.handle_desired(sealed(signing_key, panel, 1, two_days(issued - 30 * 60), issued))
        assert agent.applied_seq == 1
        assert same_pixels(screen(offline_config), picture(1))  # 30 minutes into segment A
        assert agent.now() == issued

        shown_at(agent, clocks, 31 * 60, picture(2), "segment B, by the controller's time")
        assert agent.now() == issued + 31 * 60
        # NTP sets the system clock right: it is ahead of the controller's time now, so it counts.
        clocks.wall = issued + 4 * H
        shown_at(agent, clocks, 0, picture(3), "the fallback once the system clock is right")
    finally:
        agent.stop()

    # Rebooted in 1970 without a network: the stored payload's issued_at plus the uptime.
    clocks = Clocks(0.0)
    again = PanelAgent(offline_config, clock=clocks.time, monotonic=clocks.monotonic)
    again.start()
    try:
        assert same_pixels(screen(offline_config), picture(1))
        shown_at(again, clocks, 31 * 60, picture(2), "segment B after a reboot in 1970")
    finally:
        again.stop()


def test_with_the_system_clock_in_1970_the_same_schedule_has_not_begun(
    tmp_path: Path, panel: str, signing_key: Ed25519PrivateKey
) -> None:
    config = load_config(write_config(tmp_path, panel, "mqtt://127.0.0.1:1", signing_key))
    issued = int(time.time())
    agent = PanelAgent(config, clock=lambda: 86_400.0)
    agent.handle_desired(sealed(signing_key, panel, 1, two_days(issued - 30 * 60), issued))
    assert agent.applied_seq == 1
    assert same_pixels(screen(config), picture(3))  # before the first segment: the fallback


def sums_of(events: list[PanelEvent]) -> list[tuple[object, ...]]:
    """What ``play_hours`` events say: item, hour, displays, seconds, first start and last end."""
    return [
        tuple(e.details[key] for key in ("item_id", "hour", "count", "seconds", "first_start", "last_end"))
        for e in events
    ]


def test_plays_are_summed_per_item_and_hour_and_sent_once_the_hour_is_closed(
    tmp_path: Path,
    panel: str,
    fake: FakeBroker,
    signing_key: Ed25519PrivateKey,
) -> None:
    now = int(time.time())
    end = hour_of(now) + 2 * H  # an hour's end, ahead of the real clock
    s0 = end - 12
    with agent_on_clocks(tmp_path, panel, fake, signing_key, ahead_s=s0 - now) as (agent, clocks, _):
        agent._tally.delay_s = 60.0  # this panel's time after the hour, whatever its id
        # Items 1 and 2 take turns, 5 s each, from 12 s before the hour's end; then the fallback, item 3.
        schedule = Schedule(
            items=(full_size_item(1), full_size_item(2), full_size_item(3)),
            segments=(Segment(s0, s0 + H, (PlaylistEntry(0), PlaylistEntry(1))),),
            horizon_end=s0 + 48 * H,
            fallback=2,
        )
        agent.handle_desired(sealed(signing_key, panel, 1, schedule, s0))
        shown_at(agent, clocks, 5, picture(2), "item 2")
        on_air = fake.wait_event(is_event(wire.EVENT_ON_AIR, item_id="item-1"), "item 1 on air")
        assert on_air.details["at"] == s0
        shown_at(agent, clocks, 5, picture(1), "item 1 again")
        shown_at(agent, clocks, 5, picture(2), "item 2 again, past the hour")  # item 1 went across it
        shown_at(agent, clocks, 5, picture(1), "item 1 in the new hour")
        # The hour is closed, its sums wait for the panel's time after it (60 s).
        assert not [e for e in fake.events if e.event == wire.EVENT_PLAY_HOURS]
        shown_at(agent, clocks, 60, picture(1), "item 1, a minute later")
        closed = wait_events(fake, wire.EVENT_PLAY_HOURS, 2)
        hour = end - H
        assert sums_of(closed) == [
            ("item-1", hour, 2, 10.0, s0, s0 + 15),  # its second showing counts whole, to 0 h 00 min 03 s
            ("item-2", hour, 1, 5.0, s0 + 5, s0 + 10),
        ]
        hashes = {item.item_id: item.content_hash for item in schedule.items}
        assert all(e.details["content_hash"] == hashes[e.details["item_id"]] for e in closed)
        shown_at(agent, clocks, H, picture(3), "the fallback")
    # The agent stops: the open hours' sums go too. Item 1's last showing, up from 0 h 01 min 08 s to
    # the segment's end as the agent saw it, an hour later, counts in the hour it started; the
    # fallback's, cut short by the stop, in the next.
    opened = wait_events(fake, wire.EVENT_PLAY_HOURS, 5)[2:]
    assert sums_of(opened) == [
        ("item-1", end, 2, 60.0 + H, s0 + 20, s0 + 80 + H),
        ("item-2", end, 1, 5.0, s0 + 15, s0 + 20),
        ("item-3", end + H, 1, 0.0, s0 + 80 + H, s0 + 80 + H),
    ]
    on_airs = [e.details["item_id"] for e in fake.events if e.event == wire.EVENT_ON_AIR]
    assert on_airs == ["item-1", "item-2", "item-3"]


def test_sums_not_sent_are_kept_through_a_restart_and_sent_on_connection(
    tmp_path: Path,
    panel: str,
    fake: FakeBroker,
    signing_key: Ed25519PrivateKey,
) -> None:
    now = int(time.time())
    s0 = hour_of(now) + 2 * H - 30
    with agent_on_clocks(tmp_path, panel, fake, signing_key, ahead_s=s0 - now) as (agent, clocks, _):
        agent.handle_desired(sealed(signing_key, panel, 1, two_items_in_turn(s0), s0))
        fake.wait_state(lambda s: s.item_id == "item-1", "item 1 on air")
        fake.cut()  # the broker stopped: nothing goes at stop
        wait_for(lambda: not agent._connected, "the agent notices the broker is gone")
        for turn in range(3):
            shown_at(agent, clocks, 5, picture(2 if turn % 2 == 0 else 1), f"turn {turn}")
    assert not [e for e in fake.events if e.event == wire.EVENT_PLAY_HOURS]
    kept = agent.tally_store.path
    assert kept.exists()
    fake.reconnect()
    config = load_config(write_config(tmp_path, panel, UNUSED_BROKER_URL, signing_key))
    clocks = Clocks(s0 + 45)  # the agent comes back after the hour
    second = PanelAgent(config, clock=clocks.time, monotonic=clocks.monotonic)
    second.start()
    try:
        sums = wait_events(fake, wire.EVENT_PLAY_HOURS, 2)
        hour = s0 + 30 - H
        assert sums_of(sums) == [
            ("item-1", hour, 2, 10.0, s0, s0 + 15),
            ("item-2", hour, 2, 5.0, s0 + 5, s0 + 15),  # the second one cut by the stop as it began
        ]
        wait_for(lambda: kept.read_bytes() == b"[]", "the sums sent, forgotten on disk too")
    finally:
        second.stop()


def test_events_go_in_batches_and_what_a_state_told_waits_for_company_or_the_batch_time(
    tmp_path: Path,
    panel: str,
    fake: FakeBroker,
    signing_key: Ed25519PrivateKey,
) -> None:
    with agent_on_clocks(tmp_path, panel, fake, signing_key) as (agent, clocks, start):
        schedule = two_items_in_turn(start)
        agent.handle_desired(sealed(signing_key, panel, 1, schedule, start))
        # The state says it at once; the schedule's on_air and displayed wait.
        fake.wait_state(lambda s: (s.applied_seq, s.item_id) == (1, "item-1"), "item 1's state")
        # Item 2 goes on air, the first time, with no state to say it: urgent, and the schedule's
        # events go with it.
        for turn in range(3):
            shown_at(agent, clocks, 5, picture(2 if turn % 2 == 0 else 1), f"turn {turn}")
        first = wait_for(lambda: next(iter(fake.batches), None), "item 2 on air")
        assert [(e.event, e.details.get("item_id")) for e in first] == [
            (wire.EVENT_ON_AIR, "item-1"),
            (wire.EVENT_DISPLAYED, "item-1"),
            (wire.EVENT_ON_AIR, "item-2"),
        ]
        # A command's acknowledgement goes at once.
        fake.publish(TOPICS.cmd(panel), command(signing_key, panel, 1, wire.COMMAND_SCREENSHOT))
        ack = wait_for(
            lambda: next((b for b in fake.batches if b[-1].event == wire.EVENT_ACK), None), "the ack"
        )
        assert [e.event for e in ack] == [wire.EVENT_ACK]
        # Alone, what a state told goes once the oldest has waited the panel's batch time: a minute
        # here (each panel's own time is tested apart). Item 1 alone: no other item comes on air.
        agent.batch_s = BATCH_S
        alone = Schedule(
            items=(full_size_item(1),),
            segments=(Segment(start, start + H, (PlaylistEntry(0),)),),
            horizon_end=start + 48 * H,
        )
        agent.handle_desired(sealed(signing_key, panel, 2, alone, start + 15))
        fake.wait_state(lambda s: (s.applied_seq, s.item_id) == (2, "item-1"), "seq 2's state")
        shown_at(agent, clocks, 5, picture(1), "item 1")
        assert not [e for e in fake.events if e.event == wire.EVENT_DISPLAYED and e.details["seq"] == 2]
        shown_at(agent, clocks, BATCH_S, picture(1), "item 1, a minute later")
        late = fake.wait_event(is_event(wire.EVENT_DISPLAYED, seq=2), "seq 2's display, after the batch time")
        assert late.at == start + 15


def test_each_panel_has_its_own_batch_time_so_a_department_does_not_report_in_one_second() -> None:
    times = [batch_seconds(f"sim-{n:04d}") for n in range(1000)]
    # The same at every start of the agent, whatever the process (Python's own hash() of a string is not).
    assert batch_seconds("bourg-entree-nord") == pytest.approx(68.50177218904719)
    assert 0.75 * BATCH_S <= min(times) < 0.76 * BATCH_S and 1.24 * BATCH_S < max(times) <= 1.25 * BATCH_S
    # A thousand panels that took an alert at once: no more than a few dozen report in any one second.
    assert max(Counter(int(t) for t in times).values()) < 60


def test_events_wait_offline_in_a_bounded_queue_and_the_drops_are_reported(
    tmp_path: Path,
    panel: str,
    fake: FakeBroker,
    signing_key: Ed25519PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batching, "MAX_PENDING_EVENTS", 1)
    with agent_on_clocks(tmp_path, panel, fake, signing_key) as (agent, clocks, start):
        schedule = two_items_in_turn(start)
        agent.handle_desired(sealed(signing_key, panel, 1, schedule, start))
        fake.wait_state(lambda s: s.item_id == "item-1", "item 1 on air")
        fake.cut()  # the broker stopped
        # Until the agent sees the loss, paho (not the bounded queue) would take the events.
        wait_for(lambda: not agent._connected, "the agent notices the broker is gone")
        # After the schedule's on_air and displayed, still waiting for the batch: item 2's on_air; the
        # queue keeps the last one. The plays are summed apart (their hour is open: nothing to send).
        for turn in range(6):
            shown_at(agent, clocks, 5, picture(2 if turn % 2 == 0 else 1), f"turn {turn}")
        fake.reconnect()  # the broker back
        dropped = fake.wait_event(is_event(wire.EVENT_EVENTS_DROPPED), "the drop report")
        assert dropped.details["count"] == 2
        kept = fake.wait_event(is_event(wire.EVENT_ON_AIR), "the event kept")
        assert kept.details["item_id"] == "item-2"
        assert not [e for e in fake.events if e.event in (wire.EVENT_DISPLAYED, wire.EVENT_PLAY_HOURS)]
