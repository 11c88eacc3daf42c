"""Real agents driven by hand: configs, clocks, pictures, sealed schedules, a watcher of what they publish
on Mosquitto, and a fake broker for tests whose subject is the agent rather than MQTT."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image, ImageDraw

from panel_agent.agent import PanelAgent, lifecycle
from panel_agent.backends import Backend
from panel_agent.config import AgentConfig
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.mqtt import BrokerUrl
from relais.wire import DisplayItem, Frame, Page, Schedule
from tests.support import REPO, same_pixels, wait_for

WIDTH, HEIGHT = 192, 64

H = 3600


def full_size_item(number: int) -> DisplayItem:
    return DisplayItem(f"item-{number}", f"Avis {number}", (Page(Frame.from_image(picture(number)), 5000),))


def sealed(key: Ed25519PrivateKey, panel_id: str, seq: int, schedule: Schedule, issued_at: int) -> bytes:
    return wire.seal_schedule(
        key, schedule, panel_id=panel_id, seq=seq, issued_at=issued_at, expires_at=issued_at + 48 * H
    )


BLACK = Image.new("RGB", (192, 64), "black")


def shown_at(agent: PanelAgent, clocks: Clocks, seconds: float, expected: Image.Image, what: str) -> None:
    """Move the clocks ``seconds`` on, wake the rotation, and wait for ``expected`` on the panel."""
    clocks.advance(seconds)
    agent.wake()
    wait_for(lambda: same_pixels(screen(agent.config), expected), what, timeout=5)
    # The frame is on the screen before the turn ends (its play is stamped after): reading the agent's
    # state takes its lock, so the turn in progress ends before the caller moves the clocks again.
    _ = agent.applied_seq


TIMEOUT_S = 10.0


TOPICS = wire.Topics()


TWO_DAYS_S = 48 * 3600


def new_panel_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def picture(seq: int) -> Image.Image:
    """A frame that differs per ``seq``, so a wrong one is caught pixel for pixel."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "black")
    draw = ImageDraw.Draw(image)
    draw.rectangle((seq * 7 % WIDTH, 4, seq * 7 % WIDTH + 20, 40), fill=(255, 160, 0))
    draw.text((4, 44), f"Avis n°{seq}", fill="white")
    return image


def page(
    image: Image.Image, dwell_ms: int, flash: Image.Image | None = None, flash_ms: int = 500
) -> wire.Page:
    flash_frame = None if flash is None else wire.Frame.from_image(flash)
    return wire.Page(wire.Frame.from_image(image), dwell_ms, flash_frame, flash_ms)


def desired(
    key: Ed25519PrivateKey,
    panel_id: str,
    seq: int,
    image: Image.Image | None,
    *,
    issued_at: int | None = None,
    ttl: int = 3600,
) -> bytes:
    """A schedule of a single-page item of ``image`` from ``issued_at`` on, or a blank panel for None."""
    pages = None if image is None else (page(image, 5000),)
    return desired_pages(key, panel_id, seq, pages, issued_at=issued_at, ttl=ttl)


def desired_pages(
    key: Ed25519PrivateKey,
    panel_id: str,
    seq: int,
    pages: tuple[wire.Page, ...] | None,
    *,
    issued_at: int | None = None,
    ttl: int = 3600,
) -> bytes:
    issued = int(time.time()) if issued_at is None else issued_at
    item = None if pages is None else wire.DisplayItem(f"item-{seq}", f"Avis {seq}", pages)
    schedule = wire.Schedule.single(item, start=issued, horizon_end=issued + TWO_DAYS_S)
    return wire.seal_schedule(
        key, schedule, panel_id=panel_id, seq=seq, issued_at=issued, expires_at=issued + ttl
    )


def command(key: Ed25519PrivateKey, panel_id: str, seq: int, name: str) -> bytes:
    now = int(time.time())
    return wire.seal(
        key,
        kind=wire.KIND_COMMAND,
        panel_id=panel_id,
        seq=seq,
        issued_at=now,
        expires_at=now + 60,
        content={"command": name},
    )


def write_config(tmp_path: Path, panel_id: str, broker_url: str, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        f'panel_id = "{panel_id}"\n'
        f'broker_url = "{broker_url}"\n'
        f'controller_public_key = "{wire.public_key_to_text(key.public_key())}"\n'
        'state_dir = "state"\n'
        "[backend]\n"
        'name = "simulated"\n'
        'output_dir = "screens"\n'
        f"width = {WIDTH}\nheight = {HEIGHT}\n",
        encoding="utf-8",
    )
    return path


def screen(config: AgentConfig) -> Path:
    return config.backend_settings["output_dir"] / f"{config.panel_id}.png"


