"""MeteoAlarm's legacy Atom feed per country: which CAP documents to fetch.

The feed has one ``<entry>`` per area (and per language) of each alert, each repeating the alert's
``cap:identifier`` and its link of type ``application/cap+xml``; entries that expired stay listed. Each
alert is fetched once, from the first entry that names it, and only while it has not expired (an update
or a cancel is fetched even then: it may end a warning still shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

from controller.official.safe_xml import OfficialAlertError, local_name, namespace, read_xml

# A country's feed in a stormy week runs to a few megabytes (France: an entry per department per warning).
MAX_FEED_BYTES = 20_000_000
ATOM = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"


@dataclass(frozen=True)
class FeedAlert:
    """One CAP alert a feed lists: where to fetch it, and the areas' geocodes the feed gave for it."""

    identifier: str
    link: str
    message_type: str
    expires: datetime | None
    geocodes: tuple[tuple[str, str], ...]


def read_feed(data: bytes, now: datetime) -> list[FeedAlert]:
    """The feed's unexpired alerts, each once, in the feed's order; entries without an identifier or a
    CAP link are skipped (nothing could be fetched for them), and expired alerts too (not their updates
    and cancels)."""
    root = read_xml(data, "the Atom feed", MAX_FEED_BYTES)
    if local_name(root) != "feed" or namespace(root) != ATOM:
        raise OfficialAlertError("not an Atom feed: the root element is <{root}>", root=local_name(root))
    found: dict[str, FeedAlert] = {}
    for entry in root:
        if local_name(entry) != "entry":
            continue
        alert = _entry(entry)
        if alert is None or _past(alert, now):
            continue
        known = found.get(alert.identifier)
        if known is None:
            found[alert.identifier] = alert
        else:  # another area of the same alert
            geocodes = known.geocodes + tuple(code for code in alert.geocodes if code not in known.geocodes)
            found[alert.identifier] = FeedAlert(
                known.identifier, known.link, known.message_type, known.expires, geocodes
            )
    return list(found.values())


def _past(alert: FeedAlert, now: datetime) -> bool:
    """An expired alert has nothing left to show; an expired Update or Cancel may still end one that is
    shown (Météo-France's all clear expires the moment it is sent), so it is fetched all the same."""
    return (
        alert.message_type not in ("Update", "Cancel") and alert.expires is not None and alert.expires <= now
    )


def _entry(entry: Element) -> FeedAlert | None:
    texts = {local_name(child): (child.text or "").strip() for child in entry if len(child) == 0}
    identifier = texts.get("identifier", "")
    link = next(
        (
            child.get("href", "")
            for child in entry
            if local_name(child) == "link" and child.get("type") == CAP_TYPE and child.get("href")
        ),
        "",
    )
    if not identifier or not link:
        return None
    geocodes = []
    for child in entry:
        if local_name(child) == "geocode":
            values = {local_name(part): (part.text or "").strip() for part in child}
            if values.get("valueName") and values.get("value"):
                geocodes.append((values["valueName"], values["value"]))
    return FeedAlert(
        identifier=identifier,
        link=link,
        message_type=texts.get("message_type", ""),
        expires=_when(texts.get("expires", "")),
        geocodes=tuple(geocodes),
    )


def _when(text: str) -> datetime | None:
    """An entry's date; one unreadable or without offset is taken as none (the document itself decides)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None
