"""What the public may see of a place's messages and alerts: pure decisions, no database, no HTTP.

Only what was approved and is on air or still to come, alerts and emergency messages first. A public
item carries the words, the dates and the communes, never who wrote, approved or rejected it, nor an
internal note: the public channels (pages, feeds, calendar, widget) are built from it alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from controller.dates import DAYS, format_when
from controller.domain.alerts import alert_status
from controller.domain.messages import message_status
from controller.domain.schedule_fields import recurrence_from_json
from controller.official.geocodes import departments
from controller.rendering.markup import MarkupError, parse
from controller.scheduling.model import Recurrence, department_of

PlaceKind = Literal["commune", "department", "tag"]
# What the public sees: shown now, or still to come. Never pending, rejected, paused, cancelled or over.
PUBLIC_STATUSES = ("on-air", "scheduled")
# Alerts first, then by how urgent a message is.
_RANK = {"alert": 0, "emergency": 1, "urgent": 2, "prevention": 3, "information": 4}
COMMUNE_CODE = re.compile(r"\d{5}|2[AB]\d{3}")
DEPARTMENT_CODE = re.compile(r"\d{2}|2[AB]|97\d|98\d")
TITLE_LENGTH = 80


@dataclass(frozen=True)
class Place:
    """A public channel's place: a commune (INSEE code), a department or a tag; ``path`` its address."""

    kind: PlaceKind
    code: str
    name: str

    @property
    def path(self) -> str:
        return {"commune": "/c/", "department": "/d/", "tag": "/t/"}[self.kind] + quote(self.code, safe="")

    @property
    def counter_key(self) -> str:
        """How the daily counters name the place: « c:01053 », « d:01 », « t:ecole »."""
        return f"{self.kind[0]}:{self.code}"


@dataclass(frozen=True)
class PublicItem:
    """A message or alert as the public sees it; ``key`` (« message-12 », « alert-3 ») is stable."""

    key: str
    kind: Literal["message", "alert"]
    title: str
    text: str
    starts_at: int
    ends_at: int | None
    on_air: bool
    priority: str
    updated_at: int
    communes: tuple[str, ...]
    tags: tuple[str, ...]
    recurrence: Recurrence | None = None

    @property
    def stands_out(self) -> bool:
        """Alerts and emergency or urgent messages are drawn apart, before the others."""
        return _RANK[self.priority] <= _RANK["urgent"]

    @property
    def headline(self) -> str:
        """The title, or the text's first line cut at a word, for feeds' and lists' titles."""
        if self.title:
            return self.title
        line = self.text.split("\n", 1)[0]
        if len(line) <= TITLE_LENGTH:
            return line
        return line[:TITLE_LENGTH].rsplit(" ", 1)[0] + "…"


def public_status(kind: Literal["message", "alert"], row: dict[str, Any], now: float) -> str | None:
    """The one rule of what is public: the row's status if the public may see it, None otherwise. A
    campaign's message is public only while its campaign runs (launched, not stopped)."""
    status = message_status(row, now) if kind == "message" else alert_status(row, now)
    campaign = row.get("campaign")
    if campaign is not None and not campaign["running"]:
        return None
    return status if status in PUBLIC_STATUSES else None


