"""Chaos on one controller and one agent at a time: faults injected into real processes and files, and
each test checks what the panels then show, pixel for pixel, not only that nothing crashed.

The fleet-scale chaos (hundreds of simulated panels, broker restarts) lives with the fleet simulator.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from controller import create_app, shutdown_app
from controller.domain.panels import get_panels, register_panel
from controller.storage.db import connect
from controller.web.context import get_db
from panel_agent.agent import PanelAgent
from panel_agent.config import AgentConfig, load_config
from panel_agent.store import PayloadStore
from programs.provisioning import agent_config_text
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker, free_loopback_port
from relais.keys import load_or_create_signing_key
from tests.support import DEMO_LED, REPO, first_page, same_pixels, user_token, wait_for
from tests.support.agents import (
    BLACK,
    TOPICS,
    Clocks,
    Watcher,
    full_size_item,
    is_event,
    new_panel_id,
    picture,
    screen,
    sealed,
    shown_at,
    write_config,
)
from tests.support.chaos import Cable, Controller, stop_process

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(180)]

H = 3600
MIN = 60
REPO = REPO

# A bound for a dozen agents to converge on a loaded 2-core CI machine, not a speed target.
CONVERGE_S = 60


# --- the controller killed while it publishes -------------------------------------------------------

BATCH = [{**DEMO_LED, "id": f"chaos-{number:02d}", "name": f"Panneau {number}"} for number in range(12)]


def agent_config(data_dir: Path, panel_id: str, broker_url: str, folder: Path) -> AgentConfig:
    """What ``relais panel agent-config`` writes for a panel, with its own state and screen folders."""
    db = connect(data_dir / "relais.db")
    try:
        panel = get_panels(db, [panel_id])[panel_id]
    finally:
        db.close()
    public_key = wire.public_key_to_text(load_or_create_signing_key(data_dir / "keys").public_key())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "agent.toml"
    path.write_text(
        agent_config_text(
            panel,
            broker_url=broker_url,
            public_key_text=public_key,
            state_dir=folder / "state",
            screens_dir=folder / "screens",
        ),
        encoding="utf-8",
    )
    return load_config(path)


def pending_rows(data_dir: Path) -> int:
    db = connect(data_dir / "relais.db")
    try:
        return db.execute("select count(*) from desired where published_at is null").fetchone()[0]
    finally:
        db.close()


def test_a_controller_killed_while_publishing_finishes_its_outbox_after_a_restart(
    tmp_path: Path, own_broker: MosquittoBroker
) -> None:
    data_dir = tmp_path / "data"
    app = create_app({"DATA_DIR": data_dir})
    with app.app_context():
        for spec in BATCH:
            register_panel(get_db(), spec)
        token = user_token(get_db(), "chaos")
    shutdown_app(app)
    agents = [
        PanelAgent(agent_config(data_dir, spec["id"], own_broker.url, tmp_path / "agents" / spec["id"]))
        for spec in BATCH
    ]
    controllers: list[Controller] = []
    assert own_broker.process is not None
    broker_pid = own_broker.process.pid
    try:
        for agent in agents:
            agent.start()
        controllers.append(Controller(data_dir, own_broker.url))
        panels = [spec["id"] for spec in BATCH]
        before = "Marché de Noël samedi"
        controllers[0].request("POST", "/api/v1/messages", token, {"text": before, "panels": panels})
        expected = first_page(before, DEMO_LED["profile"])
        for agent in agents:
            wait_for(
                lambda agent=agent: same_pixels(screen(agent.config), expected),
                "the first message",
                timeout=CONVERGE_S,
            )
        wait_for(lambda: pending_rows(data_dir) == 0, "the first batch acknowledged", timeout=CONVERGE_S)

        # The broker freezes (its own PID): the batch goes out but no PUBACK comes back before the kill.
        os.kill(broker_pid, signal.SIGSTOP)
        try:
            after = "Route barrée : crue de la Veyle"
            queued = controllers[0].request(
                "POST", "/api/v1/messages", token, {"text": after, "panels": panels}
            )
            assert sorted(queued["panels"]) == panels
            assert pending_rows(data_dir) == len(panels)
            controllers[0].process.kill()
            controllers[0].process.wait()
        finally:
            os.kill(broker_pid, signal.SIGCONT)

        controllers.append(Controller(data_dir, own_broker.url))
        expected = first_page(after, DEMO_LED["profile"])
        for agent in agents:
            wait_for(
                lambda agent=agent: same_pixels(screen(agent.config), expected),
                f"{agent.panel_id} updated",
                timeout=CONVERGE_S,
            )
        wait_for(
            lambda: pending_rows(data_dir) == 0,
            "the restarted controller empties the outbox",
            timeout=CONVERGE_S,
        )
        statuses = controllers[1].request("GET", "/api/v1/panels", token)["panels"]
        for status in statuses:
            assert status["published"] is True
            wait_for(
                lambda panel_id=status["id"]: controllers[1].request(
                    "GET", f"/api/v1/panels/{panel_id}", token
                )["up_to_date"],
                f"{status['id']} reports the batch applied",
                timeout=CONVERGE_S,
            )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(broker_pid, signal.SIGCONT)
        for controller in controllers:
            stop_process(controller.process)
        for agent in agents:
            agent.stop()


# --- one agent cut off from the broker --------------------------------------------------------------


def rotating_hour(start: int) -> wire.Schedule:
    """Items 1 and 2 take turns for an hour, 10 then 5 minutes; then item 3 until the horizon."""
    items = (full_size_item(1), full_size_item(2), full_size_item(3))
    playlist = (
        wire.PlaylistEntry(0, dwell_ms=10 * MIN * 1000),
        wire.PlaylistEntry(1, dwell_ms=5 * MIN * 1000),
    )
    return wire.Schedule(
        items=items,
        segments=(
            wire.Segment(start, start + H, playlist),
            wire.Segment(start + H, start + 48 * H, (wire.PlaylistEntry(2),)),
        ),
        horizon_end=start + 48 * H,
    )


def test_an_agent_cut_off_for_an_hour_keeps_rotating_and_reports_its_plays_summed_afterwards(
    tmp_path: Path, own_broker: MosquittoBroker, signing_key: Ed25519PrivateKey
) -> None:
    panel = new_panel_id()
    cable = Cable(own_broker.port)
    watcher = Watcher(own_broker, panel, persistent=True)
    config = load_config(write_config(tmp_path, panel, cable.url, signing_key))
    start = int(time.time()) // H * H  # a whole hour: the rotation's hour is one hour of the sums
    clocks = Clocks(start)
    agent = PanelAgent(config, clock=clocks.time, monotonic=clocks.monotonic)
    try:
        agent.start()
        watcher.wait_state(lambda s: s.online, "the agent online")
        watcher.publish(
            TOPICS.desired(panel), sealed(signing_key, panel, 1, rotating_hour(start), start), retain=True
        )
        watcher.wait_state(lambda s: (s.applied_seq, s.item_id) == (1, "item-1"), "the schedule applied")

        cable.cut()
        watcher.wait_state(lambda s: not s.online, "the broker gives the agent's last will")
        shown_at(agent, clocks, 1 * MIN, picture(1), "item 1 at 0 h 01")
        shown_at(agent, clocks, 10 * MIN, picture(2), "item 2 at 0 h 11")
        shown_at(agent, clocks, 5 * MIN, picture(1), "item 1 again at 0 h 16")
        shown_at(agent, clocks, 10 * MIN, picture(2), "item 2 again at 0 h 26")
        shown_at(agent, clocks, 20 * MIN, picture(1), "item 1 at 0 h 46")
        shown_at(agent, clocks, 15 * MIN, picture(3), "item 3 after the hour, at 1 h 01")
        assert not any(event.event == wire.EVENT_PLAY_HOURS for event in list(watcher.events))

        cable.mend()
        watcher.wait_state(lambda s: s.online and s.item_id == "item-3", "the agent back online, on item 3")
        # The offline hour is closed (item 3 is up since after it): its sums go at once, as the agent
        # saw its showings at the moments this test let the rotation look at the clock.
        sums = wait_for(
            lambda: (
                (found := [e for e in list(watcher.events) if e.event == wire.EVENT_PLAY_HOURS])
                and len(found) >= 2
                and found
            ),
            "the sums of the offline hour",
        )
        figures = [
            tuple(
                e.details[key] for key in ("item_id", "hour", "count", "seconds", "first_start", "last_end")
            )
            for e in sums
        ]
        assert figures == [
            ("item-1", start, 3, (11 + 10 + 15) * MIN, start, start + 61 * MIN),
            ("item-2", start, 2, (5 + 20) * MIN, start + 11 * MIN, start + 46 * MIN),
        ]
    finally:
        agent.stop()
        watcher.client.disconnect()
        watcher.client.loop_stop()
        cable.close()


# --- an agent killed while it writes its cache ------------------------------------------------------


def big_payload(key: Ed25519PrivateKey, panel_id: str, seq: int, start: int) -> bytes:
    """About 1.6 MB of noise frames, near the 2 MiB limit: a payload that takes a while to write.

    Only the first item plays, its first page for a whole day: that page is what the panel shows at start.
    """
    generator = random.Random(seq)

    def noise() -> wire.Frame:
        return wire.Frame.from_image(Image.frombytes("RGB", (192, 64), generator.randbytes(192 * 64 * 3)))

    items = tuple(
        wire.DisplayItem(
            f"big-{seq}-{number}",
            f"Avis {number}",
            tuple(wire.Page(noise(), wire.MAX_DWELL_MS) for _ in range(4)),
        )
        for number in range(11)
    )
    schedule = wire.Schedule(
        items, (wire.Segment(start, start + 48 * H, (wire.PlaylistEntry(0),)),), horizon_end=start + 48 * H
    )
    return sealed(key, panel_id, seq, schedule, start)


def first_frame(payload: bytes, key: Ed25519PrivateKey) -> Image.Image:
    return wire.unseal(payload, key.public_key()).desired_schedule().items[0].frame.image()


WRITER = """
import sys
from pathlib import Path
from panel_agent.store import PayloadStore
from relais.wire import public_key_from_text
state_dir, panel_id, key, *payload_files = sys.argv[1:]
payloads = [Path(name).read_bytes() for name in payload_files]
store = PayloadStore(Path(state_dir), panel_id=panel_id, public_keys=[public_key_from_text(key)])
print("writing", flush=True)
while True:
    for payload in payloads:
        store.save(payload)
