"""Bytes on the wire for one text update, per panel profile: ``python bench/update_size.py``.

Prints the PNG frames alone and the whole signed MQTT payload (envelope, body, signature) of a
48-hour schedule that shows one message.
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from relais.wire import KIND_DESIRED, Schedule, seal

TEXT = "Fête de la Saint-Jean samedi 24 juin à 21 h — feu d’artifice « au stade »"
PROFILES = ("led-amber-192x64", "led-rgb-128x64", "epaper-bw-800x480", "epaper-bwr-800x480")


def main() -> None:
    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    print(f"text: {TEXT!r} ({len(TEXT)} characters)")
    print(f"{'profile':<22} {'pages':>5} {'PNG bytes':>10} {'signed payload bytes':>22}")
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
        png_bytes = sum(len(page.frame.png) for page in item.pages)
        print(f"{profile_id:<22} {len(item.pages):>5} {png_bytes:>10} {len(payload):>22}")


if __name__ == "__main__":
    main()
