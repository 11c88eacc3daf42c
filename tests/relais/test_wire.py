"""The wire format on its own: topics, sealing, every way a payload is refused, panel reports."""

from __future__ import annotations

import base64
import io
import json
import zlib
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from relais import wire
from relais.wire import (
    BrightnessStep,
    DisplayItem,
    Frame,
    Page,
    PanelEvent,
    PanelState,
    PlaylistEntry,
    Schedule,
    Segment,
    Topics,
    WireError,
)

NOW = 1_800_000_000


def amber_frame(width: int = 192, height: int = 64) -> Frame:
    image = Image.new("P", (width, height), 0)
    image.putpalette([0, 0, 0, 255, 176, 0])
    image.paste(1, (10, 10, 60, 30))
    return Frame.from_image(image)


def sealed_desired(
    key: Ed25519PrivateKey, *, seq: int = 10, panel: str = "p1", ttl: int = 3600, pages: tuple[Page, ...] = ()
) -> bytes:
    item = DisplayItem("msg-1", "Fête de Noël « marché » 5 €", pages or (Page(amber_frame(), 5000),))
    schedule = Schedule.single(item, start=NOW, horizon_end=NOW + 48 * 3600)
    return wire.seal_schedule(key, schedule, panel_id=panel, seq=seq, issued_at=NOW, expires_at=NOW + ttl)


def test_topics_under_a_configurable_base() -> None:
    topics = Topics("dep01/relais/v1")
    assert topics.desired("p1") == "dep01/relais/v1/panels/p1/desired"
    assert topics.state("p1").endswith("/p1/state")
    assert topics.parse("dep01/relais/v1/panels/p1/events") == ("p1", "events")
    assert topics.parse("dep01/relais/v1/panels/p1/x/y") is None
    assert topics.parse("other/panels/p1/state") is None


@pytest.mark.parametrize("bad_id", ["", "P1", "a/b", "a+", "#", "é", "x" * 65])
def test_panel_ids_that_would_break_topics_are_refused(bad_id: str) -> None:
    with pytest.raises(ValueError, match="panel id"):
        Topics().desired(bad_id)


def test_a_sealed_payload_round_trips_with_its_frame(signing_key: Ed25519PrivateKey) -> None:
    sealed = wire.unseal(sealed_desired(signing_key), signing_key.public_key())
    wire.check_fresh(sealed, panel_id="p1", kind=wire.KIND_DESIRED, now=NOW + 1, last_seq=9)
    (item,) = sealed.desired_schedule().items
    assert item.item_id == "msg-1"
    assert item.frame == amber_frame()
    assert item.frame.image().getpixel((20, 20)) == 1


def test_the_header_and_body_lines_are_readable_for_mosquitto_sub(signing_key: Ed25519PrivateKey) -> None:
    header, body, frames = sealed_desired(signing_key).split(b"\n", 2)
    assert header.decode().split(" ")[:2] == ["relais/2", "Ed25519"]
    data = json.loads(body)
    assert (data["kind"], data["panel"], data["seq"]) == ("desired", "p1", 10)
    frame = data["content"]["schedule"]["items"][0]["pages"][0]["frame"]
    assert (frame["width"], frame["height"], frame["png"]) == (192, 64, {"blob": 0})
    assert data["blobs"] == [len(frames)] and frames == amber_frame().data


def test_identical_frames_travel_once(signing_key: Ed25519PrivateKey) -> None:
    pages = (Page(amber_frame(), 4000), Page(amber_frame(), 4000, amber_frame(), 500))
    payload = sealed_desired(signing_key, pages=pages)
    assert json.loads(payload.split(b"\n")[1])["blobs"] == [len(amber_frame().data)]
    assert wire.unseal(payload, signing_key.public_key()).desired_schedule().items[0].pages == pages


def test_the_message_text_stays_on_the_controller(signing_key: Ed25519PrivateKey) -> None:
    assert "Noël".encode() not in sealed_desired(signing_key)


@pytest.mark.parametrize(("original", "forged"), [(b'"panel":"p1"', b'"panel":"p2"'), (b"IEND", b"IENE")])
def test_a_tampered_body_or_frame_is_refused(
    signing_key: Ed25519PrivateKey, original: bytes, forged: bytes
) -> None:
    payload = sealed_desired(signing_key)
    assert original in payload
    with pytest.raises(WireError) as refused:
        wire.unseal(payload.replace(original, forged), signing_key.public_key())
    assert refused.value.reason == "bad-signature"


