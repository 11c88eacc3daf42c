"""Bytes on the wire for one text update, per panel profile: ``python bench/update_size.py``.

Prints the PNG frames alone and the whole signed MQTT payload (envelope, body, signature) of a
48-hour schedule that shows one message; then the bytes per panel per day in a typical week:

- down: a fresh 48-hour horizon signed once a day, and ``UPDATES_PER_WEEK`` changes (new messages, a
  campaign), each a schedule rotating ``ROTATION`` messages and the commune's name as fallback;
- up: the panel's ``play`` event for every showing of an item that ends (proof of play, around the
  clock: quiet hours would lower it), sent a minute's worth at a time (deflated, as the agent does),
  and for each update a state with its screenshot and the new schedule's events.

Each MQTT publish adds its fixed header and topic (``MQTT_OVERHEAD``) and a 4-byte PUBACK back.
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from panel_agent.agent.batching import BATCH_S
from relais.wire import (
    EVENT_DISPLAYED,
    EVENT_ON_AIR,
    EVENT_PLAY,
    PanelEvent,
    PanelState,
    PlaylistEntry,
    Schedule,
    Segment,
    Topics,
    join_events,
    seal_schedule,
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
    return seal_schedule(
        key, schedule, panel_id="sim-0001", seq=now * 1000, issued_at=now, expires_at=now + 2 * DAY_S
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
    # A day of proof of play, batched as the agent does: at the end of a showing, the plays pending go
    # once the oldest has waited the panel's batch time, BATCH_S on average.
    plays_up, pending, oldest, started = 0, [], 0.0, float(now)
    while started < now + DAY_S:
        for item in items[: len(ROTATION)]:
            ended = started + sum(page.dwell_ms for page in item.pages) / 1000
            details = {"item_id": item.item_id, "content_hash": item.content_hash}
            at = {"started_at": round(started, 3), "ended_at": round(ended, 3)}
            pending.append(PanelEvent("sim-0001", EVENT_PLAY, int(ended), {**details, **at}).to_payload())
            oldest = oldest or ended
            if ended - oldest >= BATCH_S:
                plays_up += len(join_events(pending)) + MQTT_OVERHEAD + PUBACK
                pending, oldest = [], 0.0
            started = ended
    # Each update: the state in a message, naming its screenshot's frame (the controller has it), and the
    # events of the new schedule, which go with the next batch of plays (their bytes, not a message).
    state = PanelState(
        "sim-0001",
        True,
        now,
        "msg-1",
        items[0].content_hash,
        now * 1000,
        "0.1.0",
        3600,
        screenshot_frame=items[0].pages[0].frame.content_hash,
    )
    news = [
        PanelEvent(
            "sim-0001", EVENT_ON_AIR, now, {"item_id": item.item_id, "content_hash": item.content_hash}
        )
        for item in items[: len(ROTATION)]
    ]
    displayed = {"item_id": "msg-1", "content_hash": items[0].content_hash, "seq": now * 1000}
    news.append(PanelEvent("sim-0001", EVENT_DISPLAYED, now, displayed))
    update_up = len(state.to_payload()) + len(join_events([event.to_payload() for event in news]))
    up = plays_up + (1 + UPDATES_PER_WEEK / 7) * (update_up + MQTT_OVERHEAD + PUBACK)
    return round(down), round(up), payload


def main() -> None:
    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    print(f"text: {TEXT!r} ({len(TEXT)} characters)")
    print(f"{'profile':<22} {'pages':>5} {'frame bytes':>10} {'signed payload bytes':>22}")
    for profile_id in PROFILES:
        rendering = render(MessageContent(body=TEXT), get_profile(profile_id))
        item = rendering.display_item("msg-1", TEXT)
        payload = seal_schedule(
            key,
            Schedule.single(item, start=now, horizon_end=now + 48 * 3600),
            panel_id="bench-panel",
            seq=now * 1000,
            issued_at=now,
            expires_at=now + 48 * 3600,
        )
        png_bytes = sum(len(page.frame.data) for page in item.pages)
        print(f"{profile_id:<22} {len(item.pages):>5} {png_bytes:>10} {len(payload):>22}")
    print()
    print(
        f"per panel per day, a typical week: a fresh horizon daily and {UPDATES_PER_WEEK} updates a week, "
        f"each a rotation of {len(ROTATION)} messages and the fallback; plays sent a minute at a time"
    )
    print(f"{'profile':<22} {'rotation payload':>17} {'down B/day':>11} {'up B/day':>10}")
    for profile_id in PROFILES:
        down, up, payload = per_day(key, profile_id, now)
        print(f"{profile_id:<22} {payload:>17,} {down:>11,} {up:>10,}")


if __name__ == "__main__":
    main()