class Reports:
    """What one panel reported, as the controller sees it: its states and its events, message by
    message (``batches``) and one by one; read by Mosquitto's ``Watcher`` and the ``FakeBroker`` alike."""

    def __init__(self, panel_id: str) -> None:
        self.panel_id = panel_id
        self.states: list[wire.PanelState] = []
        self.events: list[wire.PanelEvent] = []
        self.batches: list[list[wire.PanelEvent]] = []
        self._lock = threading.RLock()

    def record(self, topic: str, payload: bytes) -> None:
        """A state or a batch of events the panel published."""
        with self._lock:
            if topic == TOPICS.state(self.panel_id):
                self.states.append(wire.PanelState.from_payload(payload))
            elif topic == TOPICS.events(self.panel_id):
                self.batches.append(wire.events_from_payload(payload))
                self.events.extend(self.batches[-1])

    def wait_state(self, predicate: Callable[[wire.PanelState], bool], what: str) -> wire.PanelState:
        def found() -> wire.PanelState | None:
            with self._lock:
                return next((s for s in reversed(self.states) if predicate(s)), None)

        return wait_for(found, what)

    def wait_event(self, predicate: Callable[[wire.PanelEvent], bool], what: str) -> wire.PanelEvent:
        def found() -> wire.PanelEvent | None:
            with self._lock:
                return next((e for e in self.events if predicate(e)), None)

        return wait_for(found, what)


class Watcher(Reports):
    """The controller's side of the wire for one panel: collects its states and events, publishes to it."""

    def __init__(self, broker: MosquittoBroker, panel_id: str, *, persistent: bool = False) -> None:
        super().__init__(panel_id)
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"watch-{panel_id}", clean_session=not persistent
        )
        self.client.on_connect = lambda client, *_: client.subscribe(
            [(TOPICS.state(panel_id), 1), (TOPICS.events(panel_id), 1)]
        )
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        url = BrokerUrl.parse(broker.url)
        self.client.connect(url.host, url.port)
        self.client.loop_start()
        assert subscribed.wait(TIMEOUT_S), "the watcher could not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.payload:  # not the retained-message clearing done by close()
            self.record(message.topic, message.payload)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT_S)
        assert info.is_published(), f"could not publish to {topic}"

    def close(self) -> None:
        # Leave nothing retained behind on the session broker.
        for topic in (TOPICS.desired(self.panel_id), TOPICS.state(self.panel_id)):
            self.publish(topic, b"", retain=True)
        self.client.disconnect()
        self.client.loop_stop()


def is_event(name: str, **details: Any) -> Callable[[wire.PanelEvent], bool]:
    return lambda e: e.event == name and all(e.details.get(k) == v for k, v in details.items())


class RecordingBackend(Backend):
    """A panel that remembers every display() call and when it came, its brightness changes, and fails
    when told to."""

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], *, base_dir: Path) -> dict[str, Any]:
        return dict(settings)

    def __init__(self, settings: Mapping[str, Any], *, panel_id: str) -> None:
        self.width, self.height = WIDTH, HEIGHT
        self.failures = 0  # how many of the next display() calls fail
        self._calls: list[tuple[float, bytes]] = []
        self._levels: list[int] = []
        self._lock = threading.Lock()

    def display(self, image: Image.Image) -> None:
        with self._lock:
            if self.failures:
                self.failures -= 1
                raise OSError("the panel does not answer")
            self._calls.append((time.monotonic(), image.convert("RGB").tobytes()))

    def set_brightness(self, level: int) -> None:
        with self._lock:
            self._levels.append(level)

    def levels(self) -> list[int]:
        """Every level set, in order."""
        with self._lock:
            return list(self._levels)

    def shown(self) -> list[bytes]:
        """The pixels of each image displayed, in order."""
        with self._lock:
            return [pixels for _, pixels in self._calls]

    def times(self) -> list[float]:
        with self._lock:
            return [at for at, _ in self._calls]


def pixels(image: Image.Image) -> bytes:
    return image.convert("RGB").tobytes()


class Clocks:
    """An agent's wall and monotonic clocks, standing still until a test moves them."""

    def __init__(self, wall: float, mono: float = 1000.0) -> None:
        self.wall, self.mono = wall, mono
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.wall

    def monotonic(self) -> float:
        with self._lock:
            return self.mono

    def advance(self, seconds: float, *, wall: bool = True) -> None:
        with self._lock:
            self.mono += seconds
            if wall:
                self.wall += seconds


def start_process(config_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "panel_agent", "--config", str(config_path)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def end_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=TIMEOUT_S)