@pytest.mark.parametrize(
    "body",
    [
        b'{"v":2}',  # no end of line after the JSON
        b'{"v":2,"blobs":[5]}\nabc',  # attachments shorter than announced
        b'{"v":2,"blobs":[-1]}\n',
        b'{"v":2,"content":{"x":{"blob":0}}}\n',  # a reference to no attachment
        b"[2]\n",
    ],
)
def test_genuine_but_malformed_bodies_are_refused(signing_key: Ed25519PrivateKey, body: bytes) -> None:
    with pytest.raises(WireError) as refused:
        wire.unseal(wire.envelope(signing_key, body), signing_key.public_key())
    assert refused.value.reason == "malformed"


def test_other_protocol_versions_are_refused(signing_key: Ed25519PrivateKey) -> None:
    current = sealed_desired(signing_key)
    version_1 = json.dumps({"alg": "Ed25519", "body": "{}", "sig": "AAAA"}).encode()
    version_3 = current.replace(b"relais/2 ", b"relais/3 ", 1)
    signed_as_1 = wire.envelope(signing_key, current.split(b"\n", 1)[1].replace(b'"v":2', b'"v":1'))
    for payload in (version_1, version_3, signed_as_1):
        with pytest.raises(WireError) as refused:
            wire.unseal(payload, signing_key.public_key())
        assert refused.value.reason == "unsupported-version"


def test_a_payload_signed_by_another_key_is_refused(signing_key: Ed25519PrivateKey) -> None:
    with pytest.raises(WireError) as refused:
        wire.unseal(sealed_desired(Ed25519PrivateKey.generate()), signing_key.public_key())
    assert refused.value.reason == "bad-signature"


@pytest.mark.parametrize(
    "payload",
    [
        b'{"v": 2, "kind": "desired"}\n',
        b"relais/2 none AAAA\n{}\n",
        b"relais/2\n{}\n",
    ],
)
def test_unsigned_payloads_are_refused(payload: bytes, signing_key: Ed25519PrivateKey) -> None:
    with pytest.raises(WireError) as refused:
        wire.unseal(payload, signing_key.public_key())
    assert refused.value.reason == "unsigned"


@pytest.mark.parametrize(
    "payload",
    [b"", b"not json", b"\xff\xfe", b"[]", b"relais/2 Ed25519 %%%\n{}\n", b"relais/2 Ed25519 x y\n{}\n"],
)
def test_malformed_payloads_are_refused_not_crashed_on(
    payload: bytes, signing_key: Ed25519PrivateKey
) -> None:
    with pytest.raises(WireError):
        wire.unseal(payload, signing_key.public_key())


def test_oversized_payloads_are_refused_before_parsing(signing_key: Ed25519PrivateKey) -> None:
    with pytest.raises(WireError) as refused:
        wire.unseal(b" " * (wire.MAX_PAYLOAD_BYTES + 1), signing_key.public_key())
    assert refused.value.reason == "too-large"


@pytest.mark.parametrize(
    ("now", "last_seq", "panel", "kind", "reason"),
    [
        (NOW + 1, 10, "p1", wire.KIND_DESIRED, "replayed"),
        (NOW + 1, 11, "p1", wire.KIND_DESIRED, "replayed"),
        (NOW + 3600, 0, "p1", wire.KIND_DESIRED, "expired"),
        (NOW + 1, 0, "p2", wire.KIND_DESIRED, "wrong-panel"),
        (NOW + 1, 0, "p1", wire.KIND_COMMAND, "wrong-kind"),
    ],
)
def test_genuine_but_stale_or_misdirected_payloads_are_refused(
    signing_key: Ed25519PrivateKey, now: int, last_seq: int, panel: str, kind: str, reason: str
) -> None:
    sealed = wire.unseal(sealed_desired(signing_key), signing_key.public_key())
    with pytest.raises(WireError) as refused:
        wire.check_fresh(sealed, panel_id=panel, kind=kind, now=now, last_seq=last_seq)
    assert refused.value.reason == reason