"""


def test_an_agent_killed_while_it_writes_its_cache_starts_with_a_whole_schedule(
    tmp_path: Path, own_broker: MosquittoBroker, signing_key: Ed25519PrivateKey
) -> None:
    panel = new_panel_id()
    start = int(time.time())
    config = load_config(write_config(tmp_path, panel, own_broker.url, signing_key))
    store = PayloadStore(config.state_dir, panel_id=panel, public_keys=[signing_key.public_key()])
    payloads = [big_payload(signing_key, panel, seq, start) for seq in (1, 2)]
    assert all(len(payload) > 1_500_000 for payload in payloads)

    # The store's own code writing one schedule after the other without a pause, killed at random
    # moments: every kill lands in a write (or between two), and what is left is always one of them.
    files = []
    for number, payload in enumerate(payloads):
        files.append(tmp_path / f"payload-{number}.json")
        files[-1].write_bytes(payload)
    chance = random.Random()
    key_text = wire.public_key_to_text(signing_key.public_key())
    for _ in range(12):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(config.state_dir), panel, key_text, *map(str, files)],
            stdout=subprocess.PIPE,
            cwd=REPO,
        )
        try:
            assert writer.stdout is not None and writer.stdout.readline() == b"writing\n"
            time.sleep(chance.uniform(0.0, 0.3))
        finally:
            writer.kill()
            writer.wait()
            writer.stdout.close()  # type: ignore[union-attr]
        kept = store.load()
        assert kept is not None and kept.raw in payloads

    # The real agent, killed at random moments while it takes a new schedule from the broker: what it
    # keeps is always a whole schedule that it was sent, never older than the one it kept before. (Not
    # always the newest or the one before: its persistent session may still hold one it was killed
    # before acknowledging, which it gets first next time.)
    store.path.unlink()
    agent_log = (tmp_path / "agent.log").open("ab")
    watcher = Watcher(own_broker, panel)

    def start_agent() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "panel_agent", "--config", str(tmp_path / "agent.toml")],
            stdout=agent_log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    try:
        # How long this machine, loaded as it is now, takes from starting an agent to its kept schedule:
        # the kills below land before, during or after that write.
        offered: dict[int, bytes] = {3: big_payload(signing_key, panel, 3, start)}
        watcher.publish(TOPICS.desired(panel), offered[3], retain=True)
        began = time.monotonic()
        agent = start_agent()
        try:
            wait_for(lambda: store.path.exists() and store.load() is not None, "a first kept schedule", 60)
        finally:
            agent.kill()
            agent.wait()
        window = 1.2 * (time.monotonic() - began)
        for seq in range(4, 14):
            before = store.load()
            offered[seq] = big_payload(signing_key, panel, seq, start)
            watcher.publish(TOPICS.desired(panel), offered[seq], retain=True)
            agent = start_agent()
            try:
                time.sleep(chance.uniform(0.0, window))
            finally:
                agent.kill()
                agent.wait()
            kept = store.load()
            if kept is None:
                assert before is None
            else:
                assert kept.raw == offered[kept.seq]
                assert before is None or kept.seq >= before.seq
        stored = store.load()
        assert stored is not None
        offline = tmp_path / "offline.toml"
        offline.write_text(
            (tmp_path / "agent.toml")
            .read_text()
            .replace(own_broker.url, f"mqtt://127.0.0.1:{free_loopback_port()}")
        )
        screen(config).unlink(missing_ok=True)
        agent = subprocess.Popen(
            [sys.executable, "-m", "panel_agent", "--config", str(offline)],
            stdout=agent_log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        try:
            expected = first_frame(stored.raw, signing_key)
            wait_for(lambda: same_pixels(screen(config), expected), "the kept schedule shown offline")
        finally:
            stop_process(agent)
    finally:
        agent_log.close()
        watcher.close()


# --- a corrupt cache --------------------------------------------------------------------------------


def truncated(payload: bytes, key: Ed25519PrivateKey) -> bytes:
    return payload[: len(payload) // 3]


def garbage(payload: bytes, key: Ed25519PrivateKey) -> bytes:
    return random.Random(7).randbytes(4096)


def forged(payload: bytes, key: Ed25519PrivateKey) -> bytes:
    """Valid JSON, a well-formed envelope, a schedule that would show: signed by another key."""
    body = wire.unseal(payload, key.public_key())
    return sealed(
        Ed25519PrivateKey.generate(), body.panel_id, body.seq + 1, body.desired_schedule(), body.issued_at
    )


@pytest.mark.parametrize("damage", [truncated, garbage, forged])
def test_a_corrupt_cache_blanks_the_panel_reports_a_fault_and_the_next_genuine_schedule_is_followed(
    tmp_path: Path, own_broker: MosquittoBroker, signing_key: Ed25519PrivateKey, damage: Any
) -> None:
    panel = new_panel_id()
    config = load_config(write_config(tmp_path, panel, own_broker.url, signing_key))
    start = int(time.time())
    good = sealed(
        signing_key,
        panel,
        1,
        wire.Schedule.single(full_size_item(1), start=start, horizon_end=start + 48 * H),
        start,
    )
    store = PayloadStore(config.state_dir, panel_id=panel, public_keys=[signing_key.public_key()])
    store.save(damage(good, signing_key))
    # What the panel showed before the reboot (e-paper keeps it unpowered): it must not stay up.
    screen(config).parent.mkdir(parents=True)
    picture(1).save(screen(config))
    watcher = Watcher(own_broker, panel, persistent=True)
    agent = PanelAgent(config)
    try:
        agent.start()
        assert same_pixels(screen(config), BLACK)
        state = watcher.wait_state(lambda s: s.online, "the agent online")
        assert len(state.faults) == 1 and state.faults[0].startswith("StoredContentError")
        assert str(store.path) in state.faults[0]
        watcher.wait_event(is_event(wire.EVENT_FAULT, code="StoredContentError"), "the fault reported")

        fresh = sealed(
            signing_key,
            panel,
            2,
            wire.Schedule.single(full_size_item(2), start=start, horizon_end=start + 48 * H),
            start,
        )
        watcher.publish(TOPICS.desired(panel), fresh, retain=True)
        wait_for(lambda: same_pixels(screen(config), picture(2)), "the genuine schedule shown")
        watcher.wait_event(is_event(wire.EVENT_FAULT, cleared=True), "the fault cleared")
        watcher.wait_state(lambda s: s.applied_seq == 2 and not s.faults, "a state without the fault")
        kept = store.load()
        assert kept is not None and kept.raw == fresh
    finally:
        agent.stop()
        watcher.close()