class FakeBroker(Reports):
    """The transport seam faked: the agent's paho client is a ``FakeClient`` that hands what the agent
    publishes straight to this watcher, and what the test publishes straight to the agent's ``on_message``,
    as paho's network thread would, in the caller's thread. For tests whose subject is the agent, not MQTT
    (``install_fake_broker``).

    It keeps one panel's ``Reports`` like ``Watcher`` and keeps
    retained payloads for the next connection; no session, QoS or last will: those are tested on Mosquitto.
    """

    def __init__(self, panel_id: str) -> None:
        super().__init__(panel_id)
        self.retained: dict[str, bytes] = {}
        self.down = False  # between cut() and reconnect(): no client connects
        self._clients: list[FakeClient] = []

    def client(self, client_id: str, url: str, **_: Any) -> FakeClient:
        """Stands for ``relais.mqtt.new_client``: the agent's client, not connected yet."""
        client = FakeClient(self, client_id)
        with self._lock:
            self._clients.append(client)
        return client

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """The controller's publication: to every connected client subscribed to ``topic``."""
        with self._lock:
            if retain:
                self.retained[topic] = payload
            listening = [c for c in self._clients if c.connected and topic in c.topics]
        for client in listening:
            client.deliver(topic, payload)

    def cut(self) -> None:
        """Every connection drops at once, as when the broker or the network goes down: each client's
        ``on_disconnect`` is told, as paho tells it when it notices."""
        with self._lock:
            self.down = True
            dropped = [client for client in self._clients if client.connected]
        for client in dropped:
            client.drop()

    def power_cut(self) -> None:
        """The agents connected now vanish without a word and never come back; the broker stays up."""
        with self._lock:
            for client in self._clients:
                client.connected = False

    def reconnect(self) -> None:
        """The broker is back: every dropped client connects again, as paho's reconnection does."""
        with self._lock:
            self.down = False
            dropped = [client for client in self._clients if client.dropped]
        for client in dropped:
            client.loop_start()


class _Delivered(mqtt.MQTTMessageInfo):
    """A publication the fake broker took at once."""

    def is_published(self) -> bool:
        return True


class FakeClient(mqtt.Client):
    """A paho client that never opens a socket: ``loop_start`` connects it to its ``FakeBroker`` at once
    (the agent's ``on_connect`` runs, then the retained payloads of its topics reach ``on_message``)."""

    def __init__(self, broker: FakeBroker, client_id: str) -> None:
        super().__init__(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.broker = broker
        self.topics: set[str] = set()
        self.connected = False
        self.dropped = False  # by the broker, not by ``disconnect()``: it will connect again
        self._mid = 0

    def connect_async(
        self, host: str, port: int = 1883, keepalive: int = 60, *args: Any, **kwargs: Any
    ) -> None:
        pass

    def loop_start(self) -> mqtt.MQTTErrorCode:
        if self.broker.down:  # paho would keep trying: reconnect() connects it
            self.dropped = True
            return mqtt.MQTT_ERR_SUCCESS
        self.connected, self.dropped = True, False
        flags = mqtt.ConnectFlags(session_present=False)
        success = mqtt.ReasonCode(mqtt.PacketTypes.CONNACK, "Success")
        on_connect: Any = self.on_connect  # paho types it as any of its API versions' callbacks
        if on_connect is not None:
            on_connect(self, None, flags, success, None)
        for topic in sorted(self.topics):
            payload = self.broker.retained.get(topic)
            if payload:
                self.deliver(topic, payload)
        return mqtt.MQTT_ERR_SUCCESS

    def loop_stop(self) -> mqtt.MQTTErrorCode:
        return mqtt.MQTT_ERR_SUCCESS

    def disconnect(self, *args: Any, **kwargs: Any) -> mqtt.MQTTErrorCode:
        self.connected = False
        return mqtt.MQTT_ERR_SUCCESS

    def drop(self) -> None:
        """The connection is lost."""
        self.connected, self.dropped = False, True
        flags = mqtt.DisconnectFlags(is_disconnect_packet_from_server=False)
        lost = mqtt.ReasonCode(mqtt.PacketTypes.DISCONNECT, "Unspecified error")
        on_disconnect: Any = self.on_disconnect
        if on_disconnect is not None:
            on_disconnect(self, None, flags, lost, None)

    def is_connected(self) -> bool:
        return self.connected

    def subscribe(self, topic: Any, *args: Any, **kwargs: Any) -> tuple[mqtt.MQTTErrorCode, int | None]:
        self.topics.update(name for name, _ in topic)
        return mqtt.MQTT_ERR_SUCCESS, 1

    def publish(
        self, topic: str, payload: Any = None, qos: int = 0, retain: bool = False, properties: Any = None
    ) -> mqtt.MQTTMessageInfo:
        self._mid += 1
        if not self.connected:
            lost = mqtt.MQTTMessageInfo(self._mid)
            lost.rc = mqtt.MQTT_ERR_NO_CONN
            return lost
        self.broker.record(topic, payload or b"")
        info = _Delivered(self._mid)
        info.rc = mqtt.MQTT_ERR_SUCCESS
        return info

    def deliver(self, topic: str, payload: bytes) -> None:
        """A message from the broker, handed to the agent as paho's network thread would."""
        message = mqtt.MQTTMessage(topic=topic.encode())
        message.payload = payload
        if self.on_message is not None:
            self.on_message(self, None, message)


def install_fake_broker(monkeypatch: pytest.MonkeyPatch, panel_id: str) -> FakeBroker:
    """Every agent started from now on in this test talks to the returned ``FakeBroker``."""
    fake = FakeBroker(panel_id)
    monkeypatch.setattr(lifecycle, "new_client", fake.client)
    return fake


# No broker listens there: an agent on the fake broker never dials it.
UNUSED_BROKER_URL = "mqtt://127.0.0.1:9"