def test_a_large_two_colour_frame_travels_as_lossless_webp_with_exactly_its_pixels() -> None:
    from tests.support import first_page

    drawn = first_page(
        "Fête de la Saint-Jean samedi 24 juin à 21 h — feu d’artifice « au stade »", "epaper-bw-800x480"
    )
    frame = Frame.from_image(drawn)
    assert frame.codec == "webp" and len(frame.data) < len(wire.encode_png(drawn))
    again = Frame.from_json(frame.to_json())
    assert again == frame
    assert again.image().convert("RGB").tobytes() == drawn.convert("RGB").tobytes()
    with Image.open(io.BytesIO(frame.png_bytes()), formats=["PNG"]) as png:
        assert png.convert("RGB").tobytes() == drawn.convert("RGB").tobytes()
    assert Frame.from_image(Image.new("P", (192, 64))).codec == "png", "small LED frames stay PNG"


def test_a_frame_names_exactly_one_readable_codec() -> None:
    frame = amber_frame()
    with pytest.raises(WireError, match="exactly one of png, webp"):
        Frame.from_json({"width": frame.width, "height": frame.height, "png": frame.data, "webp": frame.data})
    with pytest.raises(WireError, match="exactly one of png, webp"):
        Frame.from_json({"width": frame.width, "height": frame.height})
    with pytest.raises(WireError, match="not a readable WEBP"):
        Frame(frame.width, frame.height, frame.data, "webp").image()  # PNG bytes said to be WebP
    with pytest.raises(WireError, match="not a readable WEBP"):
        Frame(10, 10, b"RIFF\x00\x00\x00\x00WEBPgarbage", "webp").image()


def test_a_frame_whose_png_is_not_its_declared_size_is_refused() -> None:
    frame = amber_frame()
    lying = Frame(frame.width + 1, frame.height, frame.data)
    with pytest.raises(WireError, match="declared"):
        lying.image()
    with pytest.raises(WireError, match="not a readable PNG"):
        Frame(10, 10, b"\x89PNG garbage").image()


def test_a_typical_led_update_stays_under_one_kilobyte(signing_key: Ed25519PrivateKey) -> None:
    assert len(sealed_desired(signing_key)) < 1024


def test_panel_state_and_events_round_trip() -> None:
    state = PanelState("p1", True, NOW, "msg-1", "sha256:ab", 10, "0.1.0", 42, b"\x89PNG")
    assert PanelState.from_payload(state.to_payload()) == state
    offline = wire.offline_state("p1", NOW)
    assert PanelState.from_payload(offline.to_payload()).online is False
    event = PanelEvent("p1", wire.EVENT_REFUSED, NOW, {"reason": "expired"})
    assert wire.events_from_payload(event.to_payload()) == [event]
    with pytest.raises(WireError):
        PanelState.from_payload(b'{"panel": "p1", "online": "yes", "reported_at": 1}')


def test_screenshots_of_large_frames_are_scaled_down_keeping_the_aspect_ratio_and_colours() -> None:
    for size, expected in [((800, 600), (400, 300)), ((1872, 1404), (400, 300)), ((1000, 200), (400, 80))]:
        image = Image.new("RGB", size, "white")
        image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))  # the red ink of a bwr panel
        shot = wire.screenshot_png(Frame.from_image(image))
        with Image.open(io.BytesIO(shot)) as decoded:
            assert decoded.size == expected
            rgb = decoded.convert("RGB")
            assert rgb.getpixel((0, 0)) == (255, 0, 0) and rgb.getpixel((expected[0] - 1, 0)) == (
                255,
                255,
                255,
            )
    small = amber_frame()
    assert wire.screenshot_png(small) == small.png_bytes()


def test_a_state_names_the_schedule_frame_it_shows_instead_of_sending_it_back() -> None:
    frame = amber_frame()
    named = PanelState(
        "p1", True, NOW, "msg-1", "sha256:ab", 10, "0.1.0", 42, screenshot_frame=frame.content_hash
    )
    assert json.loads(named.to_payload())["screenshot_frame"] == frame.content_hash
    assert PanelState.from_payload(named.to_payload()) == named
    # The panel's own picture, when it has one, is what goes.
    both = replace(named, screenshot_png=b"\x89PNG")
    assert PanelState.from_payload(both.to_payload()) == replace(both, screenshot_frame=None)
    payload = json.loads(named.to_payload())
    for bad in ("sha256:AB", "md5:" + "0" * 32, "sha256:" + "0" * 63, 42):
        with pytest.raises(WireError, match="screenshot_frame"):
            PanelState.from_payload(json.dumps({**payload, "screenshot_frame": bad}).encode())


