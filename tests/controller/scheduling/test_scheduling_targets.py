"""Which panels targets reach: tags, communes, departments (Corsica and overseas too), union."""

from __future__ import annotations

import pytest

from controller.scheduling import PanelInfo, Targets, resolve_targets

PANELS = [
    PanelInfo("bourg-gare", "01053", frozenset({"gare", "centre"})),
    PanelInfo("bourg-ecole", "01053", frozenset({"ecole"})),
    PanelInfo("amberieu-mairie", "01004", frozenset({"mairie"})),
    PanelInfo("ajaccio-port", "2A004", frozenset({"port"})),
    PanelInfo("saint-denis", "97411", frozenset({"centre"})),
]


@pytest.mark.parametrize(("insee", "department"), [("01053", "01"), ("2A004", "2A"), ("97411", "974")])
def test_department_from_insee(insee: str, department: str) -> None:
    assert PanelInfo("x", insee).department == department


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (Targets(tags=frozenset({"centre"})), ["bourg-gare", "saint-denis"]),
        (Targets(communes=frozenset({"01053"})), ["bourg-ecole", "bourg-gare"]),
        (Targets(departments=frozenset({"01"})), ["amberieu-mairie", "bourg-ecole", "bourg-gare"]),
        (Targets(departments=frozenset({"2A", "974"})), ["ajaccio-port", "saint-denis"]),
        (
            Targets(panels=frozenset({"ajaccio-port", "ghost"}), tags=frozenset({"ecole"})),
            ["ajaccio-port", "bourg-ecole"],
        ),
        (
            Targets(
                panels=frozenset({"bourg-gare"}),
                tags=frozenset({"mairie"}),
                communes=frozenset({"01053"}),
                departments=frozenset({"974"}),
            ),
            ["amberieu-mairie", "bourg-ecole", "bourg-gare", "saint-denis"],
        ),
        (Targets(panels=frozenset({"ghost"}), communes=frozenset({"99999"})), []),
        (Targets(), []),
    ],
)
def test_resolve_targets(targets: Targets, expected: list[str]) -> None:
    assert resolve_targets(targets, PANELS) == expected
