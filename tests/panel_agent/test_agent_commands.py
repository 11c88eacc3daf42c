"""A technician's commands on a panel: overrides that show and end by themselves, held brightness,
acknowledgements with the reason, and the rotation's heartbeat for the watchdog."""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from panel_agent.agent import PanelAgent
from panel_agent.config import AgentConfig, load_config
from panel_agent.field_test import PATTERNS
from relais import wire
from tests.support import wait_for
from tests.support.agents import (
    HEIGHT,
    TOPICS,
    TWO_DAYS_S,
    UNUSED_BROKER_URL,
    WIDTH,
    Clocks,
    FakeBroker,
    RecordingBackend,
    desired,
    desired_pages,
    install_fake_broker,
    is_event,
    new_panel_id,
    page,
    picture,
    pixels,
    write_config,
)

BLACK = Image.new("RGB", (WIDTH, HEIGHT), "black")
WHITE = Image.new("RGB", (WIDTH, HEIGHT), "white")


def command(
    key: Ed25519PrivateKey, panel_id: str, seq: int, name: Any, args: Any = None, *, issued_at: int
) -> bytes:
    """A sealed command with whatever content a test needs, good or bad (``args`` left out when None)."""
    content: dict[str, Any] = {"command": name}
    if args is not None:
        content["args"] = args
    return wire.seal(
        key,
        kind=wire.KIND_COMMAND,
        panel_id=panel_id,
        seq=seq,
        issued_at=issued_at,
        expires_at=issued_at + 300,
        content=content,
    )


@dataclasses.dataclass
class Bench:
    """A started agent on a recording backend and still-standing clocks, watched through a fake broker."""

    agent: PanelAgent
    recorder: RecordingBackend
    clocks: Clocks
    fake: FakeBroker
    key: Ed25519PrivateKey
    start: int
    command_seq: int = 0

    @property
    def panel_id(self) -> str:
        return self.agent.panel_id

    def send(self, name: Any, args: Any = None) -> wire.PanelEvent:
        """Hand a command to the agent and read its acknowledgement from what it published."""
        self.command_seq += 1
        seq = self.command_seq
        self.agent.handle_command(command(self.key, self.panel_id, seq, name, args, issued_at=self.start))
        return self.fake.wait_event(is_event(wire.EVENT_ACK, seq=seq), f"the ack of command {seq}")

    def advance(self, seconds: float) -> None:
        """Move both clocks and let the rotation take its turn."""
        self.clocks.advance(seconds)
        self.agent.wake()

    def settle(self) -> None:
        """Give the rotation a moment to act, for assertions that nothing changed."""
        time.sleep(0.2)


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_key: Ed25519PrivateKey) -> Iterator[Bench]:
    panel_id = new_panel_id()
    config = load_config(write_config(tmp_path, panel_id, UNUSED_BROKER_URL, signing_key))
    fake = install_fake_broker(monkeypatch, panel_id)
    recorder = RecordingBackend({}, panel_id=panel_id)
    start = int(time.time())
    clocks = Clocks(start)
    agent = PanelAgent(config, backend=recorder, clock=clocks.time, monotonic=clocks.monotonic)
    agent.start()
    try:
        fake.wait_state(lambda s: s.online, "the agent online")
        agent.handle_desired(desired(signing_key, panel_id, 1, picture(1), issued_at=start))
        assert recorder.shown() == [pixels(picture(1))]
        yield Bench(agent, recorder, clocks, fake, signing_key, start)
    finally:
        agent.stop()


def latest_state(bench: Bench, predicate: Callable[[wire.PanelState], bool]) -> wire.PanelState | None:
    """The last state the panel published, if it matches: earlier matching ones do not count."""
    states = list(bench.fake.states)
    return states[-1] if states and predicate(states[-1]) else None


def shows(bench: Bench, image: Image.Image, what: str) -> None:
    wait_for(lambda: bench.recorder.shown()[-1] == pixels(image), what, timeout=3)


def test_blank_shows_black_for_its_seconds_then_the_schedule_again(bench: Bench) -> None:
    ack = bench.send("blank", {"seconds": 5})
    assert ack.details == {"command": "blank", "seq": 1, "ok": True}
    assert bench.recorder.shown()[-1] == pixels(BLACK)
    state = bench.agent.current_state()
    assert (state.item_id, state.applied_seq) == (None, 1)  # nothing on air, the schedule still in force
    assert state.screenshot_png == wire.Frame.from_image(BLACK).png_bytes()
    # Off the air: the item's showing ends when the blank begins, counted in its hour's sum.
    assert bench.agent._showing_since() is None
    (counted,) = bench.agent._tally.take(bench.agent.now(), None, open_hours=True)
    assert (counted["item_id"], counted["count"]) == ("item-1", 1)

    bench.advance(4.9)
    bench.settle()
    assert bench.recorder.shown() == [pixels(picture(1)), pixels(BLACK)]
    bench.advance(0.1)
    shows(bench, picture(1), "the schedule after the blank")
    assert bench.agent.current_state().item_id == "item-1"


