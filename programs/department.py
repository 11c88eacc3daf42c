"""A simulated department: ``sim-0001``… panels of four profiles spread over communes of the Ain.

``relais fleet-sim`` and ``relais demo --panels N`` register them here and sign each new panel's first
schedule into the outbox, so that a running controller publishes it within its next sweep; the panels
themselves run in ``panel_agent.fleet``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from controller.domain.panels import Panel, get_panels, register_panel
from controller.publishing.schedules import republish
from controller.rendering.profiles import get_profile
from controller.storage.db import transaction
from panel_agent.fleet import DEFAULT_PROFILES, SimPanel

# A few towns of the Ain by name; the other simulated communes are named by their code.
AIN_TOWNS = {
    "01004": "Ambérieu-en-Bugey",
    "01034": "Belley",
    "01053": "Bourg-en-Bresse",
    "01173": "Gex",
    "01283": "Oyonnax",
}
# Codes 01001 to 01414, one in seven, and the towns: 65 communes, about 15 panels each for 1,000.
COMMUNES = sorted({f"01{number:03d}" for number in range(1, 415, 7)} | set(AIN_TOWNS))
SIM_PREFIX = "sim-"


def sim_panel_id(number: int) -> str:
    return f"{SIM_PREFIX}{number:04d}"


def fleet_panel_specs(count: int, profiles: Sequence[str] = DEFAULT_PROFILES) -> list[dict[str, object]]:
    """``count`` panels, profiles and communes dealt out in turn, as ``register_panel`` takes them."""
    if count < 1:
        raise ValueError("a fleet has at least one panel")
    if not profiles:
        raise ValueError("a fleet needs at least one profile")
    for profile in profiles:
        get_profile(profile)  # an unknown profile is refused before anything is registered
    specs: list[dict[str, object]] = []
    for index in range(count):
        insee = COMMUNES[index % len(COMMUNES)]
        commune = AIN_TOWNS.get(insee, f"Commune {insee}")
        panel_id = sim_panel_id(index + 1)
        specs.append(
            {
                "id": panel_id,
                "name": f"{commune} — panneau simulé {panel_id}",
                "commune_insee": insee,
                "commune_name": commune,
                "profile": profiles[index % len(profiles)],
                "location": "simulé",
                "tags": ["simule"],
            }
        )
    return specs


def register_fleet(
    db: Database,
    key: Ed25519PrivateKey,
    count: int,
    profiles: Sequence[str] = DEFAULT_PROFILES,
    now: float | None = None,
) -> list[Panel]:
    """Register the fleet's panels that are missing and sign their first schedule; all of them, in order.

    A panel already registered keeps its profile and commune: run again with other ``profiles``, only
    new panels follow them.
    """
    specs = fleet_panel_specs(count, profiles)
    existing = get_panels(db, [str(spec["id"]) for spec in specs])
    new = [spec for spec in specs if spec["id"] not in existing]
    if new:
        with transaction(db):
            for spec in new:
                register_panel(db, spec, now)
        republish(db, key, now=time.time() if now is None else now, panel_ids=[str(s["id"]) for s in new])
    panels = get_panels(db, [str(spec["id"]) for spec in specs])
    return list(panels.values())


def sim_panels(panels: Sequence[Panel]) -> list[SimPanel]:
    """What the simulated agents need to know of these panels."""
    return [SimPanel(panel.id, panel.profile.width, panel.profile.height) for panel in panels]