def test_the_controller_reads_its_own_sealed_payload_back_and_finds_a_frame_by_hash(
    signing_key: Ed25519PrivateKey,
) -> None:
    first, other, flash = (
        amber_frame(),
        *(Frame.from_image(Image.new("1", (192, 64), ink)) for ink in (0, 1)),
    )
    pages = (Page(first, 5000), Page(other, 5000, flash_frame=flash))
    payload = sealed_desired(signing_key, pages=pages)
    sealed = wire.read_own_sealed(payload)
    assert sealed == wire.unseal(payload, signing_key.public_key())
    schedule = sealed.desired_schedule()
    assert schedule.frame(other.content_hash) == other
    assert schedule.frame(first.content_hash) == first
    assert schedule.frame(flash.content_hash) == flash
    assert schedule.frame("sha256:" + "0" * 64) is None
    with pytest.raises(WireError, match="not a sealed payload"):
        wire.read_own_sealed(b'{"kind": "desired"}')


def test_a_department_s_groups_sealed_together_are_what_sealing_each_panel_gives(
    signing_key: Ed25519PrivateKey,
) -> None:
    """Signed on all the cores (more panels than ``SIGN_TOGETHER_FROM``), in small groups as communes are."""
    groups = [
        (
            {"schedule": wire.Schedule.single(None, start=NOW, horizon_end=NOW + n).to_json()},
            [(f"sim-{n:04d}-{k}", n) for k in range(3)],
        )
        for n in range(1, wire.SIGN_TOGETHER_FROM)
    ]
    sealed = wire.seal_groups(
        signing_key, kind=wire.KIND_DESIRED, issued_at=NOW, expires_at=NOW + 60, groups=groups
    )
    assert [len(payloads) for payloads in sealed] == [3] * len(groups)
    for (content, panels), payloads in zip(groups, sealed, strict=True):
        for (panel_id, seq), payload in zip(panels, payloads, strict=True):
            alone = wire.seal(
                signing_key,
                kind=wire.KIND_DESIRED,
                panel_id=panel_id,
                seq=seq,
                issued_at=NOW,
                expires_at=NOW + 60,
                content=content,
            )
            assert payload == alone  # Ed25519 signs the same bytes the same way


def test_sealing_many_panels_at_once_signs_what_sealing_each_would(signing_key: Ed25519PrivateKey) -> None:
    frame = wire.Frame.from_image(Image.new("1", (192, 64), 1))
    item = wire.DisplayItem("msg-1", "Fête « œ € »", (wire.Page(frame, 5000), wire.Page(frame, 5000)))
    content = {"schedule": wire.Schedule.single(item, start=NOW, horizon_end=NOW + 3600).to_json()}
    panels = [("bourg-entree-nord", 7), ("amberieu-mairie", 1_800_000_000_123)]
    panels += [(f"sim-{n:04d}", n) for n in range(1, wire.SIGN_TOGETHER_FROM + 1)]  # signed on all the cores
    (payloads,) = wire.seal_groups(
        signing_key, kind=wire.KIND_DESIRED, issued_at=NOW, expires_at=NOW + 60, groups=[(content, panels)]
    )
    for (panel_id, seq), payload in zip(panels, payloads, strict=True):
        body = {
            "v": wire.PROTOCOL_VERSION,
            "kind": wire.KIND_DESIRED,
            "panel": panel_id,
            "seq": seq,
            "issued_at": NOW,
            "expires_at": NOW + 60,
            "content": content,
        }
        assert payload.partition(b"\n")[2] == wire.encode_body(body)
        unsealed = wire.unseal(payload, signing_key.public_key())
        assert (unsealed.panel_id, unsealed.seq) == (panel_id, seq)
        assert unsealed.desired_schedule().items[0].pages[1].frame == frame