def test_the_screenshot_is_the_page_up_now_in_its_flash_phase(bench: Bench) -> None:
    first, second, flash, third = picture(21), picture(22), picture(23), picture(24)
    pages = (page(first, 4000), page(second, 4000, flash, 1000), page(third, 4000))
    bench.agent.handle_desired(desired_pages(bench.key, bench.panel_id, 2, pages, issued_at=bench.start))
    assert bench.send("screenshot").details["ok"]
    assert bench.fake.states[-1].screenshot_png == wire.Frame.from_image(first).png_bytes()

    bench.advance(4.5)  # page 2, its frame
    shows(bench, second, "page 2")
    assert bench.send("screenshot").details["ok"]
    assert bench.fake.states[-1].screenshot_png == wire.Frame.from_image(second).png_bytes()
    # A state names the frame up rather than sending it: page 2's too.
    assert bench.agent.current_state().screenshot_frame == wire.Frame.from_image(second).content_hash

    bench.advance(1.0)  # page 2, its flash frame
    shows(bench, flash, "page 2 flashing")
    assert bench.send("screenshot").details["ok"]
    assert bench.fake.states[-1].screenshot_png == wire.Frame.from_image(flash).png_bytes()


def test_an_override_ends_by_itself_on_the_real_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_key: Ed25519PrivateKey
) -> None:
    panel_id = new_panel_id()
    config = load_config(write_config(tmp_path, panel_id, UNUSED_BROKER_URL, signing_key))
    install_fake_broker(monkeypatch, panel_id)
    recorder = RecordingBackend({}, panel_id=panel_id)
    agent = PanelAgent(config, backend=recorder)
    agent.start()
    try:
        now = int(time.time())
        agent.handle_desired(desired(signing_key, panel_id, 1, picture(1), issued_at=now))
        began = time.monotonic()
        agent.handle_command(command(signing_key, panel_id, 1, "blank", {"seconds": 1}, issued_at=now))
        assert recorder.shown()[-1] == pixels(BLACK)
        wait_for(lambda: recorder.shown()[-1] == pixels(picture(1)), "the schedule again", timeout=3)
        assert 1.0 <= recorder.times()[-1] - began < 1.5
    finally:
        agent.stop()


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_test_pattern_shows_for_its_seconds(bench: Bench, pattern: str) -> None:
    expected = PATTERNS[pattern](WIDTH, HEIGHT)
    assert bench.send("test_pattern", {"pattern": pattern, "seconds": 60}).details["ok"]
    assert bench.recorder.shown()[-1] == pixels(expected)
    # The controller sees the pattern, not the schedule's item.
    state = wait_for(lambda: latest_state(bench, lambda s: s.item_id is None), "the state during the pattern")
    assert state.screenshot_png is not None
    with Image.open(io.BytesIO(state.screenshot_png)) as shot:
        assert pixels(shot) == pixels(expected)

    bench.advance(60)
    shows(bench, picture(1), "the schedule after the pattern")
    wait_for(lambda: latest_state(bench, lambda s: s.item_id == "item-1"), "the state back on the schedule")


def test_identify_flashes_white_and_black_at_1_hz_then_stops(bench: Bench) -> None:
    assert bench.send("identify", {"seconds": 2}).details["ok"]
    for displays in (3, 4, 5):  # the schedule's frame, white, then one more at each half second
        bench.advance(0.5)
        wait_for(lambda n=displays: len(bench.recorder.shown()) == n, "the next flash", timeout=3)
    bench.advance(0.5)
    shows(bench, picture(1), "the schedule after identify")
    assert bench.recorder.shown() == [pixels(picture(1))] + [pixels(WHITE), pixels(BLACK)] * 2 + [
        pixels(picture(1))
    ]


