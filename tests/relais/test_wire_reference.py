"""``docs/wire.md`` kept true: real payloads, read with the reference alone.

The controller's own publishing path seals schedules and commands, and a real panel agent reports on a
real broker; this file reads what they made following only what the page says, with independent
libraries (``cryptography``'s Ed25519, ``json``, ``zlib``, ``hashlib``, ``base64``, Pillow to open
pictures), never ``relais.wire``'s readers. The page's tables are read too: every field a payload
carries must be documented, with its type, and every documented field must turn up in some real
payload, so a field added, renamed or dropped on either side fails here.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import itertools
import json
import pkgutil
import queue
import re
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions
from PIL import Image, ImageDraw

from controller.domain.panels import register_panel
from controller.publishing import outbox
from controller.storage.db import open_database
from controller.web.context import get_db
from panel_agent.agent import PanelAgent
from panel_agent.config import load_config
from panel_agent.field_test import PATTERNS
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from relais.mqtt import BrokerUrl, connect_in_background
from tests.support import DEMO_EPAPER, DEMO_LED, REPO

if TYPE_CHECKING:
    from tests.support.live import Live

ROOT = REPO
PAGE = (ROOT / "docs" / "wire.md").read_text(encoding="utf-8")
H = 3600


# --- the page's tables -------------------------------------------------------------------------


def _tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Every table of the page, as rows of ``{column: cell}``: a table of fields under the object its
    heading names (``#### `state` ...`` gives ``state``), any other under its first column's title."""
    found: dict[str, list[dict[str, str]]] = {}
    heading = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = line
        if line.startswith("|") and index + 1 < len(lines) and lines[index + 1].startswith("|---"):
            columns = [cell.strip() for cell in line.strip("|").split("|")]
            rows: list[dict[str, str]] = []
            index += 2
            while index < len(lines) and lines[index].startswith("|"):
                cells = [cell.strip() for cell in lines[index].strip("|").split(" | ")]
                rows.append(dict(zip(columns, cells, strict=True)))
                index += 1
            named = re.search(r"`([a-z_]+)`", heading)
            key = named.group(1) if columns[0] == "field" and named else columns[0]
            assert key not in found, f"two tables named {key!r} in docs/wire.md"
            found[key] = rows
            continue
        index += 1
    return found


TABLES = _tables(PAGE)


def _found(pattern: str, text: str) -> str:
    """The first group of ``pattern``'s first match in ``text``, which must have one."""
    match = re.search(pattern, text)
    assert match, f"no {pattern!r} in {text[:80]!r}"
    return match.group(1)


def _name(cell: str) -> str:
    """The first name in backticks of a cell."""
    return _found(r"`([^`]+)`", cell)


@dataclass(frozen=True)
class Field:
    kind: str  # the page's type column, e.g. "integer (time)", "string or null", "array of `item`"
    always: bool


# What each documented object is made of, by the page.
OBJECTS: dict[str, dict[str, Field]] = {
    key: {_name(row["field"]): Field(row["type"], row["presence"] == "always") for row in rows}
    for key, rows in TABLES.items()
    if rows and "presence" in rows[0]
}
KINDS = {_name(row["kind"]) for row in TABLES["kind"]}
LIMITS = {_name(row["constant"]): int(row["value"]) for row in TABLES["constant"]}
JSON_TYPES: dict[str, Any] = {
    "integer": int,
    "number": (int, float),
    "string": str,
    "boolean": bool,
    "array": list,
    "object": dict,
    "attachment": bytes,
}


def _of_type(value: Any, kind: str) -> bool:
    """Whether a value is of the page's type: ``integer``, ``string or null``, ``array of `x```, an
    object named in backticks, ..."""
    if value is None:
        return "or null" in kind
    word = kind.split()[0]
    expected = dict if word.strip("`") in OBJECTS else JSON_TYPES[word]
    return isinstance(value, expected) and (expected is bool or not isinstance(value, bool))


class Seen:
    """The fields of each documented object met in real payloads, checked against the page as they come."""

    def __init__(self) -> None:
        self.fields: dict[str, set[str]] = defaultdict(set)

    def check(self, name: str, data: Any) -> dict[str, Any]:
        documented = OBJECTS[name]
        assert isinstance(data, dict), f"a {name} is a JSON object, not {data!r}"
        extra = set(data) - set(documented)
        assert not extra, f"{name} carries {sorted(extra)}, which docs/wire.md does not document"
        missing = {key for key, field in documented.items() if field.always} - set(data)
        assert not missing, f"{name} lacks {sorted(missing)}, which docs/wire.md says are always there"
        for key, value in data.items():
            assert _of_type(value, documented[key].kind), (
                f"{name}.{key} = {value!r} is not {documented[key].kind}"
            )
        self.fields[name] |= set(data)
        return data

    def all_met(self, *names: str) -> None:
        """Every documented field of these objects was in some real payload: none is documented for nothing."""
        for name in names:
            never = set(OBJECTS[name]) - self.fields[name]
            assert not never, f"docs/wire.md documents {name} fields no real payload carried: {sorted(never)}"


