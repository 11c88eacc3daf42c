"""Bytes on the wire for one text update, per panel profile: ``python bench/update_size.py``.

Prints the PNG frames alone and the whole signed MQTT payload (envelope, body, signature) of a
48-hour schedule that shows one message; then the bytes per panel per day in a typical week:

- down: a fresh 48-hour horizon signed once a day, and ``UPDATES_PER_WEEK`` changes (new messages, a
  campaign), each a schedule rotating ``ROTATION`` messages and the commune's name as fallback;
- up: the panel's ``play`` event for every showing of an item that ends (proof of play, around the
  clock: quiet hours would lower it), and a state with its screenshot for each update.

Each MQTT publish adds its fixed header and topic (``MQTT_OVERHEAD``) and a 4-byte PUBACK back.
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from relais.wire import (
    EVENT_PLAY,
    KIND_DESIRED,
    PanelEvent,
    PanelState,
    PlaylistEntry,
    Schedule,
    Segment,
    Topics,
    seal,
)

TEXT = "Fête de la Saint-Jean samedi 24 juin à 21 h — feu d’artifice « au stade »"
PROFILES = ("led-amber-192x64", "led-rgb-128x64", "epaper-bw-800x480", "epaper-bwr-800x480")
ROTATION = (
    TEXT,
    "Travaux rue de la République du 3 au 14 mars : circulation alternée",
    "Collecte des encombrants mardi matin, sortez-les la veille au soir",
)
UPDATES_PER_WEEK = 5
DAY_S = 24 * 3600
PUBACK = 4
MQTT_OVERHEAD = 5 + len(Topics().desired("sim-0001"))  # fixed header, topic length and name, packet id


def sealed(key: Ed25519PrivateKey, schedule: Schedule, now: int) -> bytes:
    content = {"schedule": schedule.to_json()}
    return seal(
        key,
        kind=KIND_DESIRED,
        panel_id="sim-0001",
        seq=now * 1000,
        issued_at=now,
        expires_at=now + 2 * DAY_S,
        content=content,
    )


def per_day(key: Ed25519PrivateKey, profile_id: str, now: int) -> tuple[int, int, int]:
    """Bytes down and up per panel per day, and the size of one rotation's signed schedule."""
    profile = get_profile(profile_id)
    items = [
        render(MessageContent(body=text), profile).display_item(f"msg-{n}", text)
        for n, text in enumerate(ROTATION, start=1)
    ]
    items.append(
        render(MessageContent(body="Bourg-en-Bresse", markup="plain"), profile).display_item(
            "commune-01053", ""
        )
    )
    playlist = tuple(PlaylistEntry(n) for n in range(len(ROTATION)))
    schedule = Schedule(
        items=tuple(items),
        segments=(Segment(now, now + 2 * DAY_S, playlist),),
        horizon_end=now + 2 * DAY_S,
        fallback=len(ROTATION),
    )
    payload = len(sealed(key, schedule, now)) + MQTT_OVERHEAD + PUBACK
    down = payload * (1 + UPDATES_PER_WEEK / 7)
    rotation_s = sum(page.dwell_ms for item in items[: len(ROTATION)] for page in item.pages) / 1000
    play = PanelEvent(
        "sim-0001",
        EVENT_PLAY,
        now,
        {
            "item_id": "msg-1",
            "content_hash": items[0].content_hash,
            "started_at": now + 0.123,
            "ended_at": now + 7.456,
        },
    )
    state = PanelState(
        "sim-0001",
        True,
        now,
        "msg-1",
        items[0].content_hash,
        now * 1000,
        "0.1.0",
        3600,
        screenshot_png=items[0].pages[0].frame.png_bytes() if profile.width <= 400 else None,
    )
    plays = DAY_S / rotation_s * len(ROTATION)
    up = plays * (len(play.to_payload()) + MQTT_OVERHEAD + PUBACK) + (1 + UPDATES_PER_WEEK / 7) * (
        len(state.to_payload()) + MQTT_OVERHEAD + PUBACK
    )
    return round(down), round(up), payload


def main() -> None:
    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    print(f"text: {TEXT!r} ({len(TEXT)} characters)")
    print(f"{'profile':<22} {'pages':>5} {'frame bytes':>10} {'signed payload bytes':>22}")
    for profile_id in PROFILES:
        rendering = render(MessageContent(body=TEXT), get_profile(profile_id))
        item = rendering.display_item("msg-1", TEXT)
        payload = seal(
            key,
            kind=KIND_DESIRED,
            panel_id="bench-panel",
            seq=now * 1000,
            issued_at=now,
            expires_at=now + 48 * 3600,
            content={"schedule": Schedule.single(item, start=now, horizon_end=now + 48 * 3600).to_json()},
        )
        png_bytes = sum(len(page.frame.data) for page in item.pages)
        print(f"{profile_id:<22} {len(item.pages):>5} {png_bytes:>10} {len(payload):>22}")
    print()
    print(
        f"per panel per day, a typical week: a fresh horizon daily and {UPDATES_PER_WEEK} updates a week, "
        f"each a rotation of {len(ROTATION)} messages and the fallback; a play event per showing"
    )
    print(f"{'profile':<22} {'rotation payload':>17} {'down B/day':>11} {'up B/day':>10}")
    for profile_id in PROFILES:
        down, up, payload = per_day(key, profile_id, now)
        print(f"{profile_id:<22} {payload:>17,} {down:>11,} {up:>10,}")


if __name__ == "__main__":
    main()