def test_events_travel_in_batches_and_a_single_event_is_still_read() -> None:
    events = [
        PanelEvent("p1", wire.EVENT_PLAY, NOW, {"item_id": "msg-1", "started_at": NOW - 5, "ended_at": NOW}),
        PanelEvent("p1", wire.EVENT_ON_AIR, NOW, {"item_id": "alert-2"}),
    ]
    batch = wire.join_events([event.to_payload() for event in events])
    assert wire.events_from_payload(batch) == events
    # An agent from before event batches sends one event a message.
    assert wire.events_from_payload(events[1].to_payload()) == [events[1]]
    for bad in (b"[1]", b'[{"panel": "p1"}]', b"[", b'"play"'):
        with pytest.raises(WireError) as refused:
            wire.events_from_payload(bad)
        assert refused.value.reason == "malformed"


def test_a_minute_of_plays_goes_deflated_and_a_zlib_bomb_is_refused() -> None:
    details = {"item_id": "msg-1", "content_hash": "sha256:" + "ab" * 32}
    plays = [
        PanelEvent(
            "p1", wire.EVENT_PLAY, NOW + n, {**details, "started_at": NOW + n, "ended_at": NOW + n + 3}
        )
        for n in range(0, 60, 3)
    ]
    text = b"[" + b",".join(play.to_payload() for play in plays) + b"]"
    batch = wire.join_events([play.to_payload() for play in plays])
    assert len(batch) * 5 < len(text)
    assert wire.events_from_payload(batch) == plays
    small = wire.join_events([plays[0].to_payload()])
    assert small.startswith(b"[") and wire.events_from_payload(small) == plays[:1]
    bomb = zlib.compress(b"[" + b" " * (wire.MAX_PAYLOAD_BYTES + 1) + b"]")
    for bad, reason in ((bomb, "too-large"), (batch[:-4], "malformed"), (b"x\x9c not zlib", "malformed")):
        with pytest.raises(WireError) as refused:
            wire.events_from_payload(bad)
        assert refused.value.reason == reason


def test_an_agents_largest_batch_is_read_and_anything_larger_is_refused_whole() -> None:
    """An agent sends at most 100 events a message (a backlog after an outage); plays of about 250
    bytes, or faults of 300 characters, fit well within the byte limit, deflated or not."""
    fault = {"code": "OSError", "detail": "OSError: " + "é" * 291}
    largest = [PanelEvent("p1", wire.EVENT_FAULT, NOW + n, fault) for n in range(wire.MAX_EVENTS_PER_BATCH)]
    payloads = [event.to_payload() for event in largest]
    batch = wire.read_events(wire.join_events(payloads))
    assert batch.events == largest and batch.size == len(b"[" + b",".join(payloads) + b"]")
    one_more = [*payloads, payloads[0]]
    padding = {"detail": "x" * wire.MAX_EVENTS_BATCH_BYTES}
    too_long = PanelEvent("p1", wire.EVENT_FAULT, NOW, padding).to_payload()
    for bad in (
        wire.join_events(one_more),
        b"[" + b",".join(one_more) + b"]",
        too_long,
        zlib.compress(b"[" + too_long + b"]"),
    ):
        with pytest.raises(WireError) as refused:
            wire.read_events(bad)
        assert refused.value.reason == "too-large"


def test_a_panel_state_tells_its_brightness_only_once_it_set_one() -> None:
    assert "brightness" not in json.loads(PanelState("p1", True, NOW).to_payload())
    dimmed = PanelState("p1", True, NOW, brightness=30)
    assert json.loads(dimmed.to_payload())["brightness"] == 30
    assert PanelState.from_payload(dimmed.to_payload()) == dimmed
    for bad in (b"0", b"101", b'"30"', b"true"):
        with pytest.raises(WireError) as refused:
            PanelState.from_payload(
                b'{"panel": "p1", "online": true, "reported_at": 1, "brightness": ' + bad + b"}"
            )
        assert refused.value.reason == "malformed"


def test_public_keys_travel_as_one_line(signing_key: Ed25519PrivateKey) -> None:
    text = wire.public_key_to_text(signing_key.public_key())
    assert text.startswith("ed25519:") and "\n" not in text
    assert wire.public_key_to_text(wire.public_key_from_text(text)) == text
    for bad in ("rsa:abc", "ed25519:%%%", "ed25519:" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError, match="public key"):
            wire.public_key_from_text(bad)


