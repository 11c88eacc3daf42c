"""Bad input never hurts a panel: random payloads thrown at ``handle_desired`` and ``handle_command``.

A panel hangs off an untrusted network; whatever arrives, nothing may escape the handlers (it would
stop paho's network thread), a refused payload leaves the frame on the panel, its brightness and
``applied_seq`` as they were, and a genuine payload afterwards is still followed. The agent is not
started: its events wait in its queue and no broker is needed.
"""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from panel_agent.agent import PanelAgent
from panel_agent.config import load_config
from panel_agent.field_test import PATTERNS
from relais import wire
from tests.support.agents import HEIGHT, WIDTH, RecordingBackend, page, picture, pixels, write_config

NOW = 1_800_000_000
PANEL = "fuzz-panel"
FUZZ = settings(max_examples=150, deadline=None)
HUGE = [2**31, 2**63, 2**64, 10**30, -(10**30), -1, 0, 1e308, -1e308, 0.5]


def sign(key: Ed25519PrivateKey, body: Any) -> bytes:
    """A payload signed with the right key around any body at all, as ``wire.seal`` would make it."""
    return wire.envelope(key, wire.encode_body(body))


def base_schedule() -> dict[str, Any]:
    """A schedule with a bit of everything to mutate: flashing and multi-page items, a playlist with
    its own dwell, quiet hours, a fallback and brightness steps."""
    flashing = wire.DisplayItem("flash", "Alerte", (page(picture(1), 4000, flash=picture(2), flash_ms=500),))
    paged = wire.DisplayItem("paged", "Avis", (page(picture(3), 3000), page(picture(4), 3000)))
    segments = (
        wire.Segment(NOW - 10, NOW + 600, (wire.PlaylistEntry(0), wire.PlaylistEntry(1, dwell_ms=2000))),
        wire.Segment(NOW + 600, NOW + 1200, blank=True),
    )
    brightness = (wire.BrightnessStep(NOW - 10, NOW + 300, 40),)
    schedule = wire.Schedule((flashing, paged), segments, NOW + 7200, fallback=1, brightness=brightness)
    return schedule.to_json()


BASE_SCHEDULE = base_schedule()


def desired_body(seq: int) -> dict[str, Any]:
    return {
        "v": wire.PROTOCOL_VERSION,
        "kind": wire.KIND_DESIRED,
        "panel": PANEL,
        "seq": seq,
        "issued_at": NOW - 10,
        "expires_at": NOW + 3600,
        "content": {"schedule": copy.deepcopy(BASE_SCHEDULE)},
    }


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, containers included, as a tuple of keys and indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


BODY_PATHS = [path for path in paths(desired_body(1)) if path]
FRAME_PATHS = [path for path in BODY_PATHS if path[-1] == "frame"]


def frame_json(image: Image.Image, *, width: int | None = None, height: int | None = None) -> dict[str, Any]:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {
        "width": image.width if width is None else width,
        "height": image.height if height is None else height,
        "png": buffer.getvalue(),
    }


