"""Dates as people in a town hall write them: « lundi 21 décembre 2026, 18 h », in Paris time.

Pure functions (no request, no Babel) so that they are tested alone and used alike by templates and the
live feed; ``controller/web/static/app.js`` has the same rules for what the pages draw themselves.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"

DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def _paris(moment: datetime | float) -> datetime:
    """A naive datetime is taken as UTC, as the database stores it."""
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS)


def _language(locale: str) -> str:
    return "en" if str(locale).lower().startswith("en") else "fr"


def format_day(moment: datetime | float, locale: str = "fr") -> str:
    """« lundi 1er décembre 2026 » or "Monday 1 December 2026"."""
    local, lang = _paris(moment), _language(locale)
    day = "1er" if lang == "fr" and local.day == 1 else str(local.day)
    return f"{DAYS[lang][local.weekday()]} {day} {MONTHS[lang][local.month - 1]} {local.year}"


def format_time(moment: datetime | float, locale: str = "fr") -> str:
    """« 18 h », « 18 h 05 » (no-break spaces) or "6 pm", "6.05 pm", "12 am" for midnight."""
    local, lang = _paris(moment), _language(locale)
    if lang == "fr":
        return f"{local.hour}{NBSP}h" + (f"{NBSP}{local.minute:02d}" if local.minute else "")
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{hour}" + (f".{local.minute:02d}" if local.minute else "") + f"{NBSP}{suffix}"


def format_when(moment: datetime | float | None, locale: str = "fr") -> str:
    """Day and time in Paris: « lundi 21 décembre 2026, 18 h »; an empty string for no date."""
    if moment is None:
        return ""
    return f"{format_day(moment, locale)}, {format_time(moment, locale)}"


def format_duration(seconds: float, locale: str = "fr") -> str:
    """Time on air as a report reads it: « 2 h 30 » ("2 h 30 min"), « 27 s » under a minute, « 0 h 00 »
    for none; ``controller/web/static/campaign.js`` writes it the same way."""
    if 0 < seconds < 60:
        return f"{round(seconds)}{NBSP}s"
    hours, minutes = divmod(round(seconds / 60), 60)
    unit = f"{NBSP}min" if _language(locale) == "en" else ""
    return f"{hours}{NBSP}h{NBSP}{minutes:02d}{unit}"


def parse_iso(text: str | None) -> datetime | None:
    """The API's ISO 8601 UTC strings back into aware datetimes (None stays None)."""
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso_utc(timestamp: int | None) -> str | None:
    """A stored timestamp (integer seconds since the epoch, UTC) as the API shows it: ISO 8601 in UTC."""
    return None if timestamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def french_date(moment: datetime) -> str:
    """« vendredi 18 décembre 2026 », as a panel's date zone shows it."""
    return f"{DAYS['fr'][moment.weekday()]} {moment.day} {MONTHS['fr'][moment.month - 1]} {moment.year}"


def french_time(moment: datetime) -> str:
    """« 9 h 05 », as a panel's clock zone shows it."""
    return f"{moment.hour} h {moment.minute:02d}"