# --- reading by the page alone -------------------------------------------------------------------


def public_key(line: str) -> Ed25519PublicKey:
    """Keys: ``ed25519:`` then the standard base64 of the 32 raw bytes."""
    assert line.startswith("ed25519:")
    raw = base64.b64decode(line.removeprefix("ed25519:"), validate=True)
    assert len(raw) == 32 and len(line) == len("ed25519:") + 44
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class Parts:
    """A sealed message cut as the page says, its signature verified."""

    header: bytes  # without its line feed
    body: bytes
    line: bytes  # the JSON line, without its line feed
    attachments: list[bytes]
    data: dict[str, Any]  # the JSON with every {"blob": i} replaced by attachment i


def unseal(payload: bytes, key: Ed25519PublicKey) -> Parts:
    """Sealed messages: header line, Ed25519 over the body, JSON line, attachments by ``blobs``."""
    assert len(payload) <= LIMITS["MAX_PAYLOAD_BYTES"]
    header, newline, body = payload.partition(b"\n")
    assert newline and len(header) <= LIMITS["MAX_HEADER_BYTES"]
    magic, algorithm, signature = header.decode("ascii").split(" ")
    assert (magic, algorithm) == ("relais/2", "Ed25519")
    raw_signature = base64.b64decode(signature, validate=True)
    assert (len(signature), len(raw_signature), len(header)) == (88, 64, 105)
    key.verify(raw_signature, body)  # raises InvalidSignature otherwise
    line, newline, attached = body.partition(b"\n")
    assert newline
    data = json.loads(line.decode("utf-8"))
    lengths = data.get("blobs", [])
    assert sum(lengths) == len(attached), "the attachments are exactly the bytes after the JSON line"
    bounds = itertools.pairwise(itertools.accumulate(lengths, initial=0))
    attachments = [attached[start:end] for start, end in bounds]
    if not attachments:
        assert "blobs" not in data
    return Parts(header, body, line, attachments, _resolve(data, attachments))


def _resolve(value: Any, attachments: list[bytes]) -> Any:
    if isinstance(value, list):
        return [_resolve(element, attachments) for element in value]
    if isinstance(value, dict):
        if value.keys() == {"blob"}:
            return attachments[value["blob"]]
        return {key: _resolve(element, attachments) for key, element in value.items()}
    return value


def content_of(parts: Parts, seen: Seen, *, kind: str, panel_id: str) -> dict[str, Any]:
    body = seen.check("body", parts.data)
    assert (body["v"], body["kind"], body["panel"]) == (2, kind, panel_id)
    assert body["expires_at"] > body["issued_at"]
    return body["content"]