BAD_FRAMES: list[dict[str, Any]] = [
    frame_json(Image.new("RGB", (WIDTH + 1, HEIGHT))),
    frame_json(Image.new("RGB", (WIDTH, HEIGHT - 1))),
    frame_json(Image.new("RGB", (1, 1))),
    frame_json(Image.new("RGB", (WIDTH, HEIGHT)), width=WIDTH * 2),  # declared size is not the PNG's
    frame_json(Image.new("RGB", (WIDTH, HEIGHT)), width=10**6, height=10**6),
    # Other palettes and modes, of the right size.
    *(frame_json(Image.new(mode, (WIDTH, HEIGHT))) for mode in ("1", "L", "P", "RGBA", "LA", "I;16")),
    {"width": WIDTH, "height": HEIGHT, "png": b"\x89PNG\r\n"},
    {"width": WIDTH, "height": HEIGHT, "png": "a string, not an attachment"},
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(HUGE)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def set_at(body: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        body = body[key]
    body[path[-1]] = value


def mutate(body: dict[str, Any], mutation: tuple[Any, ...]) -> dict[str, Any]:
    kind, path, value = mutation
    if kind == "delete":
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    elif kind == "unknown":
        target = body
        for key in path:
            target = target[key]
        if isinstance(target, dict):
            target[f"unknown-{value[0]}"] = value[1]
        else:
            set_at(body, path, {"unknown": value[1]})
    else:  # replace, huge number, bad frame
        set_at(body, path, value)
    return body


mutations = st.one_of(
    st.tuples(st.just("replace"), st.sampled_from(BODY_PATHS), json_values),
    st.tuples(st.just("huge"), st.sampled_from(BODY_PATHS), st.sampled_from(HUGE)),
    st.tuples(st.just("delete"), st.sampled_from(BODY_PATHS), st.none()),
    st.tuples(st.just("unknown"), st.sampled_from(BODY_PATHS), st.tuples(st.text(max_size=8), json_values)),
    st.tuples(st.just("frame"), st.sampled_from(FRAME_PATHS), st.sampled_from(BAD_FRAMES)),
)


@dataclass
class Harness:
    agent: PanelAgent
    recorder: RecordingBackend
    key: Ed25519PrivateKey
    seq: int = 0
    command_seq: int = 0

    def next_seq(self) -> int:
        """Newer than anything applied, even a mutated payload with a huge seq that was accepted."""
        self.seq = max(self.seq, self.agent.applied_seq) + 1
        return self.seq

    def seal_command(self, content: Any) -> bytes:
        self.command_seq += 1
        body = {
            "v": wire.PROTOCOL_VERSION,
            "kind": wire.KIND_COMMAND,
            "panel": PANEL,
            "seq": self.command_seq,
            "issued_at": NOW - 10,
            "expires_at": NOW + 300,
            "content": content,
        }
        return sign(self.key, body)

    def snapshot(self) -> tuple[Any, ...]:
        """What a passer-by and the controller could tell: the frame up, the light level, the seq."""
        shown = self.recorder.shown()
        return len(shown), shown[-1] if shown else None, tuple(self.recorder.levels()), self.agent.applied_seq

    def check_genuine_schedule_followed(self) -> None:
        seq = self.next_seq()
        item = wire.DisplayItem(f"item-{seq}", "Avis", (page(picture(seq), 5000),))
        schedule = wire.Schedule.single(item, start=NOW - 10, horizon_end=NOW + 7200)
        body = {**desired_body(seq), "content": {"schedule": schedule.to_json()}}
        self.agent.handle_desired(sign(self.key, body))
        assert self.agent.applied_seq == seq
        assert self.recorder.shown()[-1] == pixels(picture(seq))

    def check_genuine_command_run(self) -> None:
        levels = self.recorder.levels()
        level = 43 if levels and levels[-1] == 42 else 42
        self.agent.handle_command(self.seal_command({"command": "brightness", "args": {"level": level}}))
        assert self.recorder.levels()[-1] == level


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, signing_key: Ed25519PrivateKey) -> Harness:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    config = load_config(write_config(folder, PANEL, "mqtt://127.0.0.1:1", signing_key))
    recorder = RecordingBackend({}, panel_id=PANEL)
    agent = PanelAgent(config, backend=recorder, clock=lambda: float(NOW))
    harness = Harness(agent, recorder, signing_key)
    harness.check_genuine_schedule_followed()
    return harness


def throw(harness: Harness, payload: bytes) -> None:
    """Both handlers refuse it, change nothing, and still follow what is genuine."""
    before = harness.snapshot()
    harness.agent.handle_desired(payload)
    harness.agent.handle_command(payload)
    assert harness.snapshot() == before
    harness.check_genuine_schedule_followed()


@FUZZ
@given(payload=st.binary(max_size=4096))
def test_random_bytes(harness: Harness, payload: bytes) -> None:
    throw(harness, payload)


@FUZZ
@given(value=json_values)
def test_random_json(harness: Harness, value: Any) -> None:
    throw(harness, json.dumps(value).encode())


@FUZZ
@given(
    envelope=st.fixed_dictionaries(
        {
            "alg": st.just(wire.SIGNATURE_ALGORITHM) | json_values,
            "body": json_values.map(json.dumps) | json_values,
            "sig": st.binary(min_size=64, max_size=64).map(lambda raw: base64.b64encode(raw).decode())
            | json_values,
        },
        optional={"extra": json_values},
    )
)
def test_json_shaped_like_an_envelope(harness: Harness, envelope: dict[str, Any]) -> None:
    throw(harness, json.dumps(envelope).encode())


@FUZZ
@given(
    algorithm=st.just(wire.SIGNATURE_ALGORITHM) | st.text(max_size=10),
    signature=st.binary(min_size=64, max_size=64).map(lambda raw: base64.b64encode(raw).decode())
    | st.text(max_size=100),
    body=st.binary(max_size=256) | json_values.map(lambda value: json.dumps(value).encode() + b"\n"),
)
def test_bytes_shaped_like_a_sealed_message(
    harness: Harness, algorithm: str, signature: str, body: bytes
) -> None:
    throw(harness, f"relais/{wire.PROTOCOL_VERSION} {algorithm} {signature}\n".encode() + body)


@FUZZ
@given(blobs=json_values, attached=st.binary(max_size=64), keep=st.integers(min_value=0, max_value=2000))
def test_genuine_bodies_with_wrong_attachments(
    harness: Harness, blobs: Any, attached: bytes, keep: int
) -> None:
    """Lengths that do not add up, references to no attachment, attachments cut or garbled: refused."""
    line, _, frames = wire.encode_body(desired_body(harness.next_seq())).partition(b"\n")
    data = json.loads(line)
    assume((blobs, frames[:keep] + attached) != (data["blobs"], frames))
    data["blobs"] = blobs
    throw(harness, wire.envelope(harness.key, json.dumps(data).encode() + b"\n" + frames[:keep] + attached))


@FUZZ
@given(mutation=mutations)
def test_genuine_schedules_with_mutated_bodies(harness: Harness, mutation: tuple[Any, ...]) -> None:
    before = harness.snapshot()
    harness.agent.handle_desired(sign(harness.key, mutate(desired_body(harness.next_seq()), mutation)))
    if harness.agent.applied_seq == before[-1]:  # refused
        assert harness.snapshot() == before
    elif mutation[0] == "frame":
        # Only another palette of the right size may pass: the panel's size is all the agent checks.
        assert mutation[2]["width"] == WIDTH and mutation[2]["height"] == HEIGHT
    harness.check_genuine_schedule_followed()


def bad_value(name: str) -> st.SearchStrategy[Any]:
    """Anything but a valid value for argument ``name``."""
    if name == "pattern":
        return json_values.filter(lambda value: not (isinstance(value, str) and value in PATTERNS))
    low, high = (1, 100) if name == "level" else (1, wire.MAX_OVERRIDE_S)
    return (json_values | st.integers()).filter(
        lambda value: not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high)
    )


