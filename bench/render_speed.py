"""Renders per second for each shipped profile, and the renders a 1,000-panel message costs.

Run: ``.venv/bin/python bench/render_speed.py``. Prints the machine, then one line per profile
(a typical French message on the ``text`` layout, the render cache cleared before each render; font
and text-width caches stay warm, as in a running controller), then
queues one message to 1,000 panels of 4 profiles in a scratch database and counts the renders.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.domain.panels import register_panel
from controller.publishing.queueing import queue_message
from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import load_profiles
from controller.storage.db import open_database, transaction

TEXT = "Fête de la Saint-Jean samedi 24 juin à 21 h — feu d’artifice « au stade », buvette et bal"
SECONDS_PER_PROFILE = 1.0
FLEET_PROFILES = ("led-amber-192x64", "led-amber-96x16", "led-rgb-128x64", "epaper-bw-800x480")


def renders_per_second(profile_id: str) -> tuple[float, int]:
    profile = load_profiles()[profile_id]
    content = MessageContent(body=TEXT)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS_PER_PROFILE:
        render.cache_clear()
        pages = len(render(content, profile).pages)
        count += 1
    return count / (time.perf_counter() - started), pages


def fleet_renders() -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "bench.db")
        with transaction(db):
            for number in range(1000):
                register_panel(
                    db,
                    {
                        "id": f"panel-{number:04d}",
                        "name": f"Panneau {number}",
                        "commune_insee": "01053",
                        "profile": FLEET_PROFILES[number % len(FLEET_PROFILES)],
                    },
                )
        render.cache_clear()
        started = time.perf_counter()
        queue_message(
            db,
            Ed25519PrivateKey.generate(),
            {"text": TEXT, "panels": [f"panel-{number:04d}" for number in range(1000)]},
            created_by="bench",
            ttl_s=3600,
        )
        return render.cache_info().misses, time.perf_counter() - started


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"text: {TEXT!r}")
    print(f"{'profile':<24} {'renders/s':>10} {'pages':>6}")
    for profile_id in load_profiles():
        rate, pages = renders_per_second(profile_id)
        print(f"{profile_id:<24} {rate:>10.1f} {pages:>6}")
    renders, seconds = fleet_renders()
    print(
        f"one message to 1,000 panels of {len(FLEET_PROFILES)} profiles: {renders} renders, "
        f"queued (rendered, signed, stored) in {seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
