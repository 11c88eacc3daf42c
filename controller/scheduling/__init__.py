"""Scheduling as pure functions of their inputs and ``now``: no database, no MQTT, no clock reads.

``resolve`` says what every panel shows from now to the horizon; ``check_message`` says what is
wrong with a message before it is saved. Callers turn stored rows into the values of ``model``.
"""

from controller.scheduling.airtime import air_time
from controller.scheduling.calendars import calendar_coverage, is_calendar_day
from controller.scheduling.conflicts import Problem, check_message
from controller.scheduling.model import (
    CALENDARS,
    PRIORITIES,
    Alert,
    Campaign,
    Consent,
    DailyWindow,
    PanelInfo,
    Priority,
    Recurrence,
    ScheduledMessage,
    Targets,
)
from controller.scheduling.recurrence import active_intervals, describe, parse_windows
from controller.scheduling.resolve import Entry, PanelSchedule, Segment, playlist_at, resolve
from controller.scheduling.targets import resolve_targets

__all__ = [
    "CALENDARS",
    "PRIORITIES",
    "Alert",
    "Campaign",
    "Consent",
    "DailyWindow",
    "Entry",
    "PanelInfo",
    "PanelSchedule",
    "Priority",
    "Problem",
    "Recurrence",
    "ScheduledMessage",
    "Segment",
    "Targets",
    "active_intervals",
    "air_time",
    "calendar_coverage",
    "check_message",
    "describe",
    "is_calendar_day",
    "parse_windows",
    "playlist_at",
    "resolve",
    "resolve_targets",
]