def good_args(name: str) -> dict[str, Any]:
    good = {"level": 50, "seconds": 5, "pattern": "border"}
    return {arg: good[arg] for arg in wire.COMMAND_ARGS[name]}


@st.composite
def bad_commands(draw: st.DrawFn) -> dict[str, Any]:
    """Command contents that must be refused: unknown names, args that are not an object, unknown,
    missing or invalid arguments."""
    name = draw(st.sampled_from(list(wire.COMMAND_ARGS)))
    args = good_args(name)
    flaw = draw(st.sampled_from(["name", "args", "unknown", "missing", "value"]))
    if flaw == "name":
        unknown = json_values.filter(
            lambda value: not (isinstance(value, str) and value in wire.COMMAND_ARGS)
        )
        return {"command": draw(unknown), "args": args}
    if flaw == "args":
        return {"command": name, "args": draw(json_values.filter(lambda value: not isinstance(value, dict)))}
    if flaw == "unknown" or not args:
        extra = draw(st.text(max_size=8).filter(lambda key: key not in args))
        return {"command": name, "args": {**args, extra: draw(json_values)}}
    arg = draw(st.sampled_from(sorted(args)))
    if flaw == "missing":
        del args[arg]
    else:
        args[arg] = draw(bad_value(arg))
    return {"command": name, "args": args}


def runs(content: Any) -> bool:
    """Whether a panel takes this command content, by the rules both sides share."""
    try:
        wire.Command.from_content(content, patterns=PATTERNS)
    except wire.CommandError:
        return False
    return True


@FUZZ
@given(content=bad_commands())
def test_genuine_commands_with_bad_arguments(harness: Harness, content: dict[str, Any]) -> None:
    assert not runs(content)
    before = harness.snapshot()
    harness.agent.handle_command(harness.seal_command(content))
    assert harness.snapshot() == before
    harness.check_genuine_command_run()


@FUZZ
@given(content=json_values)
def test_genuine_commands_with_random_contents(harness: Harness, content: Any) -> None:
    before = harness.snapshot()
    harness.agent.handle_command(harness.seal_command(content))
    if not runs(content):  # a random {"command": "refresh"} is a genuine command
        assert harness.snapshot() == before
    harness.check_genuine_command_run()
    harness.check_genuine_schedule_followed()
