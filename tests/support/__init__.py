"""Small things several test files need: reference panels, a wait that polls with a deadline, and brokers
and MQTT sessions as the tests of the locked-down broker use them."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import paho.mqtt.client as mqtt
from flask import Flask
from flask.testing import FlaskClient
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from sqlite_utils import Database

from controller.domain import accounts
from controller.domain.alerts import alert_item_id
from controller.publishing import reports as status
from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from controller.storage.db import transaction
from controller.storage.message_store import item_id_for
from controller.web import context
from controller.web.context import get_db
from programs.demo import DEMO_PANELS
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.brokers.security import BrokerCredentials

# The demo's own reference panels: an amber LED 192x64 and a b/w e-paper 800x480 (and an RGB LED).
DEMO_LED, DEMO_RGB, DEMO_EPAPER = DEMO_PANELS


# The project's folder, for tests that read its files (docs, deploy, golden images).
REPO = Path(__file__).resolve().parents[2]


@contextmanager
def http_served(
    handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1"
) -> Iterator[ThreadingHTTPServer]:
    """A real HTTP server for ``handler`` on a free port of ``host`` (loopback), in a thread, stopped and
    closed when the block ends: a feed, a webhook receiver, a commune's website."""
    server = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def user_token(db: Database, name: str, role: str = "admin", commune: str | None = None) -> str:
    """A user of that role (created if missing) and a fresh API token acting as them."""
    return accounts.token_for(db, name, role, commune, label="tests")


def first_page(text: str, profile_id: str) -> Image.Image:
    """What the controller renders for a plain message on a profile: page 1 of the default layout."""
    profile = get_profile(profile_id)
    image = render(MessageContent(body=text), profile).pages[0].frame.image()
    if image.mode == "P" or profile.colour_mode == "rgb":
        return image
    # A WebP frame decodes to RGB: back to the profile's palette indices, as the renderer drew them.
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in profile.palette for channel in colour])
    return image.quantize(palette=palette, dither=Image.Dither.NONE)


def picture_png(colour: tuple[int, int, int], size: tuple[int, int] = (16, 8)) -> bytes:
    """A small real PNG of one colour, as a panel sends its own screenshot."""
    return wire.screenshot_png(wire.Frame.from_image(Image.new("RGB", size, colour)))


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until ``condition()`` is truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(interval)


def same_pixels(path: Path, expected: Image.Image) -> bool:
    """What a person would see: every pixel's colour, whatever the PNG's internal mode; False if unreadable."""
    try:
        with Image.open(path) as shown:
            return (
                shown.size == expected.size
                and shown.convert("RGB").tobytes() == expected.convert("RGB").tobytes()
            )
    except (OSError, SyntaxError):
        return False


def client_as(app: Flask, name: str, role: str = "admin", commune: str | None = None) -> FlaskClient:
    """A test client acting, through a fresh token, as that user (created with that role if missing),
    asking for the API's English."""
    with app.app_context():
        token = user_token(get_db(), name, role, commune)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def on_panel(app: Flask, panel_id: str) -> list[str]:
    """The texts of the messages and alerts in the panel's signed schedule, as the panel will receive it
    (none before any); the panel gets only their frames, so each item is named back to its text."""
    with app.app_context():
        db = get_db()
        row = db.execute("select payload from desired where panel_id = ?", [panel_id]).fetchone()
        if row is None:
            return []
        schedule = wire.unseal(row[0], context.signing_key().public_key()).desired_schedule()
        texts = {item_id_for(r["id"]): r["text"] for r in db.query("select id, text from messages")}
        texts |= {alert_item_id(r["id"]): r["text"] for r in db.query("select id, text from alerts")}
    return [texts.get(item.item_id, "") for item in schedule.items]


def record_report(db: Database, report: status.Report, received_at: float) -> None:
    """A panel's state or event recorded as the MQTT link records it, in a transaction of its own."""
    with transaction(db):
        status.record_reports(db, [report], received_at)


@contextmanager
def production_broker(
    folder: Path, panel_ids: Sequence[str]
) -> Iterator[tuple[MosquittoBroker, BrokerCredentials]]:
    """The locked-down broker as ``relais broker --tls`` runs it (users, ACL, TLS), with these panels' users."""
    credentials = BrokerCredentials(folder / "credentials")
    credentials.panels(panel_ids)
    credentials.write_files()
    with MosquittoBroker(
        folder / "mosquitto", secure=True, credentials_dir=credentials.directory, tls=True
    ) as broker:
        yield broker, credentials


def tls_url(port: int, username: str, password: str) -> str:
    """A loopback ``mqtts://`` URL with that user in it."""
    return f"mqtts://{quote(username, safe='')}:{quote(password, safe='')}@127.0.0.1:{port}"


# How long ``Session.received_until`` waits for anything after its marker.
QUIET_S = 0.5


class Session:
    """One paho connection that queues what it receives; ``refused`` when the broker said no."""

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        *,
        client_id: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._connack: queue.Queue[bool] = queue.Queue()
        self.disconnections = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv311,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self._connack.put(not reason.is_failure)
        self.client.on_disconnect = lambda *_args: self._disconnected()
        self.client.on_message = lambda _c, _u, message: self.messages.put((message.topic, message.payload))
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        self.accepted = self._connack.get(timeout=5)
        if not self.accepted:
            self.close()

    def _disconnected(self) -> None:
        self.disconnections += 1

    def subscribe(self, *topics: str) -> None:
        done: queue.Queue[bool] = queue.Queue()
        self.client.on_subscribe = lambda *_args: done.put(True)
        self.client.subscribe([(topic, 1) for topic in topics])
        done.get(timeout=5)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def receive(self, timeout: float = 5.0) -> tuple[str, bytes]:
        return self.messages.get(timeout=timeout)

    def received_until(self, marker: bytes, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        """Everything up to and including ``marker``, then whatever comes within a short wait."""
        got = [self.receive(timeout)]
        while got[-1][1] != marker:
            got.append(self.receive(timeout))
        try:
            while True:
                got.append(self.receive(QUIET_S))
        except queue.Empty:
            return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