def test_the_brightness_command_holds_until_the_schedule_changes_level(
    bench: Bench, signing_key: Ed25519PrivateKey
) -> None:
    start = bench.start
    item = wire.DisplayItem("item-2", "Avis 2", (page(picture(2), 5000),))
    schedule = dataclasses.replace(
        wire.Schedule.single(item, start=start, horizon_end=start + TWO_DAYS_S),
        brightness=(wire.BrightnessStep(start + 10, start + 20, 30),),
    )
    payload = wire.seal_schedule(
        signing_key, schedule, panel_id=bench.panel_id, seq=2, issued_at=start, expires_at=start + TWO_DAYS_S
    )
    bench.agent.handle_desired(payload)
    assert bench.recorder.levels() == [100]

    assert bench.send("brightness", {"level": 60}).details["ok"]
    assert bench.recorder.levels() == [100, 60]
    assert bench.agent.current_state().brightness == 60
    bench.advance(9)
    bench.settle()
    assert bench.recorder.levels() == [100, 60]
    bench.advance(1)  # the schedule's step to 30 %: the schedule has the say again
    wait_for(lambda: bench.recorder.levels() == [100, 60, 30], "the step after the held level", timeout=3)

    bench.advance(2)
    bench.send("brightness", {"level": 80})
    bench.send("refresh")  # back to the schedule, brightness included
    assert bench.recorder.levels() == [100, 60, 30, 80, 30]

    bench.send("brightness", {"level": 5})
    bench.agent.handle_desired(desired(signing_key, bench.panel_id, 3, picture(3), issued_at=start))
    assert bench.recorder.levels()[-2:] == [5, 100]  # a new schedule has its own level
    bench.send("brightness", {"level": 5})  # without steps: held until the next schedule
    bench.advance(3600)
    bench.settle()
    assert bench.recorder.levels()[-1] == 5


def test_a_new_schedule_another_override_or_refresh_replaces_an_override(
    bench: Bench, signing_key: Ed25519PrivateKey
) -> None:
    retained = desired(signing_key, bench.panel_id, 2, picture(2), issued_at=bench.start)
    bench.agent.handle_desired(retained)
    bench.send("blank", {"seconds": 600})
    bench.agent.handle_desired(retained)  # a redelivery after a reconnection: the blank stays
    assert bench.recorder.shown()[-1] == pixels(BLACK)
    bench.send("test_pattern", {"pattern": "border", "seconds": 600})
    assert bench.recorder.shown()[-1] == pixels(PATTERNS["border"](WIDTH, HEIGHT))

    bench.send("refresh")
    assert bench.recorder.shown()[-1] == pixels(picture(2))
    bench.send("identify", {"seconds": 600})
    assert bench.recorder.shown()[-1] == pixels(WHITE)
    bench.agent.handle_desired(desired(signing_key, bench.panel_id, 3, picture(3), issued_at=bench.start))
    assert bench.recorder.shown()[-1] == pixels(picture(3))
    bench.advance(0.5)
    bench.settle()
    assert bench.recorder.shown()[-1] == pixels(picture(3))  # no flash left behind


BAD_COMMANDS: list[tuple[Any, Any, str, str]] = [
    ("reboot", None, "unknown-command", "command"),
    (42, None, "unknown-command", "command"),
    ("refresh", {"force": True}, "bad-args", "args.force"),
    ("brightness", None, "bad-args", "args.level"),
    ("brightness", {"level": 0}, "bad-args", "args.level"),
    ("brightness", {"level": 101}, "bad-args", "args.level"),
    ("brightness", {"level": "50"}, "bad-args", "args.level"),
    ("brightness", {"level": 50.0}, "bad-args", "args.level"),
    ("brightness", {"level": True}, "bad-args", "args.level"),
    ("brightness", {"level": 50, "fade_s": 2}, "bad-args", "args.fade_s"),
    ("blank", [30], "bad-args", "args"),
    ("blank", {"seconds": 0}, "bad-args", "args.seconds"),
    ("blank", {"seconds": 3601}, "bad-args", "args.seconds"),
    ("test_pattern", {"pattern": "plaid", "seconds": 5}, "bad-args", "args.pattern"),
    ("test_pattern", {"pattern": "border"}, "bad-args", "args.seconds"),
    ("identify", {"seconds": 10**30}, "bad-args", "args.seconds"),
]


def test_bad_commands_are_acknowledged_with_the_reason_and_change_nothing(bench: Bench) -> None:
    levels = bench.recorder.levels()
    for name, args, reason, field in BAD_COMMANDS:
        ack = bench.send(name, args)
        assert ack.details["ok"] is False, (name, args)
        assert (ack.details["reason"], ack.details["field"]) == (reason, field), (name, args)
        assert ack.details["command"] == name and ack.details["detail"].startswith(f"{field}: ")
    bench.settle()
    assert bench.recorder.shown() == [pixels(picture(1))]
    assert bench.recorder.levels() == levels
    assert bench.agent.applied_seq == 1
    assert bench.send("screenshot").details == {
        "command": "screenshot",
        "seq": len(BAD_COMMANDS) + 1,
        "ok": True,
    }


def test_a_failing_backend_is_acknowledged_not_raised(bench: Bench) -> None:
    bench.recorder.failures = 1
    ack = bench.send("blank", {"seconds": 30})
    assert (ack.details["ok"], ack.details["reason"]) == (False, "display-failed")
    bench.advance(1)
    bench.settle()
    assert bench.recorder.shown()[-1] == pixels(picture(1))  # no override was started


