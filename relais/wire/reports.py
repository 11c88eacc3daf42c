"""Panel reports (panel -> controller), plain JSON: a panel's retained state and its last will, and the
events it sends in batches, deflated when large."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from relais.wire.fields import WireError, decode_base64, optional, parse_json, required
from relais.wire.frames import CONTENT_HASH_PATTERN
from relais.wire.schedule import FULL_BRIGHTNESS
from relais.wire.topics import MAX_PAYLOAD_BYTES

EVENT_DISPLAYED = "displayed"
EVENT_REFUSED = "refused"
EVENT_ACK = "ack"
EVENT_FAULT = "fault"  # a hardware problem starts (details: code, detail) or ends (cleared: true)
# Proof of play: an item went on air for the first time under its schedule; the showings of an item
# in an hour, summed on the panel (``panel_agent.agent.play_hours``); a showing of it ended (agents
# before the sums: still accepted).
EVENT_ON_AIR = "on_air"
EVENT_PLAY_HOURS = "play_hours"
EVENT_PLAY = "play"
# Events a panel could not keep while offline (its queue is bounded): the gap in its proof of play.
EVENT_EVENTS_DROPPED = "events_dropped"
# A batch of panel events larger than this goes deflated (``join_events``): a backlog, or an hour's
# sums of plays, not the few events of a new schedule, which would gain little. zlib's streams start
# with this byte at the default window, where JSON cannot.
DEFLATE_EVENTS_ABOVE = 1024
ZLIB_FIRST_BYTE = b"\x78"
# One message of panel events, at most: an agent sends a backlog 100 events a message, and a real event
# is about 250 bytes (600 with a long fault or refusal), so 100 of them come to 25 to 60 KB. Twice that
# at most, or the message is refused whole: the controller never reads 2 MiB of events from a panel.
MAX_EVENTS_PER_BATCH = 100
MAX_EVENTS_BATCH_BYTES = 128 * 1024


@dataclass(frozen=True)
class PanelState:
    """What a panel says about itself; retained, and its last will says ``online: false``."""

    panel_id: str
    online: bool
    reported_at: int
    item_id: str | None = None
    content_hash: str | None = None
    applied_seq: int = 0
    agent_version: str | None = None
    uptime_s: int = 0
    screenshot_png: bytes | None = field(default=None, repr=False)
    # Instead of the picture, when it is a frame of the signed schedule (the one on screen, page and
    # flash phase as drawn): that frame's content hash. The controller has the frame and makes the
    # screenshot itself (``screenshot_png``), rather than a department's panels all sending the same
    # alert back.
    screenshot_frame: str | None = None
    brightness: int | None = None  # the level the panel is at, percent; None: never set
    faults: tuple[str, ...] = ()  # "<code>: <detail>" of each hardware problem going on now
    disk_free_mb: int | None = None  # free space where the agent keeps its schedule
    cpu_temp_c: float | None = None  # the board's temperature, where the board tells it
    backend: str | None = None  # which backend drives the panel and what it can do
    link_quality: int | None = None  # Wi-Fi link quality in percent, where the board has Wi-Fi

    def __post_init__(self) -> None:
        if self.brightness is not None and not 1 <= self.brightness <= FULL_BRIGHTNESS:
            raise WireError("malformed", f"brightness must be 1 to {FULL_BRIGHTNESS}, not {self.brightness}")

    def to_payload(self) -> bytes:
        data: dict[str, Any] = {
            "panel": self.panel_id,
            "online": self.online,
            "reported_at": self.reported_at,
            "item_id": self.item_id,
            "content_hash": self.content_hash,
            "applied_seq": self.applied_seq,
            "agent_version": self.agent_version,
            "uptime_s": self.uptime_s,
        }
        if self.brightness is not None:
            data["brightness"] = self.brightness
        if self.faults:
            data["faults"] = list(self.faults)
        for key in ("disk_free_mb", "cpu_temp_c", "backend", "link_quality"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.screenshot_png is not None:
            data["screenshot"] = base64.b64encode(self.screenshot_png).decode("ascii")
        elif self.screenshot_frame is not None:
            data["screenshot_frame"] = self.screenshot_frame
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_payload(cls, payload: bytes) -> PanelState:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise WireError("too-large", f"{len(payload)} bytes")
        data = parse_json(payload, "state")
        screenshot = data.get("screenshot") if isinstance(data, dict) else None
        return cls(
            panel_id=required(data, "panel", str),
            online=required(data, "online", bool),
            reported_at=required(data, "reported_at", int),
            item_id=optional(data, "item_id", str),
            content_hash=optional(data, "content_hash", str),
            applied_seq=optional(data, "applied_seq", int) or 0,
            agent_version=optional(data, "agent_version", str),
            uptime_s=optional(data, "uptime_s", int) or 0,
            screenshot_png=None if screenshot is None else decode_base64(screenshot, "screenshot"),
            screenshot_frame=_content_hash_field(data, "screenshot_frame"),
            brightness=optional(data, "brightness", int),
            faults=tuple(_faults(data)),
            disk_free_mb=optional(data, "disk_free_mb", int),
            cpu_temp_c=_number(data, "cpu_temp_c"),
            backend=optional(data, "backend", str),
            link_quality=optional(data, "link_quality", int),
        )


def _content_hash_field(data: Any, name: str) -> str | None:
    value: str | None = optional(data, name, str)
    if value is not None and not CONTENT_HASH_PATTERN.fullmatch(value):
        raise WireError("malformed", f"{name} must be 'sha256:' and 64 hexadecimal digits")
    return value


def _faults(data: Any) -> list[str]:
    faults = optional(data, "faults", list) or []
    if not all(isinstance(fault, str) for fault in faults):
        raise WireError("malformed", "faults must be a list of strings")
    return faults


def _number(data: Any, name: str) -> float | None:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise WireError("malformed", f"field {name!r} must be a number")
    return float(value)


def offline_state(panel_id: str, reported_at: int) -> PanelState:
    """The last will: registered at connect time, published by the broker if the panel vanishes.

    Its ``reported_at`` is therefore the connection time, not the moment of the loss: the controller
    dates an offline state by when it receives it.
    """
    return PanelState(panel_id=panel_id, online=False, reported_at=reported_at)


@dataclass(frozen=True)
class PanelEvent:
    """Something that happened on a panel: a display, a refused payload, a command acknowledged."""

    panel_id: str
    event: str
    at: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> bytes:
        data = {"panel": self.panel_id, "event": self.event, "at": self.at, "details": self.details}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: Any) -> PanelEvent:
        return cls(
            panel_id=required(data, "panel", str),
            event=required(data, "event", str),
            at=required(data, "at", int),
            details=optional(data, "details", dict) or {},
        )


def join_events(payloads: Sequence[bytes]) -> bytes:
    """Events reported together, as one message: a JSON list of ``PanelEvent.to_payload()`` objects,
    deflated (zlib) when that is smaller.

    A new schedule's on_air and displayed go in one message rather than two, and what is for reports
    waits to go with others (``panel_agent.agent``): fewer messages for the broker and the controller.
    A backlog repeats the same items and hashes, and deflates about tenfold: what matters to a panel on
    a metered link.
    """
    text = b"[" + b",".join(payloads) + b"]"
    if len(text) > DEFLATE_EVENTS_ABOVE:
        deflated = zlib.compress(text)
        if len(deflated) < len(text):
            return deflated
    return text


@dataclass(frozen=True)
class EventBatch:
    """The events of one message, and the size of their JSON text (inflated): what storing them costs."""

    events: list[PanelEvent]
    size: int


def read_events(payload: bytes) -> EventBatch:
    """The events of a message on a panel's events topic: a list (``join_events``, deflated or not),
    or one event alone (agents before event batches); refused beyond MAX_EVENTS_PER_BATCH events or
    MAX_EVENTS_BATCH_BYTES, deflated or not, before any JSON is parsed."""
    if len(payload) > MAX_EVENTS_BATCH_BYTES:
        raise WireError("too-large", f"{len(payload)} bytes of events, the limit is {MAX_EVENTS_BATCH_BYTES}")
    if payload[:1] == ZLIB_FIRST_BYTE:  # JSON never starts with "x"
        payload = _inflate(payload, MAX_EVENTS_BATCH_BYTES)
    data = parse_json(payload, "events")
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_EVENTS_PER_BATCH:
        raise WireError(
            "too-large", f"{len(items)} events in one message, the limit is {MAX_EVENTS_PER_BATCH}"
        )
    return EventBatch([PanelEvent.from_json(item) for item in items], len(payload))


def events_from_payload(payload: bytes) -> list[PanelEvent]:
    """``read_events`` without the size."""
    return read_events(payload).events


def _inflate(payload: bytes, limit: int) -> bytes:
    """A deflated batch, refused beyond ``limit`` bytes once inflated: no zlib bomb from a panel."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(payload, limit)
    except zlib.error as exc:
        raise WireError("malformed", f"events are not valid zlib ({exc})") from None
    if inflater.unconsumed_tail:
        raise WireError("too-large", f"events inflate past {limit} bytes")
    if not inflater.eof:
        raise WireError("malformed", "the deflated events are cut short")
    return text