def test_items_carry_pages_with_dwell_and_flash() -> None:
    steady = Page(amber_frame(), 4000)
    flashing = Page(amber_frame(), 6000, amber_frame(), 400)
    item = DisplayItem("msg-2", "Deux pages", (steady, flashing))
    again = DisplayItem.from_json(item.to_json())
    assert again == item
    assert again.content_hash == item.content_hash
    slower = DisplayItem("msg-2", "Deux pages", (Page(amber_frame(), 5000), flashing))
    assert slower.content_hash != item.content_hash


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.update(pages=[]),
        lambda data: data["pages"][0].update(dwell_ms=10),
        lambda data: data["pages"].append({"frame": amber_frame(96, 16).to_json(), "dwell_ms": 3000}),
        lambda data: data["pages"][0].update(
            flash={"frame": amber_frame(96, 16).to_json(), "period_ms": 500}
        ),
    ],
)
def test_inconsistent_pages_are_refused(change) -> None:
    data = DisplayItem("msg-3", "x", (Page(amber_frame(), 4000),)).to_json()
    change(data)
    with pytest.raises(WireError):
        DisplayItem.from_json(data)


# --- schedules ------------------------------------------------------------------------------------


def schedule_item(name: str, width: int = 192, height: int = 64) -> DisplayItem:
    return DisplayItem(
        name, name, (Page(amber_frame(width, height), 4000), Page(amber_frame(width, height), 6000))
    )


def full_schedule() -> Schedule:
    """Two items and a fallback: a playlist with a dwell override, quiet hours, an empty segment, a gap."""
    return Schedule(
        items=(schedule_item("msg-1"), schedule_item("msg-2"), schedule_item("commune")),
        segments=(
            Segment(NOW, NOW + 3600, (PlaylistEntry(0), PlaylistEntry(1, dwell_ms=8000))),
            Segment(NOW + 3600, NOW + 7200, (PlaylistEntry(1),)),
            Segment(NOW + 10_800, NOW + 20_000, blank=True),
            Segment(NOW + 20_000, NOW + 30_000),
        ),
        horizon_end=NOW + 48 * 3600,
        fallback=2,
    )


def test_a_schedule_round_trips_through_a_sealed_payload(signing_key: Ed25519PrivateKey) -> None:
    schedule = full_schedule()
    assert Schedule.from_json(schedule.to_json()) == schedule
    payload = wire.seal_schedule(
        signing_key, schedule, panel_id="p1", seq=1, issued_at=NOW, expires_at=NOW + 48 * 3600
    )
    assert wire.unseal(payload, signing_key.public_key()).desired_schedule() == schedule
    segments = schedule.to_json()["segments"]
    assert segments[0]["playlist"] == [{"item": 0}, {"item": 1, "dwell_ms": 8000}]
    assert segments[2] == {"start": NOW + 10_800, "end": NOW + 20_000, "playlist": [], "blank": True}


def dimmed_schedule() -> Schedule:
    """The full schedule dimmed to 30 % for its first hour and to 10 % overnight, full in between."""
    return replace(
        full_schedule(),
        brightness=(
            BrightnessStep(NOW, NOW + 3600, 30),
            BrightnessStep(NOW + 3600, NOW + 20_000, 100),
            BrightnessStep(NOW + 30_000, NOW + 48 * 3600, 10),
        ),
    )


def test_brightness_steps_round_trip_and_are_left_out_when_there_are_none(
    signing_key: Ed25519PrivateKey,
) -> None:
    schedule = dimmed_schedule()
    assert Schedule.from_json(schedule.to_json()) == schedule
    assert schedule.to_json()["brightness"][0] == {"start": NOW, "end": NOW + 3600, "level": 30}
    payload = wire.seal_schedule(
        signing_key, schedule, panel_id="p1", seq=1, issued_at=NOW, expires_at=NOW + 48 * 3600
    )
    assert wire.unseal(payload, signing_key.public_key()).desired_schedule().brightness == schedule.brightness
    # Without steps the key is absent: schedules signed before brightness existed read the same.
    assert "brightness" not in full_schedule().to_json()
    assert Schedule.from_json(full_schedule().to_json()).brightness == ()
    # Steps may begin anywhere when there is no segment, and touch the horizon.
    Schedule((), (), NOW + 60, brightness=(BrightnessStep(NOW - 60, NOW + 60, 50),))