def sha256(data: bytes) -> str:
    """Content hashes: ``sha256:`` and 64 lowercase hexadecimal digits."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def frame_of(frame: dict[str, Any], seen: Seen, size: tuple[int, int]) -> str:
    """A frame checked (one of png and webp, an image of its declared size); its content hash."""
    seen.check("frame", frame)
    codecs = [codec for codec in ("png", "webp") if codec in frame]
    assert len(codecs) == 1
    data = frame[codecs[0]]
    assert (frame["width"], frame["height"]) == size
    assert frame["width"] * frame["height"] <= LIMITS["MAX_FRAME_PIXELS"]
    with Image.open(io.BytesIO(data), formats=[codecs[0].upper()]) as image:
        assert image.size == size
    return sha256(data)


@dataclass(frozen=True)
class Item:
    item_id: str
    content_hash: str
    first_frame: str  # the first page's frame hash
    frames: tuple[str, ...]  # every frame's hash, flash frames included: a state's screenshot_frame names one


def schedule_of(
    content: dict[str, Any], seen: Seen, size: tuple[int, int]
) -> tuple[dict[str, Any], list[Item]]:
    """Schedules, every table and rule; the items with their hashes made as ``Content hashes`` says."""
    assert set(content) == {"schedule"}
    schedule = seen.check("schedule", content["schedule"])
    assert len(schedule["items"]) <= LIMITS["MAX_ITEMS"]
    assert len(schedule["segments"]) <= LIMITS["MAX_SEGMENTS"]
    items: list[Item] = []
    for item in schedule["items"]:
        seen.check("item", item)
        assert 1 <= len(item["pages"]) <= LIMITS["MAX_PAGES"]
        text, frames, flashes = "", [], []
        for page in item["pages"]:
            seen.check("page", page)
            assert LIMITS["MIN_DWELL_MS"] <= page["dwell_ms"] <= LIMITS["MAX_DWELL_MS"]
            frames.append(frame_of(page["frame"], seen, size))
            text += f"{frames[-1]}|{page['dwell_ms']}|"
            if "flash" in page:
                flash = seen.check("flash", page["flash"])
                assert LIMITS["MIN_FLASH_MS"] <= flash["period_ms"] <= LIMITS["MAX_DWELL_MS"]
                flashes.append(frame_of(flash["frame"], seen, size))
                text += f"{flashes[-1]}|{flash['period_ms']}|"
        items.append(Item(item["item_id"], sha256(text.encode("ascii")), frames[0], (*frames, *flashes)))
    previous_end = None
    for segment in schedule["segments"]:
        seen.check("segment", segment)
        assert segment["start"] < segment["end"] <= schedule["horizon_end"]
        assert previous_end is None or previous_end <= segment["start"]
        previous_end = segment["end"]
        assert not (segment.get("blank") and segment["playlist"])
        for entry in segment["playlist"]:
            seen.check("entry", entry)
            assert 0 <= entry["item"] < len(items)
            if "dwell_ms" in entry:
                assert LIMITS["MIN_DWELL_MS"] <= entry["dwell_ms"] <= LIMITS["MAX_DWELL_MS"]
    if "fallback" in schedule:
        assert 0 <= schedule["fallback"] < len(items)
    steps = schedule.get("brightness", [])
    if "brightness" in schedule:  # left out when there are none
        assert 1 <= len(steps) <= LIMITS["MAX_BRIGHTNESS_STEPS"]
    for step in steps:
        seen.check("step", step)
        assert schedule["segments"][0]["start"] <= step["start"] < step["end"] <= schedule["horizon_end"]
        assert 1 <= step["level"] <= LIMITS["FULL_BRIGHTNESS"]
    return schedule, items


def events_of(payload: bytes, seen: Seen) -> tuple[list[dict[str, Any]], bool]:
    """Panel events: a JSON list, deflated (zlib, first byte 0x78) past DEFLATE_EVENTS_ABOVE; whether it was."""
    assert len(payload) <= LIMITS["MAX_EVENTS_BATCH_BYTES"]
    deflated = payload[:1] == b"\x78"
    text = zlib.decompress(payload) if deflated else payload
    assert len(text) <= LIMITS["MAX_EVENTS_BATCH_BYTES"]
    if deflated:
        assert len(text) > LIMITS["DEFLATE_EVENTS_ABOVE"] and len(payload) < len(text)
    events = json.loads(text.decode("utf-8"))
    assert isinstance(events, list) and 1 <= len(events) <= LIMITS["MAX_EVENTS_PER_BATCH"]
    for event in events:
        seen.check("event", event)
        assert event["event"] in KINDS, f"docs/wire.md does not document events of kind {event['event']!r}"
        seen.check(event["event"], event["details"])
    return events, deflated


def screenshot_of(state: dict[str, Any]) -> Image.Image:
    """A state's own picture: standard base64 of a PNG within SCREENSHOT_MAX_SIZE."""
    data = base64.b64decode(state["screenshot"], validate=True)
    image = Image.open(io.BytesIO(data), formats=["PNG"])
    assert image.width <= 400 and image.height <= 300
    return image


# --- the page against the code -----------------------------------------------------------------


def _wire_constant(name: str) -> object:
    """A constant of the wire package, whichever of its modules defines it."""
    for info in pkgutil.iter_modules(wire.__path__):
        module = importlib.import_module(f"relais.wire.{info.name}")
        if hasattr(module, name):
            return getattr(module, name)
    raise AssertionError(f"docs/wire.md names {name}, which no module of relais.wire defines")


