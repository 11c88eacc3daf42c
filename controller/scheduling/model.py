"""What the scheduler reads: messages, campaigns, alerts and panels, as plain frozen values.

The scheduler never touches the database, MQTT or the clock: callers build these values and pass
``now``. Datetimes are timezone-aware (stored in UTC); daily windows and quiet hours are wall-clock
times in Europe/Paris.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Priority = Literal["information", "prevention", "urgent", "emergency"]
PRIORITIES: tuple[Priority, ...] = ("information", "prevention", "urgent", "emergency")


def as_priority(value: str) -> Priority:
    """A priority read back from storage, where it was checked when written."""
    for priority in PRIORITIES:
        if priority == value:
            return priority
    raise ValueError(f"unknown priority {value!r}")


# "public-holidays-alsace-moselle" is accepted too (Good Friday and 26 December on top).
CALENDARS = ("public-holidays", "school-holidays-A", "school-holidays-B", "school-holidays-C")

MINUTES_PER_DAY = 1440


@dataclass(frozen=True, order=True)
class DailyWindow:
    """A span of local wall-clock time, in minutes since midnight; never crosses midnight."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_min < self.end_min <= MINUTES_PER_DAY:
            raise ValueError(f"plage horaire invalide : {self.start_min}–{self.end_min} (minutes)")


@dataclass(frozen=True)
class Recurrence:
    """When something repeats: days of the week, daily windows, and holiday calendars."""

    weekdays: frozenset[int] = frozenset(range(7))  # 0 = Monday
    windows: tuple[DailyWindow, ...] = ()  # empty: all day
    only_during: tuple[str, ...] = ()  # active only on days of at least one of these calendars
    except_during: tuple[str, ...] = ()  # never on days of any of these calendars


@dataclass(frozen=True)
class Targets:
    """Which panels: the union of all four sets (empty everywhere: no panel), within one commune if set."""

    panels: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    communes: frozenset[str] = frozenset()  # INSEE codes
    departments: frozenset[str] = frozenset()  # "01", "2A", "974"
    # A commune's own message reaches its commune's panels only, even through a tag another commune's
    # panel gets later.
    within_commune: str | None = None


def department_of(insee: str) -> str:
    """The department of an INSEE commune code: "01053" → "01", "2A004" → "2A", "97411" → "974"."""
    return insee[:3] if insee.startswith("97") or insee.startswith("98") else insee[:2]


@dataclass(frozen=True)
class PanelInfo:
    """A panel as the scheduler sees it: where it is, its tags, its e-paper limits, its quiet hours."""

    id: str
    commune_insee: str
    tags: frozenset[str] = frozenset()
    min_refresh_s: int = 0
    refresh_budget_per_day: int | None = None
    quiet_hours: tuple[DailyWindow, ...] = ()

    @property
    def department(self) -> str:
        return department_of(self.commune_insee)


@dataclass(frozen=True)
class ScheduledMessage:
    """A message to rotate on panels; ``duration_s`` is one full showing (its pages' dwells added)."""

    key: str
    targets: Targets
    starts_at: datetime
    ends_at: datetime | None
    recurrence: Recurrence | None
    priority: Priority
    duration_s: float
    campaign: str | None = None
    paused: bool = False
    # Queuing order (higher is newer): breaks ties between messages that start in the same second.
    order: int = 0

    def __post_init__(self) -> None:
        _check_duration(self.key, self.duration_s)


@dataclass(frozen=True)
class Consent:
    """A commune's answer to a campaign, with the limits it may set."""

    status: Literal["pending", "accepted", "declined"]
    hours: Recurrence | None = None  # only these days and hours
    max_share: float | None = None  # at most this share of air time


@dataclass(frozen=True)
class Campaign:
    """A prefecture campaign: a guaranteed ``share`` of air time on consenting communes' panels."""

    id: str
    starts_at: datetime
    ends_at: datetime
    share: float  # 0 < share <= 1
    targets: Targets
    consents: Mapping[str, Consent]  # by commune INSEE code
    stopped: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError(
                f"part de temps d’antenne invalide pour « {self.id} » : {self.share} (entre 0 et 1)"
            )


@dataclass(frozen=True)
class Alert:
    """An emergency alert: pre-empts everything on its panels until it expires or is cancelled."""

    key: str
    targets: Targets
    starts_at: datetime
    expires_at: datetime
    cancelled_at: datetime | None
    duration_s: float

    def __post_init__(self) -> None:
        _check_duration(self.key, self.duration_s)

    @property
    def stops_at(self) -> datetime:
        return self.expires_at if self.cancelled_at is None else min(self.expires_at, self.cancelled_at)


def _check_duration(key: str, duration_s: float) -> None:
    # A rotation of zero-length items would never advance.
    if not duration_s > 0:
        raise ValueError(f"durée d’affichage invalide pour « {key} » : {duration_s} s")