class GatedBackend(RecordingBackend):
    """A panel whose display() hangs while ``hang`` is set, like an e-paper panel stuck busy."""

    def __init__(self, settings: Mapping[str, Any], *, panel_id: str) -> None:
        super().__init__(settings, panel_id=panel_id)
        self.hang = threading.Event()
        self.hanging = threading.Event()
        self.release = threading.Event()

    def display(self, image: Image.Image) -> None:
        if self.hang.is_set():
            self.hanging.set()
            self.release.wait(10)
        super().display(image)


def test_the_rotation_heartbeat_moves_with_each_turn_and_reads_while_a_display_hangs(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    panel_id = new_panel_id()
    config: AgentConfig = load_config(write_config(tmp_path, panel_id, "mqtt://127.0.0.1:1", signing_key))
    backend = GatedBackend({}, panel_id=panel_id)
    clocks = Clocks(int(time.time()))
    agent = PanelAgent(config, backend=backend, clock=clocks.time, monotonic=clocks.monotonic)
    assert agent.rotation_heartbeat() == clocks.monotonic()  # not started: the time it was made
    agent.start()
    try:
        clocks.advance(7)
        agent.wake()
        wait_for(lambda: agent.rotation_heartbeat() == clocks.monotonic(), "a turn with nothing to show")

        backend.hang.set()
        payload = desired(signing_key, panel_id, 1, picture(1), issued_at=int(clocks.time()))
        stuck = threading.Thread(target=agent.handle_desired, args=(payload,))
        stuck.start()
        wait_for(backend.hanging.is_set, "the display hanging")
        clocks.advance(100)
        began = time.monotonic()
        assert agent.rotation_heartbeat() == clocks.monotonic() - 100  # stale, and read at once
        assert time.monotonic() - began < 0.1
        backend.release.set()
        stuck.join(5)
        wait_for(lambda: agent.rotation_heartbeat() == clocks.monotonic(), "the rotation turning again")
    finally:
        backend.release.set()
        agent.stop()


def test_commands_name_their_arguments_on_the_wire() -> None:
    command = wire.Command.from_content(
        {"command": "test_pattern", "args": {"pattern": "full", "seconds": 5}}, patterns=PATTERNS
    )
    assert command.to_content() == {"command": "test_pattern", "args": {"pattern": "full", "seconds": 5}}
    # Older controllers sent no args: still accepted, and no-argument commands are sealed as before.
    assert wire.Command.from_content({"command": "refresh"}, patterns=PATTERNS).to_content() == {
        "command": "refresh"
    }
    assert set(wire.COMMAND_ARGS) == {
        "refresh",
        "screenshot",
        "brightness",
        "blank",
        "test_pattern",
        "identify",
    }


def test_a_captured_command_is_refused_after_the_agent_restarts_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_key: Ed25519PrivateKey
) -> None:
    """The agent is cut off (as by a power cut) after a command and started again: the same command,
    captured on the wire and sent again while still valid, is refused as a replay."""
    panel_id = new_panel_id()
    config = load_config(write_config(tmp_path, panel_id, UNUSED_BROKER_URL, signing_key))
    fake = install_fake_broker(monkeypatch, panel_id)
    captured = command(signing_key, panel_id, 5, "refresh", issued_at=int(time.time()))
    first = PanelAgent(config)
    first.start()
    restarted: PanelAgent | None = None
    try:
        fake.wait_state(lambda s: s.online, "the agent online")
        fake.publish(TOPICS.cmd(panel_id), captured)
        fake.wait_event(is_event(wire.EVENT_ACK, command="refresh", seq=5, ok=True), "the refresh ack")
        fake.power_cut()  # no goodbye, nothing more written to disk
        fake.states.clear()

        restarted = PanelAgent(config)
        restarted.start()
        fake.wait_state(lambda s: s.online, "the restarted agent online")
        fake.publish(TOPICS.cmd(panel_id), captured)
        refused = fake.wait_event(is_event(wire.EVENT_REFUSED, reason="replayed"), "the replay refused")
        assert refused.details["topic"] == TOPICS.cmd(panel_id)
        fake.publish(
            TOPICS.cmd(panel_id), command(signing_key, panel_id, 6, "refresh", issued_at=int(time.time()))
        )
        fake.wait_event(is_event(wire.EVENT_ACK, command="refresh", seq=6, ok=True), "the next command's ack")
        assert [e.details["seq"] for e in fake.events if e.event == wire.EVENT_ACK] == [5, 6]
    finally:
        first.stop()
        if restarted is not None:
            restarted.stop()
