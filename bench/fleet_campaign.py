"""A campaign to a department or a region of simulated panels of 4 profiles: renders, sealing, bytes, time.

Run: ``.venv/bin/python bench/fleet_campaign.py [--panels N] [--light]``. A loopback Mosquitto, the
controller (Flask test client, real MQTT link) and N simulated panels (``relais fleet-sim``: real
agents, or light panels with ``--light``): a campaign targets the department, every commune accepts, a
message joins it, then the campaign is launched. Prints the renders the controller performed for it
(misses of the renderer's cache, which is keyed by content and profile), the launch call's time and
the controller's CPU time meanwhile (above the wall time: the signatures on several cores), the
sealed payload's bytes per panel, the time from the launch call to every panel reporting the new
schedule applied, and the CPU seconds of each process. Every process it starts is ended by its own PID.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fleet_setup import cpu_seconds, department, fleet_arguments, load, machine, scratch_dir, wait_until

from controller.rendering.engine import render
from programs.department import COMMUNES, DEFAULT_PROFILES


def main(panels: int, light: bool) -> None:
    print(machine())
    with scratch_dir() as scratch, department(panels, Path(scratch), light=light) as ain:
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
        before, start, cpu_start = cpu_seconds(), time.perf_counter(), time.process_time()
        assert ain.client.post(f"/api/v1/campaigns/{campaign['id']}/launch").status_code == 200
        queued, queued_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        wait_until(lambda: ain.up_to_date() == panels, "every panel up to date", 300, 0.01)
        elapsed = time.perf_counter() - start
        spent = {kind: seconds - before.get(kind, 0.0) for kind, seconds in cpu_seconds().items()}
        renders = render.cache_info().misses - renders_before
        size = statistics.mean(row[0] for row in ain.db.execute("select length(payload) from desired"))
    kind = "light panels (fleet-sim --light)" if light else "real agents (fleet-sim)"
    print(f"campaign to {panels:,} {kind} of {len(DEFAULT_PROFILES)} profiles in {len(COMMUNES)} communes:")
    print(f"  renders performed: {renders} (message and launch; one per content and profile)")
    print(
        f"  launch call returned in {queued * 1000:.0f} ms ({panels:,} schedules signed into the outbox), "
        f"the controller's CPU meanwhile {queued_cpu * 1000:.0f} ms on {os.cpu_count()} cores"
    )
    print(f"  sealed payload per panel: {size:,.0f} B on average")
    print(f"  every panel up to date {elapsed:.2f} s after the launch call")
    print(
        "  CPU seconds until then: "
        + ", ".join(f"{kind} {seconds:.2f}" for kind, seconds in sorted(spent.items()))
        + f"; load average at the end {load()}"
    )


if __name__ == "__main__":
    parser = fleet_arguments(__doc__)
    args = parser.parse_args()
    main(args.panels, args.light)
