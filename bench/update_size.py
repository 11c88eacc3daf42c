"""Bytes on the wire for one text update, per panel profile: ``python bench/update_size.py``.

Prints the PNG frame alone and the whole signed MQTT payload (envelope, body, signature).
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.rendering import PanelProfile, render_text
from relais.wire import KIND_DESIRED, DisplayItem, Frame, Page, seal

TEXT = "Fête de la Saint-Jean samedi 24 juin à 21 h — feu d’artifice « au stade »"
PROFILES = {
    "LED amber 192x64": PanelProfile(192, 64, "amber"),
    "LED RGB 128x64": PanelProfile(128, 64, "rgb"),
    "e-paper b/w 800x480": PanelProfile(800, 480, "bw"),
}


def main() -> None:
    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    print(f"text: {TEXT!r} ({len(TEXT)} characters)")
    print(f"{'profile':<22} {'PNG bytes':>10} {'signed payload bytes':>22}")
    for name, profile in PROFILES.items():
        frame = Frame.from_image(render_text(TEXT, profile))
        payload = seal(
            key,
            kind=KIND_DESIRED,
            panel_id="bench-panel",
            seq=now * 1000,
            issued_at=now,
            expires_at=now + 7 * 86400,
            content={"item": DisplayItem("msg-1", TEXT, (Page(frame, 5000),)).to_json()},
        )
        print(f"{name:<22} {len(frame.png):>10} {len(payload):>22}")


if __name__ == "__main__":
    main()