MALFORMED_BRIGHTNESS = {
    "level 0": lambda d: d["brightness"][0].update(level=0),
    "level above 100": lambda d: d["brightness"][0].update(level=101),
    "level not a number": lambda d: d["brightness"][0].update(level="30"),
    "level a boolean": lambda d: d["brightness"][0].update(level=True),
    "empty step": lambda d: d["brightness"][0].update(end=NOW),
    "step without level": lambda d: d["brightness"][0].pop("level"),
    "steps unsorted": lambda d: d["brightness"].reverse(),
    "steps overlapping": lambda d: d["brightness"][1].update(start=NOW + 3000),
    "step before the first segment": lambda d: d["brightness"][0].update(start=NOW - 1),
    "step beyond the horizon": lambda d: d["brightness"][2].update(end=NOW + 48 * 3600 + 1),
    "not a list": lambda d: d.update(brightness={"start": NOW, "end": NOW + 60, "level": 30}),
    "a step not an object": lambda d: d["brightness"].append(30),
    "too many steps": lambda d: d.update(
        brightness=[
            {"start": NOW + n, "end": NOW + n + 1, "level": 50} for n in range(wire.MAX_BRIGHTNESS_STEPS + 1)
        ]
    ),
}


@pytest.mark.parametrize("case", MALFORMED_BRIGHTNESS)
def test_malformed_brightness_steps_are_refused(case: str) -> None:
    data = dimmed_schedule().to_json()
    assert Schedule.from_json(data) == dimmed_schedule()  # the change alone makes it malformed
    MALFORMED_BRIGHTNESS[case](data)
    with pytest.raises(WireError) as refused:
        Schedule.from_json(data)
    assert refused.value.reason == "malformed"


def test_brightness_steps_are_checked_when_built() -> None:
    steps = tuple(BrightnessStep(NOW + n, NOW + n + 1, 50) for n in range(wire.MAX_BRIGHTNESS_STEPS))
    Schedule((), (), NOW + wire.MAX_BRIGHTNESS_STEPS, brightness=steps)
    with pytest.raises(WireError, match="at most 200 brightness steps"):
        Schedule((), (), NOW + 5000, brightness=(*steps, BrightnessStep(NOW + 4000, NOW + 4001, 50)))
    with pytest.raises(WireError, match="before the first segment"):
        replace(full_schedule(), brightness=(BrightnessStep(NOW - 10, NOW + 10, 50),))
    with pytest.raises(WireError, match="overlaps"):
        Schedule(
            (),
            (),
            NOW + 90,
            brightness=(BrightnessStep(NOW, NOW + 60, 50), BrightnessStep(NOW + 30, NOW + 90, 40)),
        )
    with pytest.raises(WireError, match="beyond the horizon"):
        Schedule((), (), NOW + 30, brightness=(BrightnessStep(NOW, NOW + 60, 50),))
    with pytest.raises(WireError, match="brightness level must be 1 to 100"):
        BrightnessStep(NOW, NOW + 60, 0)


def test_single_is_one_item_from_start_to_the_horizon_or_nothing() -> None:
    item = schedule_item("msg-1")
    single = Schedule.single(item, start=NOW, horizon_end=NOW + 60)
    assert single == Schedule((item,), (Segment(NOW, NOW + 60, (PlaylistEntry(0),)),), NOW + 60)
    assert single.fallback is None
    assert Schedule.single(None, start=NOW, horizon_end=NOW + 60) == Schedule((), (), NOW + 60)
    assert Schedule.from_json(Schedule.single(None, start=NOW, horizon_end=NOW + 60).to_json()).items == ()


def test_a_payload_without_a_schedule_is_malformed(signing_key: Ed25519PrivateKey) -> None:
    """The content of the first protocol, ``{"item": …}``, is refused rather than half understood."""
    payload = wire.seal(
        signing_key,
        kind=wire.KIND_DESIRED,
        panel_id="p1",
        seq=1,
        issued_at=NOW,
        expires_at=NOW + 60,
        content={"item": schedule_item("msg-1").to_json()},
    )
    with pytest.raises(WireError, match="missing field 'schedule'") as refused:
        wire.unseal(payload, signing_key.public_key()).desired_schedule()
    assert refused.value.reason == "malformed"


