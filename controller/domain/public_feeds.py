"""A place's public items as feeds: Atom (RFC 4287), JSON Feed 1.1 and iCalendar (RFC 5545), in French.

Pure: items and addresses in, bytes out. Entries are named by a tag URI on the controller's host name
(« tag:relais.example.fr,2026:message-12 »), so the same message keeps its id in the commune's, the
department's and a tag's feed, and an app that reads several sees it once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import icalendar

from controller.dates import PARIS
from controller.domain.public import Place, PublicItem, applies_when
from controller.scheduling.model import MINUTES_PER_DAY, DailyWindow

ATOM = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
PRODID = "-//Relais//Canaux publics//FR"
# Tag URIs need a date on which the name was held; any fixed one keeps every id stable.
TAG_DATE = "2026"


def feed_title(place: Place) -> str:
    """« Bourg-en-Bresse : messages et alertes », the same words in every feed and on the page."""
    return f"{place.name}\u00a0: messages et alertes"


def entry_id(base_url: str, item: PublicItem) -> str:
    return f"tag:{urlsplit(base_url).hostname or 'localhost'},{TAG_DATE}:{item.key}"


def _stamp(moment: int) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _rfc3339(moment: int) -> str:
    return _stamp(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(item: PublicItem) -> str:
    """The words, then when they apply: a reader that shows only the content still has the dates."""
    when = applies_when(item)
    return f"{item.text}\n\n{when[0].upper()}{when[1:]}."


def atom_feed(place: Place, items: Sequence[PublicItem], base_url: str, updated: int) -> bytes:
    page = base_url + place.path
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "fr"})

    def child(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> None:
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = text

    child(feed, "id", page)
    child(feed, "title", feed_title(place))
    child(feed, "updated", _rfc3339(updated))
    child(feed, "link", rel="self", type="application/atom+xml", href=f"{page}/feed.atom")
    child(feed, "link", rel="alternate", type="text/html", href=page)
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    child(author, "name", place.name)
    child(feed, "generator", "Relais")
    for item in items:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        child(entry, "id", entry_id(base_url, item))
        child(entry, "title", item.headline)
        child(entry, "updated", _rfc3339(item.updated_at))
        child(entry, "published", _rfc3339(item.starts_at))
        child(entry, "link", rel="alternate", type="text/html", href=f"{page}#{item.key}")
        child(entry, "content", _summary(item), type="text")
        child(entry, "category", term=item.priority)
        for tag in item.tags:
            child(entry, "category", term=tag)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(feed, encoding="utf-8")


def json_feed(place: Place, items: Sequence[PublicItem], base_url: str) -> bytes:
    """JSON Feed 1.1; ``_relais`` (an extension, as the format names them) carries the dates as data."""
    page = base_url + place.path
    feed = {
        "version": JSON_FEED_VERSION,
        "title": feed_title(place),
        "home_page_url": page,
        "feed_url": f"{page}/feed.json",
        "language": "fr",
        "authors": [{"name": place.name}],
        "items": [
            {
                "id": entry_id(base_url, item),
                "url": f"{page}#{item.key}",
                "title": item.headline,
                "content_text": _summary(item),
                "date_published": _rfc3339(item.starts_at),
                "date_modified": _rfc3339(item.updated_at),
                "tags": [item.priority, *item.tags],
                "_relais": {
                    "kind": item.kind,
                    "priority": item.priority,
                    "on_air": item.on_air,
                    "starts_at": _rfc3339(item.starts_at),
                    "ends_at": None if item.ends_at is None else _rfc3339(item.ends_at),
                    "communes": list(item.communes),
                },
            }
            for item in items
        ],
    }
    return json.dumps(feed, ensure_ascii=False, indent=1).encode()


def calendar(place: Place, items: Sequence[PublicItem], base_url: str, updated: int) -> bytes:
    """Each dated item as an event from its start to its end (UTC); an item with days or hours as a
    weekly or daily recurring event per time window, in Paris time, until its end if it has one."""
    page = base_url + place.path
    host = urlsplit(base_url).hostname or "localhost"
    agenda = icalendar.Calendar()
    agenda.add("prodid", PRODID)
    agenda.add("version", "2.0")
    agenda.add("calscale", "GREGORIAN")
    agenda.add("x-wr-calname", feed_title(place))
    agenda.add("x-wr-timezone", "Europe/Paris")
    for item in items:
        for index, (start, end, rule) in enumerate(_occurrences(item)):
            event = icalendar.Event()
            event.add("uid", f"{item.key}-{index}@{host}" if rule else f"{item.key}@{host}")
            event.add("dtstamp", _stamp(updated))
            event.add("last-modified", _stamp(item.updated_at))
            event.add("dtstart", start)
            event.add("dtend", end)
            if rule:
                event.add("rrule", rule)
            event.add("summary", item.headline)
            event.add("description", _summary(item))
            event.add("url", f"{page}#{item.key}")
            event.add("categories", [item.priority, *item.tags])
            if item.stands_out:
                event.add("priority", 1)
            agenda.add_component(event)
    agenda.add_missing_timezones()
    return agenda.to_ical()


_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


Occurrence = tuple[datetime, datetime, dict[str, Any] | None]


def _occurrences(item: PublicItem) -> list[Occurrence]:
    """The item's events: one span from its start to its end (none without an end), or, for an item
    with days or hours, one (first start, first end, RRULE) per daily window. Days that depend on
    holiday calendars, which no RRULE says, stay one span (their words say which days)."""
    recurrence = item.recurrence
    every_day = recurrence is None or recurrence.weekdays == frozenset(range(7))
    if (
        recurrence is None
        or recurrence.only_during
        or recurrence.except_during
        or (every_day and not recurrence.windows)
    ):
        return [] if item.ends_at is None else [(_stamp(item.starts_at), _stamp(item.ends_at), None)]
    rule: dict[str, Any] = {"freq": "daily" if every_day else "weekly"}
    if not every_day:
        rule["byday"] = [_BYDAY[day] for day in sorted(recurrence.weekdays)]
    if item.ends_at is not None:
        rule["until"] = _stamp(item.ends_at)
    begins = datetime.fromtimestamp(item.starts_at, PARIS)
    found: list[Occurrence] = []
    for window in recurrence.windows or (DailyWindow(0, MINUTES_PER_DAY),):
        day = datetime.combine(begins.date(), time(), PARIS)
        start = day + timedelta(minutes=window.start_min)
        # The first showing: not before the message starts, on one of its days (RFC 5545 wants DTSTART
        # to be the rule's first occurrence).
        while start < begins or start.weekday() not in recurrence.weekdays:
            start += timedelta(days=1)
        found.append((start, start + timedelta(minutes=window.end_min - window.start_min), rule))
    return found
