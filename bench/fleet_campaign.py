"""A department campaign to 1,000 simulated panels of 4 profiles: renders performed, time to up to date.

Run: ``.venv/bin/python bench/fleet_campaign.py``. A loopback Mosquitto, the controller (Flask test
client, real MQTT link) and 1,000 real agents in 4 processes (``relais fleet-sim``): a campaign
targets the department, every commune accepts, a message joins it, then the campaign is launched.
Prints the renders the controller performed for it (misses of the renderer's cache, which is keyed by
content and profile) and the time from the launch call to every panel reporting the new schedule
applied. Every process it starts is ended by its own PID.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fleet_setup import department, machine, scratch_dir, wait_until

from controller.rendering.engine import render
from programs.department import COMMUNES, DEFAULT_PROFILES

PANELS = 1000


def main() -> None:
    print(machine())
    with scratch_dir() as scratch, department(PANELS, Path(scratch)) as ain:
        now = datetime.now(ZoneInfo("Europe/Paris"))
        campaign = ain.client.post(
            "/api/v1/campaigns",
            json={
                "name": "Sécurité routière — fêtes de fin d'année",
                "organisation": "Préfecture de l'Ain",
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(days=10)).isoformat(),
                "share": 0.5,
                "departments": ["01"],
            },
        ).json
        for commune in COMMUNES:
            ain.client.post(
                f"/api/v1/campaigns/{campaign['id']}/answers", json={"commune": commune, "status": "accepted"}
            )
        renders_before = render.cache_info().misses
        ain.client.post(
            "/api/v1/messages",
            json={"text": "Au volant, zéro alcool", "departments": ["01"], "campaign": campaign["id"]},
        )
        start = time.perf_counter()
        assert ain.client.post(f"/api/v1/campaigns/{campaign['id']}/launch").status_code == 200
        queued = time.perf_counter() - start
        wait_until(lambda: ain.up_to_date() == PANELS, "every panel up to date", 120, 0.01)
        elapsed = time.perf_counter() - start
        renders = render.cache_info().misses - renders_before
    print(f"campaign to {PANELS} panels of {len(DEFAULT_PROFILES)} profiles in {len(COMMUNES)} communes:")
    print(f"  renders performed: {renders} (message and launch; one per content and profile)")
    print(f"  launch call returned in {queued * 1000:.0f} ms (1,000 schedules signed into the outbox)")
    print(f"  every panel up to date {elapsed:.2f} s after the launch call")


if __name__ == "__main__":
    main()
