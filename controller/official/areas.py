"""Where an official alert applies, against where panels are: departments named by geocodes, CAP
polygons and circles against a panel's coordinates, and a panel without coordinates through its commune
(its department for geocodes, its commune's own point, when known, for shapes).

Polygons are tested with shapely (a point on the boundary is inside), circles by great-circle distance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from shapely import make_valid
from shapely.geometry import Point, Polygon

from controller.official.cap import Area, Circle, Info
from controller.official.geocodes import departments_of_geocodes
from controller.official.rules import RuleTargets
from controller.scheduling.model import department_of

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)


@dataclass(frozen=True)
class PanelPlace:
    """Where a panel is, as the matching needs it: its own coordinates if it has some, its commune
    always, and that commune's point (its town hall or centre) for panels without coordinates."""

    id: str
    commune_insee: str
    latitude: float | None = None
    longitude: float | None = None
    tags: frozenset[str] = frozenset()
    commune_latitude: float | None = None
    commune_longitude: float | None = None

    @property
    def department(self) -> str:
        return department_of(self.commune_insee)

    @property
    def point(self) -> tuple[float, float] | None:
        """(latitude, longitude): the panel's own, else its commune's, else none."""
        if self.latitude is not None and self.longitude is not None:
            return (self.latitude, self.longitude)
        if self.commune_latitude is not None and self.commune_longitude is not None:
            return (self.commune_latitude, self.commune_longitude)
        return None


def in_area(area: Area, panel: PanelPlace) -> bool:
    """Whether the panel is in one CAP area: in a department its geocodes name, or inside one of its
    polygons or circles. An area with shapes and geocodes is matched by either."""
    if panel.department in departments_of_geocodes(area.geocodes):
        return True
    point = panel.point
    if point is None:
        return False
    return any(in_polygon(ring, point) for ring in area.polygons) or any(
        in_circle(circle, point) for circle in area.circles
    )


def in_alert_area(info: Info, panel: PanelPlace) -> bool:
    return any(in_area(area, panel) for area in info.areas)


def reaches(targets: RuleTargets, info: Info, panel: PanelPlace) -> bool:
    """Whether a rule's targets reach the panel for this alert (see :class:`RuleTargets`)."""
    named = bool(targets.departments or targets.tags or targets.communes)
    in_named = (
        panel.department in targets.departments
        or panel.commune_insee in targets.communes
        or not targets.tags.isdisjoint(panel.tags)
    )
    if targets.alert_area:
        return in_alert_area(info, panel) and (in_named or not named)
    return in_named


def reached_panels(targets: RuleTargets, info: Info, panels: Iterable[PanelPlace]) -> list[str]:
    """The ids of the panels the alert reaches under these targets, sorted."""
    return sorted(panel.id for panel in panels if reaches(targets, info, panel))


def in_polygon(ring: tuple[tuple[float, float], ...], point: tuple[float, float]) -> bool:
    # shapely works in x, y: longitude first. A self-crossing ring is repaired (make_valid keeps every
    # lobe) rather than refused: a sender's sloppy polygon still names its area.
    shape = Polygon([(longitude, latitude) for latitude, longitude in ring])
    return bool(make_valid(shape).covers(Point(point[1], point[0])))


def in_circle(circle: Circle, point: tuple[float, float]) -> bool:
    return distance_km((circle.latitude, circle.longitude), point) <= circle.radius_km


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