def test_the_limits_topics_commands_events_and_reasons_are_those_of_the_code() -> None:
    for constant, value in LIMITS.items():
        assert _wire_constant(constant) == value, f"docs/wire.md says {constant} is {value}"
    assert wire.SCREENSHOT_MAX_SIZE == (400, 300)
    topics = wire.Topics()
    documented = {
        _name(row["topic"]).replace("<id>", "p1"): (row["QoS"], row["retained"]) for row in TABLES["topic"]
    }
    assert documented == {
        topics.desired("p1"): ("1", "yes"),
        topics.cmd("p1"): ("1", "no"),
        topics.state("p1"): ("1", "yes"),
        topics.events("p1"): ("1", "no"),
    }
    commands = {
        _name(row["command name"]): re.findall(r"`([a-z_]+)`:", row["args"]) for row in TABLES["command name"]
    }
    assert commands == {name: list(args) for name, args in wire.COMMAND_ARGS.items()}
    pattern_row = next(
        row for row in TABLES["command name"] if _name(row["command name"]) == wire.COMMAND_TEST_PATTERN
    )
    assert set(re.findall(r"`([a-z]+)`(?!:)", pattern_row["args"])) == set(PATTERNS)
    kinds = {value for name, value in vars(wire).items() if name.startswith("EVENT_")}
    assert kinds == KINDS
    assert kinds <= set(OBJECTS), "every kind of event has its table of details"
    # Every refusal reason the code can give, in the wire package or the agent, is documented.
    sources = [
        *ROOT.glob("relais/wire*.py"),
        *ROOT.glob("relais/wire/*.py"),
        *ROOT.glob("panel_agent/**/*.py"),
    ]
    reasons = {
        reason for path in sources for reason in re.findall(r'WireError\(\s*"([a-z-]+)"', path.read_text())
    }
    assert {"malformed", "bad-signature", "replayed", "wrong-size", "display-failed"} <= reasons
    assert reasons == {_name(row["reason"]) for row in TABLES["reason"]}


# --- the worked example ------------------------------------------------------------------------


def test_the_worked_example_is_what_the_controller_seals_byte_for_byte() -> None:
    section = PAGE[PAGE.index("## A worked example") : PAGE.index("## Frames and sizes")]
    dump = section[section.index("```text") :].split("```")[1]
    payload = b"".join(
        bytes.fromhex(line[6:53].replace(" ", ""))
        for line in dump.splitlines()
        if re.match(r"[0-9a-f]{4}  ", line)
    )
    seed = bytes.fromhex(_found(r"seed is `([0-9a-f]{64})`", section))
    key_line = _found(r"public key\s+`(ed25519:[^`]+)`", section)
    example_key = Ed25519PrivateKey.from_private_bytes(seed)
    assert public_key(key_line).public_bytes_raw() == example_key.public_key().public_bytes_raw()

    seen = Seen()
    parts = unseal(payload, public_key(key_line))
    content = content_of(parts, seen, kind="desired", panel_id="bourg-entree-nord")
    schedule, [item] = schedule_of(content, seen, (16, 8))
    # The page's labelled parts, its lines and hashes.
    sizes = [int(row["length"]) for row in TABLES["bytes (offset, hex)"]]
    assert sizes == [
        len(parts.header) + 1,
        len(parts.body),
        len(parts.line) + 1,
        *map(len, parts.attachments),
    ]
    assert len(payload) == sum(sizes[:2]) and f"({len(payload)} bytes)" in section
    assert parts.header.decode() + "\\n" in section and parts.line.decode() in section
    assert parts.attachments[0].hex() in section
    assert item.first_frame in section and item.content_hash in section
    assert f"`{item.first_frame}|5000|`" in section
    # And the code makes exactly these bytes from the same inputs.
    resealed = wire.seal(
        example_key,
        kind=parts.data["kind"],
        panel_id=parts.data["panel"],
        seq=parts.data["seq"],
        issued_at=parts.data["issued_at"],
        expires_at=parts.data["expires_at"],
        content=content,
    )
    assert resealed == payload
    assert schedule["brightness"] == [{"start": 1_800_003_600, "end": 1_800_007_200, "level": 40}]


# --- listening on the broker -------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A message as an MQTT 5 subscriber gets it, with its retain flag as published."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    expiry_s: int | None  # its Message Expiry Interval, as the broker forwards it


class Listener:
    """An MQTT 5 client on ``filters``: what comes, in order, and a way to publish as the controller does."""

    def __init__(self, url: str, filters: list[str]) -> None:
        self.url = url
        self.log: list[Received] = []
        self._received: queue.Queue[Received] = queue.Queue()
        self._retained: set[str] = set()
        subscribed: queue.Queue[bool] = queue.Queue()
        options = SubscribeOptions(qos=1, retainAsPublished=True)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"wire-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda client, *_: client.subscribe([(topic, options) for topic in filters])
        self.client.on_subscribe = lambda *_: subscribed.put(True)
        self.client.on_message = lambda _client, _userdata, message: self._received.put(
            Received(
                message.topic,
                bytes(message.payload),
                message.qos,
                bool(message.retain),
                getattr(message.properties, "MessageExpiryInterval", None),
            )
        )
        broker = BrokerUrl.parse(url)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.get(timeout=15)

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(15)
        if retain:
            self._retained.add(topic)

    def until(self, found: Callable[[list[Received]], Any], what: str) -> Any:
        """Take what comes until ``found(self.log)`` is truthy; that value."""
        deadline = time.monotonic() + 15
        while not (result := found(self.log)):
            try:
                self.log.append(self._received.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"timed out waiting for {what}") from None
        return result

    def carrying(self, part: bytes, what: str) -> Received:
        """The first message whose payload holds ``part``, waited for."""
        found: Received = self.until(lambda log: next((m for m in log if part in m.payload), None), what)
        return found

    def close(self) -> None:
        """Leave nothing retained on the session's broker: neither what it published nor what it got."""
        for topic in self._retained | {message.topic for message in self.log if message.retain}:
            self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(15)
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def listening(url: str, filters: list[str]) -> Iterator[Listener]:
    listener = Listener(url, filters)
    try:
        yield listener
    finally:
        listener.close()


