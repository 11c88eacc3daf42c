"""Geocodes of official alerts (NUTS3 2013 as Météo-France writes them, MeteoAlarm's EMMA_ID) to French
departments, from the versioned table ``geocodes.csv`` shipped beside this module."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("geocodes.csv")
# The geocode schemes the table answers; the others (WARNCELL, CISORP, FIPS…) name no French department.
SCHEMES = ("NUTS3", "EMMA_ID")


@dataclass(frozen=True)
class Department:
    insee: str  # "01", "2A", "974": as controller.scheduling.model.department_of gives it
    name: str
    nuts3: str
    emma_id: str  # "" where MeteoAlarm has none (overseas; Hauts-de-Seine, Seine-Saint-Denis, Val-de-Marne)


@cache
def departments() -> tuple[Department, ...]:
    """Every French department, metropolitan and overseas, in the table's order."""
    with TABLE.open(encoding="utf-8") as table:
        rows = csv.DictReader(line for line in table if not line.startswith("#"))
        return tuple(Department(row["insee"], row["name"], row["nuts3"], row["emma_id"]) for row in rows)


@cache
def _by_code() -> dict[tuple[str, str], Department]:
    found: dict[tuple[str, str], Department] = {}
    for department in departments():
        found[("NUTS3", department.nuts3)] = department
        if department.emma_id:
            found[("EMMA_ID", department.emma_id)] = department
    return found


def department_of_geocode(scheme: str, value: str) -> Department | None:
    """The department a geocode names, or None for another country's or another scheme's code."""
    return _by_code().get((scheme.strip().upper(), value.strip().upper()))


def departments_of_geocodes(geocodes: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The INSEE codes of the departments among CAP (valueName, value) geocodes."""
    found = (department_of_geocode(scheme, value) for scheme, value in geocodes)
    return frozenset(department.insee for department in found if department is not None)
