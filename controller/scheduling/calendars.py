"""Holiday calendars that recurrences refer to: French public holidays and school holidays by zone.

Public holidays come from the ``holidays`` package (computed for any year). School holidays come
from the offline data of ``vacances-scolaires-france``, which only knows some school years: a day
outside them counts as no holiday, and ``calendar_coverage()`` says which days are known so that
callers can warn.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays
from vacances_scolaires_france import SchoolHolidayDates

ALSACE_MOSELLE = "public-holidays-alsace-moselle"
_SCHOOL_PREFIX = "school-holidays-"
_ZONES = ("A", "B", "C")


def is_calendar_day(calendar: str, day: date) -> bool:
    """Whether ``day`` belongs to ``calendar`` (one of CALENDARS, or the Alsace-Moselle variant)."""
    if calendar == "public-holidays":
        return day in _public_holidays(day.year, alsace_moselle=False)
    if calendar == ALSACE_MOSELLE:
        return day in _public_holidays(day.year, alsace_moselle=True)
    return day in _school_holidays(_zone(calendar))


def is_school_calendar(calendar: str) -> bool:
    return calendar.startswith(_SCHOOL_PREFIX)


def check_calendar(calendar: str) -> None:
    """Raise ValueError, in French, for a calendar name nobody knows."""
    if calendar not in ("public-holidays", ALSACE_MOSELLE):
        _zone(calendar)


@cache
def calendar_coverage() -> tuple[date, date]:
    """First and last day of the school years the school-holiday data knows (1 September–31 August).

    A school year counts as known from the one holding the first holiday in the data to the one
    holding the last: the file lists earlier and later days, but with no holidays at all.
    """
    days = sorted(_all_school_days())
    first, last = days[0], days[-1]
    first_year = first.year if first.month >= 9 else first.year - 1
    last_year = last.year if last.month >= 9 else last.year - 1
    return date(first_year, 9, 1), date(last_year + 1, 8, 31)


def _zone(calendar: str) -> str:
    zone = calendar.removeprefix(_SCHOOL_PREFIX)
    if not is_school_calendar(calendar) or zone not in _ZONES:
        raise ValueError(f"calendrier inconnu : « {calendar} »")
    return zone


@cache
def _public_holidays(year: int, *, alsace_moselle: bool) -> frozenset[date]:
    # Subdivision "57" (Moselle) has the same two extra days as Bas-Rhin and Haut-Rhin.
    days = holidays.country_holidays("FR", years=year, subdiv="57" if alsace_moselle else None)
    return frozenset(days)


@cache
def _school_data() -> SchoolHolidayDates:
    return SchoolHolidayDates()


@cache
def _all_school_days() -> frozenset[date]:
    return frozenset(_school_data().data)


@cache
def _school_holidays(zone: str) -> frozenset[date]:
    data = _school_data()
    key = data.zone_key(zone)
    return frozenset(day for day, row in data.data.items() if row[key])