# --- the controller's payloads ------------------------------------------------------------------


def full_schedule(start: int, size: tuple[int, int]) -> wire.Schedule:
    """Every optional field of a schedule: a flashing page, an entry's own dwell, a blank segment, a
    fallback, brightness. Item ``msg-1`` stays up 2 s, ``msg-2`` 1 s (its entry's dwell, not its 4 s)."""

    def frame(text: str, ink: str = "black") -> wire.Frame:
        image = Image.new("RGB", size, "white")
        ImageDraw.Draw(image).text((10, 10), text, fill=ink)
        return wire.Frame.from_image(image)

    first = wire.DisplayItem("msg-1", "", (wire.Page(frame("un"), 2000, frame("un", "red"), 500),))
    second = wire.DisplayItem("msg-2", "", (wire.Page(frame("deux"), 4000),))
    fallback = wire.DisplayItem("commune-01053", "", (wire.Page(frame("Bourg"), 3000),))
    return wire.Schedule(
        items=(first, second, fallback),
        segments=(
            wire.Segment(start, start + H, (wire.PlaylistEntry(0), wire.PlaylistEntry(1, dwell_ms=1000))),
            wire.Segment(start + H, start + 2 * H, blank=True),
        ),
        horizon_end=start + 48 * H,
        fallback=2,
        brightness=(wire.BrightnessStep(start, start + H // 2, 30),),
    )


def sealed_schedule(
    key: Ed25519PrivateKey, panel_id: str, seq: int, schedule: wire.Schedule, start: int
) -> bytes:
    """The controller's sealing of a schedule for 48 hours from ``start``."""
    return wire.seal(
        key,
        kind=wire.KIND_DESIRED,
        panel_id=panel_id,
        seq=seq,
        issued_at=start,
        expires_at=start + 48 * H,
        content={"schedule": schedule.to_json()},
    )


# An LED panel with quiet hours (blank segments) and dimming (brightness steps), and an e-paper panel
# (WebP frames).
LED = {**DEMO_LED, "id": "wire-led", "name": "wire-led", "quiet_hours": "23:00-06:00", "brightness": "sun"}
PANELS = {LED["id"]: (LED, (192, 64)), DEMO_EPAPER["id"]: (DEMO_EPAPER, (800, 480))}


def test_schedules_and_commands_of_the_controller_read_with_the_page_alone(live_mosquitto: Live) -> None:
    live, seen = live_mosquitto, Seen()
    with live.app.app_context():
        register_panel(get_db(), LED)
    key = public_key((live.data_dir / "keys" / "controller-signing.pub").read_text().strip())
    topics = live.topics
    with listening(
        live.broker.url, [f"{topics.base}/panels/+/desired", f"{topics.base}/panels/+/cmd"]
    ) as on_wire:
        posted = live.post("Marché de Noël samedi place Bernard", list(PANELS))
        with live.app.app_context():
            rows = {row["panel_id"]: row for row in get_db().query("select * from desired")}
        codecs: set[str] = set()
        for panel_id, (spec, size) in PANELS.items():
            row = rows[panel_id]
            # On the wire, the very bytes of the outbox: retained, QoS 1, expiring with the schedule.
            message = on_wire.carrying(row["payload"], f"the schedule of {panel_id}")
            assert (message.topic, message.qos, message.retain) == (topics.desired(panel_id), 1, True)
            assert message.expiry_s is not None
            assert (
                0
                < row["expires_at"] - time.time()
                <= message.expiry_s
                <= row["expires_at"] - row["issued_at"]
            )
            parts = unseal(message.payload, key)
            content = content_of(parts, seen, kind="desired", panel_id=panel_id)
            assert (parts.data["seq"], parts.data["issued_at"], parts.data["expires_at"]) == (
                row["seq"],
                row["issued_at"],
                row["expires_at"],
            )
            assert parts.data["expires_at"] - parts.data["issued_at"] == 48 * H
            assert abs(parts.data["seq"] - parts.data["issued_at"] * 1000) < 1000  # the time in ms
            schedule, items = schedule_of(content, seen, size)
            assert items[0].item_id == f"msg-{posted['id']}"
            assert items[schedule["fallback"]].item_id == f"commune-{spec['commune_insee']}"
            codecs |= {
                codec
                for item in schedule["items"]
                for codec in ("png", "webp")
                if codec in item["pages"][0]["frame"]
            }
            if spec is LED:
                assert (
                    any(segment.get("blank") for segment in schedule["segments"]) and schedule["brightness"]
                )
        assert codecs == {"png", "webp"}

        for name, args in (
            (wire.COMMAND_TEST_PATTERN, {"pattern": "border", "seconds": 60}),
            (wire.COMMAND_REFRESH, None),
        ):
            sent = live.client.post(
                f"/api/v1/panels/{LED['id']}/commands", json={"command": name, "args": args or {}}
            )
            answer = sent.json
            assert sent.status_code == 202 and answer is not None, answer
            message = on_wire.carrying(f'"seq":{answer["seq"]},'.encode(), f"the {name} command")
            assert message.topic == topics.cmd(LED["id"])
            assert (message.qos, message.retain) == (1, False) and 0 < (message.expiry_s or 0) <= 300
            parts = unseal(message.payload, key)
            command = seen.check("command", content_of(parts, seen, kind="cmd", panel_id=LED["id"]))
            assert command == ({"command": name, "args": args} if args else {"command": name})
            assert parts.data["seq"] == answer["seq"]
            assert parts.data["expires_at"] == parts.data["issued_at"] + 300

    # A schedule with every optional field the controller's rules may not have put in these two.
    start, example_key = int(time.time()), Ed25519PrivateKey.from_private_bytes(bytes(32))
    payload = sealed_schedule(example_key, "p", 1, full_schedule(start, (192, 64)), start)
    content = content_of(unseal(payload, example_key.public_key()), seen, kind="desired", panel_id="p")
    schedule_of(content, seen, (192, 64))
    seen.all_met("body", "schedule", "item", "page", "flash", "frame", "segment", "entry", "step", "command")


# --- a real agent's reports ----------------------------------------------------------------------


class Clocks:
    """The agent's wall and monotonic clocks, moved by the test only: its rotation turns when told."""

    def __init__(self, wall: float) -> None:
        self.wall, self.mono = wall, 1000.0

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def states(log: list[Received], topics: wire.Topics, panel_id: str) -> list[dict[str, Any]]:
    return [
        json.loads(message.payload)
        for message in log
        if message.topic == topics.state(panel_id) and message.payload
    ]


def events(log: list[Received], topics: wire.Topics, panel_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for message in log:
        if message.topic == topics.events(panel_id):
            text = zlib.decompress(message.payload) if message.payload[:1] == b"\x78" else message.payload
            found += json.loads(text)
    return found


def test_a_real_agent_reports_what_the_page_says(broker: MosquittoBroker, tmp_path: Path) -> None:
    panel_id = f"wire-{uuid.uuid4().hex[:8]}"
    topics = wire.Topics(f"test-{uuid.uuid4().hex[:8]}/relais/v1")
    size = (800, 480)  # an e-paper panel: its own screenshots are the small 8-colour copy
    key = Ed25519PrivateKey.generate()
    key_line = "ed25519:" + base64.b64encode(key.public_key().public_bytes_raw()).decode()
    # The key line written as the page says, not by relais: the agent must take it.
    (tmp_path / "agent.toml").write_text(
        f'panel_id = "{panel_id}"\nbroker_url = "{broker.url}"\ntopic_base = "{topics.base}"\n'
        f'controller_public_key = "{key_line}"\nstate_dir = "state"\n'
        f'[backend]\nname = "simulated"\noutput_dir = "screens"\nwidth = {size[0]}\nheight = {size[1]}\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "agent.toml")
    # A stored schedule spoilt on the card: a fault until a genuine schedule is kept.
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / f"{panel_id}.desired.json").write_bytes(b"relais/2 Ed25519 spoilt\n{}\n")
    start = int(time.time())
    clocks = Clocks(start)
    agent = PanelAgent(config, clock=clocks.time, monotonic=clocks.monotonic)
    # Offline, more events than the agent keeps: the oldest go, and the gap is reported.
    for _ in range(10_001):
        agent.handle_command(b"not sealed")
    agent.resume()  # the spoilt stored schedule: a fault
    controller = Listener(broker.url, [topics.state(panel_id), topics.events(panel_id)])
    try:
        # Driven as a fleet simulator drives its agents: its client, and the rotation turned by hand.
        connect_in_background(agent.mqtt_client(), config.broker_url)
        everything = 10_000 + 1  # the events kept, and the drop report
        controller.until(lambda log: len(events(log, topics, panel_id)) >= everything, "the backlog")

        schedule = full_schedule(start, size)
        seq = start * 1000
        sealed = sealed_schedule(key, panel_id, seq, schedule, start)
        controller.publish(topics.desired(panel_id), sealed, retain=True)
        controller.until(
            lambda log: any(s["applied_seq"] == seq for s in states(log, topics, panel_id)), "applied"
        )
        # A minute and a half of the rotation, turn by turn: msg-1 for 2 s, msg-2 for 1 s, in a loop.
        for _ in range(90):
            clocks.advance(1.0)
            agent.turn()
        # The sums of plays wait for the hour's end, or the agent's stop.

        db = open_database(tmp_path / "controller.storage.db")
        register_panel(db, {**DEMO_EPAPER, "id": panel_id, "name": panel_id})
        command_seqs = set()
        for name, args in (
            (wire.COMMAND_SCREENSHOT, None),
            (wire.COMMAND_BRIGHTNESS, {"level": 150}),
            (wire.COMMAND_TEST_PATTERN, {"pattern": "border", "seconds": 60}),
        ):
            command_seq, command = outbox.seal_command(db, key, panel_id, name, time.time(), args)
            controller.publish(topics.cmd(panel_id), command, retain=False)
            command_seqs.add(command_seq)
        controller.until(
            lambda log: command_seqs <= {e["details"].get("seq") for e in events(log, topics, panel_id)},
            "the acknowledgements",
        )
        tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
        controller.publish(topics.desired(panel_id), tampered, retain=False)
        controller.until(
            lambda log: any(
                e["details"].get("reason") == "bad-signature" for e in events(log, topics, panel_id)
            ),
            "the refusal",
        )
    finally:
        agent.stop()
    try:
        controller.until(lambda log: not states(log, topics, panel_id)[-1]["online"], "the goodbye")
        check_reports(controller.log, panel_id, topics, sealed, key_line, start + 90)
    finally:
        controller.close()


def showings(
    schedule: dict[str, Any], segment: dict[str, Any], until: int
) -> Iterator[tuple[str, float, float]]:
    """The showings of a segment's playlist that end by ``until``, by the page's rules: the playlist from
    the segment's start, in a loop, each entry as long as its item's pages, each page up for its own
    dwell or, when the entry has one, the entry's."""
    at_ms = segment["start"] * 1000
    for entry in itertools.cycle(segment["playlist"]):
        item = schedule["items"][entry["item"]]
        length_ms = sum(entry.get("dwell_ms", page["dwell_ms"]) for page in item["pages"])
        if at_ms + length_ms > until * 1000:
            return
        yield item["item_id"], at_ms / 1000, (at_ms + length_ms) / 1000
        at_ms += length_ms


def check_reports(
    log: list[Received], panel_id: str, topics: wire.Topics, sealed: bytes, key: str, played_until: int
) -> None:
    """Everything the agent published, read by the page alone, against the schedule it was ``sealed``
    (read by the page too): its rotation turned until ``played_until``."""
    content = content_of(unseal(sealed, public_key(key)), Seen(), kind="desired", panel_id=panel_id)
    schedule, page_items = schedule_of(content, Seen(), (800, 480))
    items = {item.item_id: item for item in page_items}
    seq = json.loads(sealed.split(b"\n")[1])["seq"]
    seen = Seen()
    state_messages = [m for m in log if m.topic == topics.state(panel_id) and m.payload]
    assert all((m.qos, m.retain) == (1, True) for m in state_messages)
    all_states = [seen.check("state", json.loads(m.payload)) for m in state_messages]
    applied = next(s for s in all_states if s["applied_seq"] == seq)
    on_air = items[applied["item_id"]]
    assert applied["content_hash"] == on_air.content_hash
    assert applied["screenshot_frame"] in on_air.frames and "screenshot" not in applied
    assert applied["brightness"] == 30  # the schedule's first step
    first = all_states[0]
    assert first["applied_seq"] == 0 and first["faults"] and "screenshot" not in first
    # After the screenshot command: the panel's own picture, the e-paper frame's 8-colour copy.
    own = next(s for s in all_states if "screenshot" in s and s["item_id"] is not None)
    picture = screenshot_of(own)
    assert picture.size == (400, 240) and len(picture.convert("RGB").getcolors(256) or []) <= 8
    # During the test pattern, nothing on air and the pattern's picture.
    pattern = next(s for s in all_states if "screenshot" in s and s["item_id"] is None)
    assert screenshot_of(pattern).size == (400, 240)
    goodbye = all_states[-1]
    assert goodbye == {
        "panel": panel_id,
        "online": False,
        "reported_at": goodbye["reported_at"],
        "item_id": None,
        "content_hash": None,
        "applied_seq": 0,
        "agent_version": None,
        "uptime_s": 0,
    }
    for state in all_states:
        assert state["panel"] == panel_id
        if "screenshot_frame" in state:
            assert (
                re.fullmatch(r"sha256:[0-9a-f]{64}", state["screenshot_frame"]) and "screenshot" not in state
            )
    # Every field a state can carry: the agent's, and those its board may not have (temperature, Wi-Fi).
    every = {
        "reported_at": 1_800_000_000,
        "item_id": "msg-1",
        "content_hash": items["msg-1"].content_hash,
        "applied_seq": seq,
        "agent_version": "1.0",
        "uptime_s": 60,
        "brightness": 50,
        "faults": ("OSError: the panel does not answer",),
        "disk_free_mb": 900,
        "cpu_temp_c": 41.5,
        "backend": "simulated 800x480 (rgb, partial refresh, dimming)",
        "link_quality": 80,
    }
    pictures = ({"screenshot_png": b"\x89PNG"}, {"screenshot_frame": items["msg-1"].first_frame})
    assert {field.name for field in fields(wire.PanelState)} == {
        "panel_id",
        "online",
        *every,
        *pictures[0],
        *pictures[1],
    }
    for picture_field in pictures:
        seen.check(
            "state", json.loads(wire.PanelState(panel_id, True, **every, **picture_field).to_payload())
        )

    batches: list[tuple[list[dict[str, Any]], bool]] = []
    for message in (m for m in log if m.topic == topics.events(panel_id)):
        assert (message.qos, message.retain) == (1, False)
        batches.append(events_of(message.payload, seen))
    assert any(deflated for _, deflated in batches) and not all(deflated for _, deflated in batches)
    everything = [event for batch, _ in batches for event in batch]
    assert all(event["panel"] == panel_id for event in everything)
    by_kind: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in everything:
        by_kind[event["event"]].append(event["details"])
    # The backlog: its drop report first, then the 10,000 events kept, 100 a message.
    assert batches[0][0][0]["event"] == "events_dropped"
    dropped = by_kind["events_dropped"][0]
    assert dropped["count"] == 2 and dropped["first_at"] <= dropped["last_at"]
    assert [len(batch) for batch, _ in batches[:101]] == [100] * 100 + [1]
    assert by_kind["fault"][0]["code"] == "StoredContentError"
    assert by_kind["fault"][1] == {"cleared": True, "was": by_kind["fault"][0]["detail"]}
    assert by_kind["displayed"] == [
        {"item_id": "msg-1", "content_hash": items["msg-1"].content_hash, "seq": seq}
    ]
    assert {(d["item_id"], d["content_hash"]) for d in by_kind["on_air"]} == {
        (item.item_id, item.content_hash) for item in items.values() if item.item_id != "commune-01053"
    }
    # Proof of play: every showing of the first 90 s as "What the panel shows, when" makes them, and the
    # one the test pattern cut as it began, summed per item and hour as the page says, sent at the stop.
    segment = schedule["segments"][0]
    cut = next(s for s in showings(schedule, segment, played_until + 60) if s[1] == played_until)
    made = [*showings(schedule, segment, played_until), (cut[0], played_until, played_until)]
    expected: dict[tuple[str, int], list[float]] = {}
    for item_id, started, ended in made:
        figures = expected.setdefault((item_id, int(started // 3600 * 3600)), [0, 0.0, started, ended])
        figures[0] += 1
        figures[1] += ended - started
        figures[2], figures[3] = min(figures[2], started), max(figures[3], ended)
    sums = {
        (s["item_id"], s["hour"]): [s["count"], s["seconds"], s["first_start"], s["last_end"]]
        for s in by_kind["play_hours"]
    }
    assert sums == expected
    assert all(s["content_hash"] == items[s["item_id"]].content_hash for s in by_kind["play_hours"])
    # An older agent's play, as the controller still reads it.
    old_play = {
        "item_id": "msg-1",
        "content_hash": items["msg-1"].content_hash,
        "started_at": 1.5,
        "ended_at": 3.5,
    }
    seen.check(
        "play", json.loads(wire.PanelEvent(panel_id, wire.EVENT_PLAY, 3, old_play).to_payload())["details"]
    )
    acks = {ack["command"]: ack for ack in by_kind["ack"]}
    assert acks["screenshot"]["ok"] and acks["test_pattern"]["ok"]
    refused = acks["brightness"]
    assert (refused["ok"], refused["reason"], refused["field"]) == (False, "bad-args", "args.level")
    assert refused["detail"]
    reasons = {refusal["reason"] for refusal in by_kind["refused"]}
    assert reasons == {"malformed", "bad-signature"}
    assert {refusal["topic"] for refusal in by_kind["refused"]} == {
        topics.cmd(panel_id),
        topics.desired(panel_id),
    }
    seen.all_met("state", "event", *KINDS)
