"""Reading targets, dates and recurrences from API requests, and storing them as JSON columns.

Targets are written the same way everywhere (messages, campaigns, alerts): any of ``panels``,
``tags``, ``communes`` (INSEE codes) and ``departments``, combined as a union.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Literal, overload

from controller.domain.errors import FieldError
from controller.scheduling.model import CALENDARS, PRIORITIES, Recurrence, Targets
from controller.scheduling.recurrence import parse_windows

TARGET_FIELDS = ("panels", "tags", "communes", "departments")
# Instants the controller takes: wide enough for any signage, narrow enough that a week's timeline or a
# recurrence around one never leaves the dates Python (year 9999) and SQLite can hold.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)
DEPARTMENT_PATTERN = re.compile(r"^(\d{2}|2[AB]|97\d)$")
WEEKDAYS = {
    "lundi": 0,
    "mardi": 1,
    "mercredi": 2,
    "jeudi": 3,
    "vendredi": 4,
    "samedi": 5,
    "dimanche": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_DAY_NUMBERS = frozenset(range(7))


def parse_targets(data: dict[str, Any]) -> Targets:
    """The union of the target fields present; at least one must name something."""
    found: dict[str, frozenset[str]] = {}
    for field in TARGET_FIELDS:
        value = data.get(field)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise FieldError(field, "must be a list of non-empty strings")
        if field == "departments" and not all(DEPARTMENT_PATTERN.match(item) for item in value):
            raise FieldError(field, "department codes look like 01, 2A or 974")
        found[field] = frozenset(value)
    if not any(found.values()):
        raise FieldError("panels", "name at least one target: panels, tags, communes or departments")
    return _targets(found)


def targets_to_json(targets: Targets) -> str:
    return json.dumps({field: sorted(getattr(targets, field)) for field in TARGET_FIELDS}, ensure_ascii=False)


def targets_from_json(text: str | None) -> Targets:
    data = json.loads(text or "{}")
    return _targets({field: frozenset(data.get(field) or ()) for field in TARGET_FIELDS})


def _targets(sets: dict[str, frozenset[str]]) -> Targets:
    """Targets from its sets by field name (TARGET_FIELDS); a field left out is empty."""
    return Targets(
        panels=sets.get("panels", frozenset()),
        tags=sets.get("tags", frozenset()),
        communes=sets.get("communes", frozenset()),
        departments=sets.get("departments", frozenset()),
    )


@overload
def parse_instant(data: dict[str, Any], field: str, *, required: Literal[True]) -> int: ...
@overload
def parse_instant(data: dict[str, Any], field: str, *, required: bool = False) -> int | None: ...
def parse_instant(data: dict[str, Any], field: str, *, required: bool = False) -> int | None:
    """ISO 8601 with its offset (``2026-12-15T08:00:00+01:00``): a time without one is ambiguous."""
    value = data.get(field)
    if value is None:
        if required:
            raise FieldError(field, "is required (ISO 8601 with offset, e.g. 2026-12-15T08:00:00+01:00)")
        return None
    if not isinstance(value, str):
        raise FieldError(field, "must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(field, "{value!r} is not an ISO 8601 date and time", value=value) from None
    if moment.tzinfo is None:
        raise FieldError(field, "needs a UTC offset, e.g. +01:00 (or Z)")
    try:
        in_range = EARLIEST_INSTANT <= moment < LATEST_INSTANT
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        in_range = False
    if not in_range:
        raise FieldError(
            field,
            "{value!r} is out of range: from {earliest_instant:%Y-%m-%d} to before {latest_instant:%Y-%m-%d}",
            value=value,
            earliest_instant=EARLIEST_INSTANT,
            latest_instant=LATEST_INSTANT,
        )
    return int(moment.timestamp())


def parse_recurrence(data: dict[str, Any]) -> Recurrence | None:
    """``{"weekdays": ["lundi", …], "windows": ["07:00-09:00"], "only_during": [...], "except_during": [...]}``.

    Within the limits of what a week of a commune's panels can hold (see :func:`_check_recurrence_limits`).
    """
    value = data.get("recurrence")
    if value is None:
        return None
    if isinstance(value, dict):
        _check_recurrence_limits(value)
    return _recurrence(value)


# A window an hour on average, far beyond school runs or market hours: each window is a segment
# of every reached panel's schedule, twice in its 48-hour horizon.
MAX_WINDOWS_PER_DAY = 24


def _check_recurrence_limits(value: dict[str, Any]) -> None:
    """Refuse a recurrence longer than its meaning allows, before reading any of it."""
    windows, weekdays = value.get("windows"), value.get("weekdays")
    if isinstance(windows, list) and len(windows) > MAX_WINDOWS_PER_DAY:
        raise FieldError(
            "recurrence.windows",
            "at most {max_windows_per_day} windows a day, not {count}",
            max_windows_per_day=MAX_WINDOWS_PER_DAY,
            count=len(windows),
        )
    if isinstance(weekdays, list) and len(weekdays) > len(_DAY_NUMBERS):
        raise FieldError(
            "recurrence.weekdays",
            "at most {limit} days, not {count}",
            limit=len(_DAY_NUMBERS),
            count=len(weekdays),
        )
    for key in ("only_during", "except_during"):
        names = value.get(key)
        if isinstance(names, list) and len(names) > len(set(map(str, names))):
            raise FieldError(f"recurrence.{key}", "names each calendar once")


def _recurrence(value: Any) -> Recurrence:
    """A recurrence as stored or sent, each part checked and named when wrong."""
    if not isinstance(value, dict):
        raise FieldError("recurrence", "must be an object with weekdays, windows, only_during, except_during")
    unknown = set(value) - {"weekdays", "windows", "only_during", "except_during"}
    if unknown:
        raise FieldError("recurrence", "unknown key(s): {keys}", keys=", ".join(sorted(unknown)))
    weekdays = value.get("weekdays")
    days = _DAY_NUMBERS
    if weekdays is not None:
        if not isinstance(weekdays, list) or not weekdays:
            raise FieldError("recurrence.weekdays", "must be a non-empty list of days (lundi … dimanche)")
        try:
            days = frozenset(
                day if isinstance(day, int) and 0 <= day <= 6 else WEEKDAYS[str(day).lower()]
                for day in weekdays
            )
        except KeyError as exc:
            raise FieldError("recurrence.weekdays", "unknown day {day!r}", day=exc.args[0]) from None
    windows = value.get("windows") or []
    if not isinstance(windows, list) or not all(isinstance(window, str) for window in windows):
        raise FieldError("recurrence.windows", 'must be a list such as ["07:00-09:00", "16:00-19:00"]')
    try:
        parsed_windows = parse_windows(",".join(windows)) if windows else ()
    except ValueError as exc:
        raise FieldError("recurrence.windows", str(exc)) from None
    calendars = {}
    for key in ("only_during", "except_during"):
        names = value.get(key) or []
        if not isinstance(names, list) or any(name not in CALENDARS for name in names):
            raise FieldError(
                f"recurrence.{key}", "calendars are among: {choices}", choices=", ".join(CALENDARS)
            )
        calendars[key] = tuple(names)
    return Recurrence(weekdays=days, windows=parsed_windows, **calendars)


def recurrence_to_json(recurrence: Recurrence | None) -> str | None:
    if recurrence is None:
        return None
    return json.dumps(
        {
            "weekdays": sorted(recurrence.weekdays),
            "windows": [
                f"{w.start_min // 60:02d}:{w.start_min % 60:02d}-{w.end_min // 60:02d}:{w.end_min % 60:02d}"
                for w in recurrence.windows
            ],
            "only_during": list(recurrence.only_during),
            "except_during": list(recurrence.except_during),
        }
    )


def recurrence_from_json(text: str | None) -> Recurrence | None:
    """As stored: checked when written, so a limit lowered since does not make it unreadable."""
    return None if not text else _recurrence(json.loads(text))


def parse_priority(data: dict[str, Any]) -> str:
    value = data.get("priority", "information")
    if value not in PRIORITIES:
        raise FieldError("priority", "must be one of {choices}", choices=", ".join(PRIORITIES))
    return value


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
