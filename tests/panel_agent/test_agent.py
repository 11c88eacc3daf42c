"""The panel agent: what it shows, refuses and reports (on a fake broker), how it says goodbye (on Mosquitto)."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from panel_agent.agent import PanelAgent
from panel_agent.backends import create_backend
from panel_agent.backends.simulated import SimulatedBackend
from panel_agent.config import AgentConfig, load_config
from panel_agent.store import PayloadStore
from relais import __version__, wire
from relais.brokers.mosquitto import MosquittoBroker, free_loopback_port
from tests.support import REPO, same_pixels, wait_for
from tests.support.agents import (
    HEIGHT,
    TIMEOUT_S,
    TOPICS,
    TWO_DAYS_S,
    UNUSED_BROKER_URL,
    WIDTH,
    Clocks,
    FakeBroker,
    RecordingBackend,
    Watcher,
    command,
    desired,
    desired_pages,
    end_process,
    install_fake_broker,
    is_event,
    new_panel_id,
    page,
    picture,
    pixels,
    screen,
    start_process,
    write_config,
)


def first_item(payload: bytes, key: Ed25519PrivateKey) -> wire.DisplayItem:
    return wire.unseal(payload, key.public_key()).desired_schedule().items[0]


@pytest.fixture
def panel_id() -> str:
    return new_panel_id()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, panel_id: str) -> FakeBroker:
    """The agent's own logic is the subject: its messages go through a fake broker, in the test's thread."""
    return install_fake_broker(monkeypatch, panel_id)


@pytest.fixture
def config(tmp_path: Path, panel_id: str, fake: FakeBroker, signing_key: Ed25519PrivateKey) -> AgentConfig:
    return load_config(write_config(tmp_path, panel_id, UNUSED_BROKER_URL, signing_key))


@pytest.fixture
def real_watcher(broker: MosquittoBroker, panel_id: str) -> Iterator[Watcher]:
    """The transport is the subject (the last will, a clean stop): the real Mosquitto."""
    watching = Watcher(broker, panel_id)
    yield watching
    watching.close()


@pytest.fixture
def agent(config: AgentConfig, fake: FakeBroker) -> Iterator[PanelAgent]:
    """A started agent that the (fake) broker has seen come online."""
    running = PanelAgent(config)
    running.start()
    try:
        fake.wait_state(lambda s: s.online, "the agent's online state")
        yield running
    finally:
        running.stop()


@pytest.fixture
def recorder() -> RecordingBackend:
    return RecordingBackend({}, panel_id="recording")


class AlignedClock:
    """Real time, shifted by ``align()`` to read a whole second at once, the start of a schedule.

    Schedules start on whole seconds and pages turn from their start: a test that aligns the clock
    just before applying a schedule that starts at that second sees its first page for its whole dwell.
    """

    def __init__(self) -> None:
        self.align()

    def align(self) -> int:
        """Make the clock read a whole second now, and return it."""
        self._start, self._origin = int(time.time()), time.monotonic()
        return self._start

    def __call__(self) -> float:
        return self._start + time.monotonic() - self._origin


@pytest.fixture
def aligned() -> AlignedClock:
    return AlignedClock()


@pytest.fixture
def recorded_agent(
    config: AgentConfig, recorder: RecordingBackend, aligned: AlignedClock
) -> Iterator[PanelAgent]:
    """A started agent on a recording backend and an aligned clock; tests hand it payloads directly."""
    running = PanelAgent(config, backend=recorder, clock=aligned)
    running.start()
    try:
        yield running
    finally:
        running.stop()


# --- in process, on the fake broker -----------------------------------------------------------------


def test_a_genuine_retained_payload_is_shown_kept_and_reported(
    agent: PanelAgent, config: AgentConfig, fake: FakeBroker, signing_key: Ed25519PrivateKey
) -> None:
    image = picture(1)
    payload = desired(signing_key, config.panel_id, 1, image)
    fake.publish(TOPICS.desired(config.panel_id), payload, retain=True)

    wait_for(lambda: same_pixels(screen(config), image), "the frame on the simulated panel")
    frame = wire.Frame.from_image(image)
    item_hash = first_item(payload, signing_key).content_hash
    state = fake.wait_state(lambda s: s.applied_seq == 1, "the state after the display")
    assert state.online
    assert (state.item_id, state.content_hash) == ("item-1", item_hash)
    assert state.agent_version == __version__
    # The screenshot is a frame of the schedule: named, the controller has it.
    assert (state.screenshot_frame, state.screenshot_png) == (frame.content_hash, None)
    assert agent.store.path.read_bytes() == payload
    # The state told it: the display event is for the history, it waits for the panel's batch.
    assert not [e for e in fake.events if e.event == wire.EVENT_DISPLAYED]
    agent.batch_s = 0.5
    agent.wake()
    fake.wait_event(
        is_event(wire.EVENT_DISPLAYED, item_id="item-1", content_hash=item_hash, seq=1),
        "the displayed event",
    )


def test_a_restarted_agent_shows_its_stored_content_and_ignores_the_retained_copy(
    config: AgentConfig, fake: FakeBroker, signing_key: Ed25519PrivateKey
) -> None:
    image = picture(4)
    fake.publish(
        TOPICS.desired(config.panel_id), desired(signing_key, config.panel_id, 4, image), retain=True
    )
    first = PanelAgent(config)
    first.start()
    try:
        fake.wait_state(lambda s: s.applied_seq == 4, "the first display")
    finally:
        first.stop()
    fake.wait_state(lambda s: not s.online, "the offline state of a clean stop")
    screen(config).unlink()

    second = PanelAgent(config)
    second.start()
    try:
        assert same_pixels(screen(config), image)  # before any network traffic
        fake.wait_state(lambda s: s.online and s.applied_seq == 4, "the restarted agent online")
        # The broker redelivered the retained payload on subscribe, before this command: once the
        # command is acknowledged, the redelivery has been handled, neither refused nor applied again.
        fake.publish(TOPICS.cmd(config.panel_id), command(signing_key, config.panel_id, 1, "screenshot"))
        fake.wait_event(is_event(wire.EVENT_ACK, seq=1), "the ack")
        replies = (wire.EVENT_DISPLAYED, wire.EVENT_REFUSED, wire.EVENT_ACK)
        assert [e.event for e in fake.events if e.event in replies] == [
            wire.EVENT_DISPLAYED,
            wire.EVENT_ACK,
        ]
        # Proof of play: each agent put item 4 on air under the schedule it applied, the first one
        # sent its hour's sum when it stopped (the second sends it again, grown, once the hour is over).
        proofs = [(e.event, e.details["item_id"]) for e in fake.events if e.event not in replies]
        assert proofs[:3] == [
            (wire.EVENT_ON_AIR, "item-4"),
            (wire.EVENT_PLAY_HOURS, "item-4"),
            (wire.EVENT_ON_AIR, "item-4"),
        ]
    finally:
        second.stop()


def tampered(payload: bytes) -> bytes:
    return payload.replace(b'"item_id":"item-6"', b'"item_id":"item-666"')


BAD_PAYLOADS: dict[str, Callable[[Ed25519PrivateKey, str], bytes]] = {
    "bad-signature": lambda key, panel: tampered(desired(key, panel, 6, picture(6))),
    "replayed": lambda key, panel: desired(key, panel, 3, picture(3)),
    "expired": lambda key, panel: desired(
        key, panel, 6, picture(6), issued_at=int(time.time()) - 120, ttl=60
    ),
    "wrong-panel": lambda key, panel: desired(key, "another-panel", 6, picture(6)),
    "wrong-size": lambda key, panel: desired(key, panel, 6, Image.new("RGB", (WIDTH, HEIGHT + 1))),
    "malformed": lambda key, panel: b"{not json",
}


@pytest.mark.parametrize("reason", BAD_PAYLOADS)
def test_a_bad_payload_is_refused_and_the_panel_keeps_its_content(
    agent: PanelAgent,
    config: AgentConfig,
    fake: FakeBroker,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
    reason: str,
) -> None:
    good = picture(5)
    topic = TOPICS.desired(config.panel_id)
    fake.publish(topic, desired(signing_key, config.panel_id, 5, good), retain=True)
    fake.wait_state(lambda s: s.applied_seq == 5, "the good display")
    stored = agent.store.path.read_bytes()
    png = screen(config).read_bytes()

    fake.publish(topic, BAD_PAYLOADS[reason](signing_key, config.panel_id), retain=True)
    event = fake.wait_event(is_event(wire.EVENT_REFUSED, reason=reason), f"a {reason} refusal")
    assert event.details["topic"] == topic
    assert event.details["detail"]
    assert f"refused desired payload for {config.panel_id}: {reason}: " in caplog.text
    assert agent.applied_seq == 5
    assert screen(config).read_bytes() == png
    assert same_pixels(screen(config), good)
    assert agent.store.path.read_bytes() == stored


def test_the_pages_of_an_item_take_turns_on_the_panel(
    agent: PanelAgent, config: AgentConfig, fake: FakeBroker, signing_key: Ed25519PrivateKey
) -> None:
    first, second = picture(11), picture(12)
    payload = desired_pages(signing_key, config.panel_id, 1, (page(first, 600), page(second, 600)))
    fake.publish(TOPICS.desired(config.panel_id), payload, retain=True)

    wait_for(lambda: same_pixels(screen(config), first), "page 1", timeout=3)
    wait_for(lambda: same_pixels(screen(config), second), "page 2", timeout=3)
    wait_for(lambda: same_pixels(screen(config), first), "page 1 again", timeout=3)
    item_hash = first_item(payload, signing_key).content_hash
    fake.wait_state(lambda s: (s.applied_seq, s.content_hash) == (1, item_hash), "the state of the display")


def test_a_single_page_is_displayed_exactly_once(
    recorded_agent: PanelAgent,
    recorder: RecordingBackend,
    config: AgentConfig,
    signing_key: Ed25519PrivateKey,
) -> None:
    recorded_agent.handle_desired(desired_pages(signing_key, config.panel_id, 1, (page(picture(1), 500),)))
    time.sleep(1.0)
    assert recorder.shown() == [pixels(picture(1))]


def test_a_flashing_page_alternates_its_two_frames(
    recorded_agent: PanelAgent,
    recorder: RecordingBackend,
    aligned: AlignedClock,
    config: AgentConfig,
    signing_key: Ed25519PrivateKey,
) -> None:
    steady, flash = picture(1), picture(2)
    pages = (page(steady, 5000, flash=flash, flash_ms=200),)
    payload = desired_pages(signing_key, config.panel_id, 1, pages, issued_at=aligned.align())
    recorded_agent.handle_desired(payload)

    wait_for(lambda: len(recorder.shown()) >= 5, "five displays", timeout=3)
    assert recorder.shown()[:5] == [pixels(steady), pixels(flash)] * 2 + [pixels(steady)]
    times = recorder.times()
    assert 0.75 <= times[4] - times[0] < 1.5  # every 200 ms


def test_a_new_schedule_takes_over_at_once_at_the_page_it_says_is_due(
    config: AgentConfig, recorder: RecordingBackend, signing_key: Ed25519PrivateKey
) -> None:
    start = int(time.time())
    clocks = Clocks(start)
    agent = PanelAgent(config, backend=recorder, clock=clocks.time, monotonic=clocks.monotonic)
    agent.start()
    try:
        old = (page(picture(1), 500), page(picture(2), 500))
        agent.handle_desired(desired_pages(signing_key, config.panel_id, 1, old, issued_at=start))
        clocks.advance(0.5)
        agent.wake()
        wait_for(lambda: len(recorder.shown()) == 2, "the old item's page 2", timeout=3)

        # Pages turn from the schedule's start, the same on every panel: 0.7 s in, page 2 is due.
        clocks.advance(0.2)
        new = (page(picture(3), 500), page(picture(4), 500))
        agent.handle_desired(desired_pages(signing_key, config.panel_id, 2, new, issued_at=start))
        assert recorder.shown()[-1] == pixels(picture(4))  # at once, not at the old item's next change
        clocks.advance(0.3)
        agent.wake()
        wait_for(lambda: len(recorder.shown()) == 4, "the new item's page 1", timeout=3)
        assert recorder.shown()[-1] == pixels(picture(3))
    finally:
        agent.stop()


def test_a_failed_display_in_the_rotation_is_logged_and_the_rotation_goes_on(
    recorded_agent: PanelAgent,
    recorder: RecordingBackend,
    aligned: AlignedClock,
    config: AgentConfig,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="panel_agent.agent")
    pages = (page(picture(1), 500), page(picture(2), 500))
    recorded_agent.handle_desired(
        desired_pages(signing_key, config.panel_id, 1, pages, issued_at=aligned.align())
    )
    recorder.failures = 1  # page 2

    wait_for(lambda: len(recorder.shown()) == 2, "page 1 after the failed page 2", timeout=3)
    assert recorder.shown() == [pixels(picture(1))] * 2
    # Reported once when it starts, once when the panel works again; the rotation went on.
    assert caplog.text.count("panel fault:") == 1
    assert "the panel works again" in caplog.text
    assert recorded_agent.current_state().faults == ()


def test_a_lasting_fault_is_in_the_state_until_the_panel_answers_again(
    recorded_agent: PanelAgent,
    recorder: RecordingBackend,
    config: AgentConfig,
    signing_key: Ed25519PrivateKey,
) -> None:
    recorded_agent.handle_desired(desired(signing_key, config.panel_id, 1, picture(1)))
    recorder.failures = 1_000_000
    recorded_agent.handle_command(command(signing_key, config.panel_id, 2, "refresh"))
    state = recorded_agent.current_state()
    assert len(state.faults) == 1 and state.faults[0].startswith("OSError")
    assert state.disk_free_mb is not None and state.disk_free_mb > 0
    recorder.failures = 0
    recorded_agent.handle_command(command(signing_key, config.panel_id, 3, "refresh"))
    assert recorded_agent.current_state().faults == ()


def test_the_rotation_follows_the_injected_clock_without_replaying_missed_pages(
    config: AgentConfig, recorder: RecordingBackend, signing_key: Ed25519PrivateKey
) -> None:
    start = int(time.time())
    clocks = Clocks(start)
    agent = PanelAgent(config, backend=recorder, clock=clocks.time, monotonic=clocks.monotonic)
    agent.start()
    try:
        pages = (page(picture(1), 500), page(picture(2), 500))
        agent.handle_desired(desired_pages(signing_key, config.panel_id, 1, pages, issued_at=start))
        time.sleep(0.6)  # longer than the dwell, but the agent's clock stands still
        assert recorder.shown() == [pixels(picture(1))]

        clocks.advance(24 * 3600 + 0.6)  # a day on (a suspended board): page 2 is up, without a wake()
        wait_for(lambda: len(recorder.shown()) == 2, "page 2", timeout=3)
        assert recorder.shown() == [pixels(picture(1)), pixels(picture(2))]
    finally:
        agent.stop()


def test_the_brightness_changes_at_its_steps_once_per_level_and_survives_a_restart(
    config: AgentConfig, recorder: RecordingBackend, signing_key: Ed25519PrivateKey
) -> None:
    start = int(time.time())
    clocks = Clocks(start)
    item = wire.DisplayItem("item-1", "Avis 1", (page(picture(1), 5000),))
    schedule = dataclasses.replace(
        wire.Schedule.single(item, start=start, horizon_end=start + TWO_DAYS_S),
        brightness=(
            wire.BrightnessStep(start + 1, start + 2, 30),
            wire.BrightnessStep(start + 2, start + 3, 30),  # the same level: nothing to do
            wire.BrightnessStep(start + 3, start + 4, 100),
        ),
    )
    payload = wire.seal_schedule(
        signing_key, schedule, panel_id=config.panel_id, seq=1, issued_at=start, expires_at=start + TWO_DAYS_S
    )
    agent = PanelAgent(config, backend=recorder, clock=clocks.time, monotonic=clocks.monotonic)
    agent.start()
    try:
        assert recorder.levels() == []  # nothing to follow yet: the panel is left as it is
        agent.handle_desired(payload)
        assert recorder.levels() == [100] and agent.current_state().brightness == 100

        # No wake(): a single page never changes, yet the rotation wakes up for the step itself.
        clocks.advance(1)
        wait_for(lambda: recorder.levels() == [100, 30], "dimmed to 30 % at the first step", timeout=3)
        assert agent.current_state().brightness == 30
        clocks.advance(2)
        wait_for(lambda: recorder.levels() == [100, 30, 100], "full brightness again", timeout=4)
        clocks.advance(3600)
        agent.wake()
        time.sleep(0.2)
        assert recorder.levels() == [100, 30, 100]
        assert recorder.shown() == [pixels(picture(1))]  # woken for brightness, never redrawn for it
    finally:
        agent.stop()

    # Restarted in the middle of the dimmed steps, offline: the stored schedule dims it at once.
    clocks = Clocks(start + 1.5)
    restarted = PanelAgent(config, clock=clocks.time, monotonic=clocks.monotonic)
    restarted.start()
    try:
        assert isinstance(restarted.backend, SimulatedBackend)
        assert restarted.backend.brightness == 30
        assert restarted.current_state().brightness == 30
    finally:
        restarted.stop()


def test_commands_are_acknowledged_and_replays_refused(
    agent: PanelAgent, config: AgentConfig, fake: FakeBroker, signing_key: Ed25519PrivateKey
) -> None:
    cmd = TOPICS.cmd(config.panel_id)
    fake.publish(TOPICS.desired(config.panel_id), desired(signing_key, config.panel_id, 2, picture(2)))
    fake.wait_state(lambda s: s.applied_seq == 2, "the display")
    screen(config).unlink()

    fake.publish(cmd, command(signing_key, config.panel_id, 1, "refresh"))
    fake.wait_event(is_event(wire.EVENT_ACK, command="refresh", seq=1, ok=True), "the refresh ack")
    assert same_pixels(screen(config), picture(2))

    # The screenshot command has the panel send its own picture, where a state names the frame.
    fake.publish(cmd, command(signing_key, config.panel_id, 2, "screenshot"))
    fake.wait_event(is_event(wire.EVENT_ACK, command="screenshot", seq=2, ok=True), "the screenshot ack")
    state = fake.wait_state(lambda s: s.screenshot_png is not None, "a state with a screenshot")
    assert state.screenshot_png == wire.Frame.from_image(picture(2)).png_bytes()

    fake.publish(cmd, command(signing_key, config.panel_id, 3, "reboot"))
    ack = fake.wait_event(is_event(wire.EVENT_ACK, command="reboot", ok=False), "the unknown-command ack")
    assert ack.details["reason"] == "unknown-command"

    fake.publish(cmd, command(signing_key, config.panel_id, 3, "refresh"))
    fake.wait_event(is_event(wire.EVENT_REFUSED, reason="replayed", topic=cmd), "the replayed command")
    fake.publish(cmd, desired(signing_key, config.panel_id, 9, picture(9)))
    fake.wait_event(is_event(wire.EVENT_REFUSED, reason="wrong-kind", topic=cmd), "a desired on cmd")
    assert agent.applied_seq == 2


def test_with_the_broker_unreachable_the_stored_content_is_shown(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    panel = new_panel_id()
    closed = f"mqtt://127.0.0.1:{free_loopback_port()}"
    config = load_config(write_config(tmp_path, panel, closed, signing_key))
    image = picture(8)
    # Stored a day ago and expired since, but its schedule runs 48 hours: offline, it is followed.
    old = desired(signing_key, panel, 8, image, issued_at=int(time.time()) - 86400, ttl=3600)
    PayloadStore(config.state_dir, panel_id=panel, public_keys=[signing_key.public_key()]).save(old)

    agent = PanelAgent(config)
    agent.start()
    try:
        assert same_pixels(screen(config), image)
        assert agent.applied_seq == 8
    finally:
        began = time.monotonic()
        agent.stop()
        assert time.monotonic() - began < 5


# --- in process, without a broker ----------------------------------------------------------------


def test_blank_identical_and_wrong_size_payloads_without_a_broker(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    panel = new_panel_id()
    config = load_config(write_config(tmp_path, panel, "mqtt://127.0.0.1:1", signing_key))
    backend = SimulatedBackend(config.backend_settings, panel_id=panel)
    agent = PanelAgent(config, clock=lambda: 1_000_000.0, backend=backend)

    first = desired(signing_key, panel, 1, picture(1), issued_at=999_000)
    agent.handle_desired(first)
    assert backend.last_image is not None and same_pixels(screen(config), picture(1))
    modified = screen(config).stat().st_mtime_ns
    agent.handle_desired(first)  # a retained redelivery
    assert screen(config).stat().st_mtime_ns == modified

    agent.handle_desired(
        desired(signing_key, panel, 2, Image.new("RGB", (WIDTH // 2, HEIGHT)), issued_at=999_000)
    )
    assert agent.applied_seq == 1

    agent.handle_desired(desired(signing_key, panel, 3, None, issued_at=999_000))
    assert agent.applied_seq == 3
    assert same_pixels(screen(config), Image.new("RGB", (WIDTH, HEIGHT), "black"))
    state = agent.current_state()
    assert (state.item_id, state.content_hash, state.applied_seq) == (None, None, 3)

    # The injected clock decides expiry: this payload expired at 1_000_000.
    agent.handle_desired(desired(signing_key, panel, 4, picture(4), issued_at=996_400, ttl=3600))
    assert agent.applied_seq == 3


def test_backends_are_chosen_by_name_and_refuse_foreign_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"known backends: .*simulated"):
        create_backend("epaper-it8951", {}, panel_id="x")
    backend = create_backend("simulated", {"width": 10, "height": 5, "output_dir": tmp_path}, panel_id="x")
    with pytest.raises(ValueError, match="10x5"):
        backend.display(Image.new("RGB", (5, 10)))
    backend.display(Image.new("RGB", (10, 5), "red"))
    assert same_pixels(tmp_path / "x.png", Image.new("RGB", (10, 5), "red"))


# --- as a process ----------------------------------------------------------------------------------


def test_a_killed_agent_is_reported_offline_by_its_last_will(
    tmp_path: Path,
    panel_id: str,
    real_watcher: Watcher,
    broker: MosquittoBroker,
    signing_key: Ed25519PrivateKey,
) -> None:
    process = start_process(write_config(tmp_path, panel_id, broker.url, signing_key))
    try:
        real_watcher.wait_state(lambda s: s.online, "the agent process online")
        process.send_signal(signal.SIGKILL)
        process.wait(TIMEOUT_S)
        state = real_watcher.wait_state(lambda s: not s.online, "the last will")
        assert state.panel_id == panel_id
    finally:
        end_process(process)


def test_sigterm_stops_the_agent_cleanly_and_reports_it_offline(
    tmp_path: Path,
    panel_id: str,
    real_watcher: Watcher,
    broker: MosquittoBroker,
    signing_key: Ed25519PrivateKey,
) -> None:
    process = start_process(write_config(tmp_path, panel_id, broker.url, signing_key))
    try:
        real_watcher.wait_state(lambda s: s.online, "the agent process online")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0, stderr.decode()
        real_watcher.wait_state(lambda s: not s.online, "the offline state")
        assert b"stopped" in stderr
    finally:
        end_process(process)


def test_a_bad_config_exits_2_with_the_message(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('panel_id = "x"\n', encoding="utf-8")
    process = start_process(path)
    try:
        _, stderr = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 2
        assert stderr.decode().startswith(f"relais agent: {path}: broker_url: missing")
    finally:
        end_process(process)


def test_the_agent_imports_without_the_controller_stack() -> None:
    # Every module of the agent: its layers, backends, device protocols and simulators.
    code = (
        "import importlib, pkgutil, sys, panel_agent\n"
        "for module in pkgutil.walk_packages(panel_agent.__path__, 'panel_agent.'):\n"
        "    importlib.import_module(module.name)\n"
        "assert 'panel_agent.simulators.alpha_sign' in sys.modules\n"
        "for name in ('flask', 'sqlite_utils', 'apscheduler', 'controller'):\n"
        "    assert name not in sys.modules, name\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _, stderr = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0, stderr.decode()
    finally:
        end_process(process)


def test_the_state_says_which_backend_drives_the_panel_and_what_it_can_do(
    recorded_agent: PanelAgent, config: AgentConfig, signing_key: Ed25519PrivateKey
) -> None:
    recorded_agent.handle_desired(desired(signing_key, config.panel_id, 1, picture(1)))
    state = wire.PanelState.from_payload(recorded_agent.current_state().to_payload())
    assert state.backend is not None and state.backend.startswith(f"simulated {WIDTH}x{HEIGHT} (")
    assert state.link_quality is None or 0 <= state.link_quality <= 100


def test_a_frame_the_panel_already_holds_is_not_decoded_again(
    tmp_path: Path, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = new_panel_id()
    config = load_config(write_config(tmp_path, panel, "mqtt://127.0.0.1:1", signing_key))
    agent = PanelAgent(config, clock=lambda: 1_000_000.0)
    decoded: list[int] = []
    image = wire.Frame.image

    def counting(frame: wire.Frame) -> Image.Image:
        decoded.append(frame.width)
        return image(frame)

    monkeypatch.setattr(wire.Frame, "image", counting)
    # Pictures of this test's own: an agent of another test still in memory would hold picture(1).
    first, third = picture(801), picture(803)
    agent.handle_desired(desired(signing_key, panel, 1, first, issued_at=999_000))
    agent.handle_desired(desired(signing_key, panel, 2, first, issued_at=999_000))  # same frame
    assert (agent.applied_seq, len(decoded)) == (2, 1)
    agent.handle_desired(desired(signing_key, panel, 3, third, issued_at=999_000))
    assert (agent.applied_seq, len(decoded)) == (3, 2)
    assert same_pixels(screen(config), third)