def _communes(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The communes a row is public in: a campaign's message only in those that accepted the campaign."""
    campaign = row.get("campaign")
    if campaign is None:
        return list(row["communes"])
    return [(insee, name) for insee, name in row["communes"] if insee in campaign["accepted"]]


def plain_words(text: str, markup: str | None) -> str:
    """What a message says without its markup, with French typography, as a panel shows its words."""
    try:
        return parse(text, markup or "plain").plain_text
    except MarkupError:  # stored messages were parsed when queued; an older syntax stays readable as typed
        return text


def _item(kind: Literal["message", "alert"], row: dict[str, Any], status: str) -> PublicItem:
    times = [row.get(column) for column in ("created_at", "changed_at", "approved_at")]
    is_message = kind == "message"
    return PublicItem(
        key=f"{kind}-{row['id']}",
        kind=kind,
        title=plain_words(row["title"] or "", row.get("markup")) if is_message else row["title"] or "",
        text=plain_words(row["text"], row.get("markup")) if is_message else row["text"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"] if is_message else row["expires_at"],
        on_air=status == "on-air",
        priority=row["priority"] if is_message else "alert",
        updated_at=max(time for time in times if time is not None),
        communes=tuple(dict.fromkeys(name for _insee, name in _communes(row))),
        tags=tuple(row["tags"]),
        recurrence=recurrence_from_json(row["recurrence"]) if is_message else None,
    )


def public_item(kind: Literal["message", "alert"], row: dict[str, Any], now: float) -> PublicItem | None:
    """The row as the public sees it now, or None when the public may not see it (``public_status``)."""
    status = public_status(kind, row, now)
    return None if status is None else _item(kind, row, status)


def public_communes(row: dict[str, Any]) -> dict[str, str]:
    """The communes a row is public in, INSEE code to name (a campaign's: those that accepted it)."""
    return dict(_communes(row))


def message_item(row: dict[str, Any], now: float) -> PublicItem:
    """A message as its poster shows it, whatever its status: who may read it decides to print it."""
    return _item("message", row, message_status(row, now))


def reaches(row: dict[str, Any], place: Place) -> bool:
    """Whether a message or alert is for this place: a panel of the commune or department, or the tag."""
    if place.kind == "tag":
        return place.code in row["tags"]
    inside = (insee if place.kind == "commune" else department_of(insee) for insee, _ in _communes(row))
    return place.code in inside


def public_items(
    messages: Iterable[dict[str, Any]], alerts: Iterable[dict[str, Any]], place: Place, now: float
) -> list[PublicItem]:
    """The place's public items: alerts, then emergency and urgent messages, then the others; on air
    before those to come; soonest first."""
    kinds: list[tuple[Literal["message", "alert"], Iterable[dict[str, Any]]]] = [
        ("alert", alerts),
        ("message", messages),
    ]
    found = []
    for kind, rows in kinds:
        for row in rows:
            status = public_status(kind, row, now)
            if status is not None and reaches(row, place):
                found.append(_item(kind, row, status))
    return sorted(found, key=lambda item: (_RANK[item.priority], not item.on_air, item.starts_at, item.key))


def last_change(rows: Iterable[dict[str, Any]], place: Place, now: float) -> int:
    """When the place's public channels last changed: the latest write to one of its rows (``audited_at``:
    its latest change in the audit log, a pause or a campaign's launch among them), or a start or an end
    already past (an item coming or going changes the channels without any write)."""
    moments = [0]
    for row in rows:
        if not reaches(row, place):
            continue
        end = row.get("ends_at", row.get("expires_at"))
        for column in (
            "created_at",
            "changed_at",
            "approved_at",
            "rejected_at",
            "cancelled_at",
            "audited_at",
        ):
            if row.get(column) is not None:
                moments.append(row[column])
        moments += [moment for moment in (row["starts_at"], end) if moment is not None and moment <= now]
    return int(max(moments))


def applies_when(item: PublicItem, lang: str = "fr") -> str:
    """The dates a message applies, as a town hall writes them: « du lundi 7 décembre 2026, 9 h au
    mardi 8 décembre 2026, 18 h », « depuis le … », « à partir du … », then its days and hours if it has
    some: « … 18 h ; le samedi et le dimanche, de 7 h à 9 h »."""
    start, end = format_when(item.starts_at, lang), format_when(item.ends_at, lang)
    if lang == "en":
        span = f"from {start} to {end}" if end else f"since {start}" if item.on_air else f"from {start}"
    elif end:
        span = f"du {start} au {end}"
    else:
        span = f"depuis le {start}" if item.on_air else f"à partir du {start}"
    hours = repeats(item.recurrence, lang)
    if not hours:
        return span
    return f"{span}; {hours}" if lang == "en" else f"{span}\u00a0; {hours}"


_CALENDARS = {
    "fr": {
        "public-holidays": "les jours fériés",
        "public-holidays-alsace-moselle": "les jours fériés (Alsace-Moselle)",
        "school-holidays-A": "les vacances scolaires (zone A)",
        "school-holidays-B": "les vacances scolaires (zone B)",
        "school-holidays-C": "les vacances scolaires (zone C)",
    },
    "en": {
        "public-holidays": "public holidays",
        "public-holidays-alsace-moselle": "public holidays (Alsace-Moselle)",
        "school-holidays-A": "school holidays (zone A)",
        "school-holidays-B": "school holidays (zone B)",
        "school-holidays-C": "school holidays (zone C)",
    },
}


def _listed(words: list[str], lang: str) -> str:
    joint = " and " if lang == "en" else " et "
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + joint + words[-1]


def repeats(recurrence: Recurrence | None, lang: str = "fr") -> str:
    """A recurrence in words, empty when it is every day all day: « le lundi et le jeudi, de 7 h à 9 h
    et de 16 h à 19 h, sauf les jours fériés »."""
    if recurrence is None:
        return ""
    english = lang == "en"
    parts = []
    if recurrence.weekdays != frozenset(range(7)):
        days = [DAYS[lang][day] for day in sorted(recurrence.weekdays)]
        parts.append(
            ("on " + _listed(days, lang)) if english else _listed([f"le {day}" for day in days], lang)
        )
    if recurrence.windows:
        spans = []
        for window in recurrence.windows:
            start, end = (_clock(minute, lang) for minute in (window.start_min, window.end_min))
            spans.append(f"from {start} to {end}" if english else f"de {start} à {end}")
        parts.append(_listed(spans, lang))
    names = _CALENDARS["en" if english else "fr"]
    if recurrence.only_during:
        during = _listed([names.get(name, name) for name in recurrence.only_during], lang)
        parts.append(f"only on {during}" if english else f"seulement {during}")
    if recurrence.except_during:
        during = _listed([names.get(name, name) for name in recurrence.except_during], lang)
        parts.append(f"except on {during}" if english else f"sauf {during}")
    return ", ".join(parts)


def _clock(minute: int, lang: str) -> str:
    """Minutes since midnight as a town hall writes them: « 7 h », « 16 h 30 » (24 h for midnight)."""
    hour, rest = divmod(minute, 60)
    if lang == "en":
        return f"{hour:02d}:{rest:02d}"
    return f"{hour}\u00a0h" + (f"\u00a0{rest:02d}" if rest else "")


def named_place(kind: PlaceKind, code: str, communes: dict[str, str], tags: set[str]) -> Place | None:
    """The place of a code, if a panel is there (``communes``: INSEE code to name) or carries the tag."""
    if not valid_code(kind, code):
        return None
    if kind == "commune" and code in communes:
        return Place(kind, code, communes[code])
    if kind == "department" and any(department_of(insee) == code for insee in communes):
        return department_place(code)
    if kind == "tag" and code in tags:
        return Place(kind, code, f"Thème « {code} »")
    return None


def poster_place(own_commune: str | None, reached: Iterable[str], communes: dict[str, str]) -> Place:
    """What a poster names and links to: the message's commune, or the one commune its panels are in,
    or else the department of the first of them."""
    found = [own_commune] if own_commune else sorted(set(reached))
    if len(found) == 1 and found[0] in communes:
        return Place("commune", found[0], communes[found[0]])
    return department_place(department_of(found[0]) if found else "")


def department_place(code: str) -> Place:
    """A department by its name and code, « Ain (01) », as the official table names it."""
    names = {department.insee: department.name for department in departments()}
    return Place("department", code, f"{names[code]} ({code})" if code in names else f"Département {code}")


def valid_code(kind: PlaceKind, code: str) -> bool:
    """An INSEE commune code (« 01053 », « 2A004 »), a department (« 01 », « 974 »), or a tag."""
    if kind == "commune":
        return COMMUNE_CODE.fullmatch(code) is not None
    if kind == "department":
        return DEPARTMENT_CODE.fullmatch(code) is not None
    return 0 < len(code) <= 60