def _segment(start: int, end: int, **extra) -> dict:
    return {"start": start, "end": end, "playlist": [{"item": 0}], **extra}


MALFORMED_SCHEDULES = {
    "entry index out of range": lambda d: d["segments"][0]["playlist"].append({"item": 3}),
    "negative entry index": lambda d: d["segments"][0]["playlist"].append({"item": -1}),
    "fallback out of range": lambda d: d.update(fallback=3),
    "negative fallback": lambda d: d.update(fallback=-1),
    "unsorted segments": lambda d: d["segments"].reverse(),
    "overlapping segments": lambda d: d["segments"].insert(1, _segment(NOW + 3000, NOW + 3700)),
    "segment beyond the horizon": lambda d: d["segments"].append(_segment(NOW + 40_000, NOW + 49 * 3600)),
    "empty segment": lambda d: d["segments"].append(_segment(NOW + 40_000, NOW + 40_000)),
    "blank segment with a playlist": lambda d: d["segments"].append(
        _segment(NOW + 40_000, NOW + 40_100, blank=True)
    ),
    "entry dwell too short": lambda d: d["segments"][0]["playlist"].append({"item": 0, "dwell_ms": 10}),
    "too many items": lambda d: d["items"].extend([d["items"][0]] * (wire.MAX_ITEMS - 2)),
    "too many segments": lambda d: d["segments"].extend(
        _segment(NOW + 40_000 + n, NOW + 40_001 + n) for n in range(wire.MAX_SEGMENTS - 3)
    ),
    "items of different sizes": lambda d: d["items"].append(schedule_item("small", 96, 16).to_json()),
    "horizon not a number": lambda d: d.update(horizon_end="demain"),
    "blank not a boolean": lambda d: d["segments"][2].update(blank="oui"),
    "segments missing": lambda d: d.pop("segments"),
    "entry without item": lambda d: d["segments"][0]["playlist"].append({"dwell_ms": 5000}),
}


@pytest.mark.parametrize("case", MALFORMED_SCHEDULES)
def test_malformed_schedules_are_refused(case: str) -> None:
    data = full_schedule().to_json()
    assert Schedule.from_json(data) == full_schedule()  # the change alone makes it malformed
    MALFORMED_SCHEDULES[case](data)
    with pytest.raises(WireError) as refused:
        Schedule.from_json(data)
    assert refused.value.reason == "malformed"


def test_limits_are_exactly_the_stated_ones() -> None:
    item = schedule_item("msg-1")
    Schedule((item,) * wire.MAX_ITEMS, (), NOW)
    segments = tuple(Segment(NOW + n, NOW + n + 1, (PlaylistEntry(0),)) for n in range(wire.MAX_SEGMENTS))
    Schedule((item,), segments, NOW + wire.MAX_SEGMENTS)
    with pytest.raises(WireError, match="at most 64 items"):
        Schedule((item,) * (wire.MAX_ITEMS + 1), (), NOW)
    with pytest.raises(WireError, match="at most 2000 segments"):
        Schedule((item,), (*segments, Segment(NOW + 5000, NOW + 5001)), NOW + 5001)


def test_schedules_are_checked_when_built_so_the_controller_cannot_send_a_bad_one() -> None:
    item = schedule_item("msg-1")
    with pytest.raises(WireError, match="not among 1 items"):
        Schedule((item,), (Segment(NOW, NOW + 60, (PlaylistEntry(1),)),), NOW + 60)
    with pytest.raises(WireError, match="beyond the horizon"):
        Schedule((item,), (Segment(NOW, NOW + 60, (PlaylistEntry(0),)),), NOW + 30)
    with pytest.raises(WireError, match="not before its end"):
        Schedule.single(item, start=NOW, horizon_end=NOW)
    with pytest.raises(WireError, match="overlaps"):
        Schedule((), (Segment(NOW, NOW + 60), Segment(NOW + 30, NOW + 90)), NOW + 90)


def test_the_test_patterns_the_controller_allows_are_those_the_agent_draws() -> None:
    from panel_agent.field_test import PATTERNS

    assert set(PATTERNS) == set(wire.TEST_PATTERNS)
