"""Where an alert applies: departments by geocode, polygons and circles against panels' coordinates,
panels without coordinates through their commune."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.official.areas import (
    PanelPlace,
    distance_km,
    in_alert_area,
    in_circle,
    in_polygon,
    reached_panels,
    reaches,
)
from controller.official.cap import Circle, Info, read_cap
from controller.official.rules import RuleTargets

DOCUMENTS = Path(__file__).with_name("documents")


def info_of(name: str) -> Info:
    info = read_cap((DOCUMENTS / name).read_bytes()).info
    assert info is not None
    return info


SNOW = info_of("meteo-france-orange-snow-ice-ain.xml")  # NUTS3 FR711 (Ain) and FR718 (Haute-Savoie)
FLOOD = info_of("prefecture-flood-polygon-cap11.xml")  # polygon round Bourg-en-Bresse, 5 km round Oyonnax

BOURG_GARE = PanelPlace("bourg-gare", "01053", 46.1995, 5.2153, frozenset({"gare"}))
BOURG_SANS_GPS = PanelPlace("bourg-mairie", "01053", commune_latitude=46.2052, commune_longitude=5.2255)
OYONNAX = PanelPlace("oyonnax-centre", "01283", 46.2564, 5.6556, frozenset({"bord-de-riviere"}))
AMBERIEU = PanelPlace("amberieu-mairie", "01004", 45.9581, 5.3583, frozenset({"bord-de-riviere"}))
ANNECY = PanelPlace("annecy-lac", "74010", 45.8992, 6.1294)
LYON_SANS_GPS = PanelPlace("lyon-bellecour", "69382")
PANELS = [BOURG_GARE, BOURG_SANS_GPS, OYONNAX, AMBERIEU, ANNECY, LYON_SANS_GPS]


def test_geocoded_departments_reach_their_panels_with_or_without_coordinates() -> None:
    assert reached_panels(RuleTargets(), SNOW, PANELS) == [
        "amberieu-mairie",
        "annecy-lac",
        "bourg-gare",
        "bourg-mairie",
        "oyonnax-centre",
    ]


def test_polygon_alert_reaches_only_the_panels_inside_it() -> None:
    # Bourg's panels (one by its own point, one by its commune's) and Oyonnax's, in its circle; not
    # Ambérieu, in the same department but outside both shapes, nor a panel with no point at all.
    assert reached_panels(RuleTargets(), FLOOD, PANELS) == ["bourg-gare", "bourg-mairie", "oyonnax-centre"]
    assert not in_alert_area(FLOOD, PanelPlace("bourg-inconnu", "01053"))


def test_targets_narrow_the_alert_area_or_stand_alone() -> None:
    by_tag = RuleTargets(tags=frozenset({"bord-de-riviere"}))
    assert reached_panels(by_tag, FLOOD, PANELS) == ["oyonnax-centre"]
    assert reached_panels(by_tag, SNOW, PANELS) == ["amberieu-mairie", "oyonnax-centre"]
    only_haute_savoie = RuleTargets(departments=frozenset({"74"}))
    assert reached_panels(only_haute_savoie, SNOW, PANELS) == ["annecy-lac"]
    anywhere_in_lyon = RuleTargets(alert_area=False, communes=frozenset({"69382"}))
    assert reached_panels(anywhere_in_lyon, SNOW, PANELS) == ["lyon-bellecour"]
    assert not reaches(RuleTargets(alert_area=False, departments=frozenset({"01"})), SNOW, ANNECY)


RING = ((46.0, 5.0), (46.0, 6.0), (47.0, 6.0), (47.0, 5.0), (46.0, 5.0))


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((46.5, 5.5), True),
        ((46.0, 5.5), True),
        ((47.0, 6.0), True),
        ((45.99, 5.5), False),
        ((46.5, 6.01), False),
    ],
)
def test_polygon_boundary_counts_as_inside(point: tuple[float, float], inside: bool) -> None:
    assert in_polygon(RING, point) is inside


def test_self_crossing_polygon_still_names_its_area() -> None:
    bow_tie = ((46.0, 5.0), (47.0, 6.0), (47.0, 5.0), (46.0, 6.0), (46.0, 5.0))
    assert in_polygon(bow_tie, (46.9, 5.5))
    assert not in_polygon(bow_tie, (46.5, 5.1))


def test_circle_by_great_circle_distance() -> None:
    # Bourg-en-Bresse to Lyon Bellecour: about 58 km as the crow flies.
    assert distance_km((46.2052, 5.2255), (45.7578, 4.8320)) == pytest.approx(58.5, abs=1.0)
    circle = Circle(46.2052, 5.2255, 58.0)
    assert not in_circle(circle, (45.7578, 4.8320))
    assert in_circle(Circle(46.2052, 5.2255, 59.0), (45.7578, 4.8320))
    assert in_circle(Circle(46.2052, 5.2255, 0.0), (46.2052, 5.2255))
