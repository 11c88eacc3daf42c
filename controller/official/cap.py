"""CAP 1.2 and 1.1 documents read into a typed model, and which of them may reach panels at all.

Everything outside is checked: the root must be a CAP alert, the required elements present, dates with
their offsets, enumerations from the standard. What is not CAP is an error naming the fault, never guessed
as a test alert.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

from controller.official.safe_xml import OfficialAlertError, local_name, namespace, read_xml

# A CAP document of a few areas is a few kilobytes; Météo-France's with every department under one
# warning stays under 100 kB. Anything past 1 MB is not an alert.
MAX_CAP_BYTES = 1_000_000

VERSIONS = {"urn:oasis:names:tc:emergency:cap:1.2": "1.2", "urn:oasis:names:tc:emergency:cap:1.1": "1.1"}
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MESSAGE_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = (
    "Observed",
    "Likely",
    "Possible",
    "Unlikely",
    "Unknown",
    "Very Likely",
)  # the last: CAP 1.0/1.1
# Statuses a source in test mode also lets through; System and Draft never reach a panel.
TEST_STATUSES = ("Test", "Exercise")


@dataclass(frozen=True)
class Circle:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True)
class Area:
    description: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()  # each ring of (latitude, longitude)
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()  # (valueName, value): ("NUTS3", "FR711")


@dataclass(frozen=True)
class AwarenessLevel:
    """MeteoAlarm's ``awareness_level``: "3; orange; Severe" → 3, "orange", "Severe"."""

    level: int
    colour: str
    severity: str


@dataclass(frozen=True)
class AwarenessType:
    """MeteoAlarm's ``awareness_type``: "2; snow-ice" → 2, "snow-ice"."""

    code: int
    name: str


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    response_types: tuple[str, ...]
    urgency: str
    severity: str
    certainty: str
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    sender_name: str
    headline: str
    description: str
    instruction: str
    web: str
    parameters: tuple[tuple[str, str], ...]
    awareness_level: AwarenessLevel | None
    awareness_type: AwarenessType | None
    areas: tuple[Area, ...]

    @property
    def is_french(self) -> bool:
        return self.language.lower().startswith("fr")


@dataclass(frozen=True)
class Reference:
    """One earlier message a CAP ``references`` names: "sender,identifier,sent"."""

    sender: str
    identifier: str
    sent: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.sender, self.identifier)


@dataclass(frozen=True)
class Alert:
    version: str
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: tuple[Reference, ...]
    infos: tuple[Info, ...]

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a message across feeds and polls: CAP's sender and identifier together."""
        return (self.sender, self.identifier)

    @property
    def info(self) -> Info | None:
        """The block panels show: the first in French, else the first of any language."""
        return next((info for info in self.infos if info.is_french), self.infos[0] if self.infos else None)


def read_cap(data: bytes) -> Alert:
    """A CAP 1.2 or 1.1 document, or :class:`OfficialAlertError` saying what is wrong with it."""
    root = read_xml(data, "the CAP document", MAX_CAP_BYTES)
    version = VERSIONS.get(namespace(root))
    if local_name(root) != "alert" or version is None:
        if namespace(root):
            raise OfficialAlertError(
                "not a CAP 1.2 or 1.1 alert: the root element is <{root}> in namespace {namespace}",
                root=local_name(root),
                namespace=namespace(root),
            )
        raise OfficialAlertError(
            "not a CAP 1.2 or 1.1 alert: the root element is <{root}> without a namespace",
            root=local_name(root),
        )
    fields = _Fields(root, "alert")
    return Alert(
        version=version,
        identifier=fields.required("identifier"),
        sender=fields.required("sender"),
        sent=_when(fields.required("sent"), "alert/sent"),
        status=fields.one_of("status", STATUSES),
        msg_type=fields.one_of("msgType", MESSAGE_TYPES),
        scope=fields.one_of("scope", SCOPES),
        references=tuple(_reference(text) for text in fields.optional("references").split()),
        infos=tuple(_info(element, index) for index, element in enumerate(fields.children("info"))),
    )


def refusal(alert: Alert, *, test_mode: bool = False) -> str | None:
    """Why this message may not reach any panel, or None: Actual and Public only (Test and Exercise too
    from a source in test mode); acknowledgements and error messages are for senders, not the public."""
    allowed = ("Actual", *TEST_STATUSES) if test_mode else ("Actual",)
    if alert.status not in allowed:
        where = "" if alert.status not in TEST_STATUSES else " outside a source in test mode"
        return f"status {alert.status} is not shown{where}"
    if alert.scope != "Public":
        return f"scope {alert.scope} is not public"
    if alert.msg_type in ("Ack", "Error"):
        return f"msgType {alert.msg_type} is for the sender, not the public"
    if alert.info is None and alert.msg_type != "Cancel":
        return "the alert has no <info> block"
    return None


class _Fields:
    """The children of one CAP element, by local name, with errors that say which element is at fault."""

    def __init__(self, element: Element, path: str) -> None:
        self.element = element
        self.path = path

    def children(self, name: str) -> Iterator[Element]:
        return (child for child in self.element if local_name(child) == name)

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple((child.text or "").strip() for child in self.children(name))

    def optional(self, name: str) -> str:
        return next(iter(self.texts(name)), "")

    def required(self, name: str) -> str:
        value = self.optional(name)
        if not value:
            raise OfficialAlertError("{path} is missing or empty", path=f"{self.path}/{name}")
        return value

    def one_of(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.required(name)
        if value not in allowed:
            raise OfficialAlertError(
                "{path} is {value!r}, not one of {choices}",
                path=f"{self.path}/{name}",
                value=value,
                choices=", ".join(allowed),
            )
        return value

    def when(self, name: str) -> datetime | None:
        value = self.optional(name)
        return _when(value, f"{self.path}/{name}") if value else None

    def pairs(self, name: str) -> tuple[tuple[str, str], ...]:
        """CAP's valueName/value pairs (parameter, geocode, eventCode)."""
        found = []
        for child in self.children(name):
            pair = _Fields(child, f"{self.path}/{name}")
            found.append((pair.required("valueName"), pair.optional("value")))
        return tuple(found)


def _when(text: str, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise OfficialAlertError(
            "{path} is {value!r}, not a CAP date and time", path=path, value=text
        ) from None
    if moment.tzinfo is None:
        raise OfficialAlertError("{path} is {value!r}, without its offset from UTC", path=path, value=text)
    return moment


def _reference(text: str) -> Reference:
    parts = text.split(",")
    if len(parts) != 3 or not all(parts):
        raise OfficialAlertError("alert/references has {value!r}, not sender,identifier,sent", value=text)
    return Reference(*parts)


def _info(element: Element, index: int) -> Info:
    fields = _Fields(element, f"alert/info[{index + 1}]")
    parameters = fields.pairs("parameter")
    values = dict(parameters)
    return Info(
        language=fields.optional("language") or "en-US",  # CAP's default language
        categories=fields.texts("category"),
        event=fields.required("event"),
        response_types=fields.texts("responseType"),
        urgency=fields.one_of("urgency", URGENCIES),
        severity=fields.one_of("severity", SEVERITIES),
        certainty=fields.one_of("certainty", CERTAINTIES),
        effective=fields.when("effective"),
        onset=fields.when("onset"),
        expires=fields.when("expires"),
        sender_name=fields.optional("senderName"),
        headline=fields.optional("headline"),
        description=fields.optional("description"),
        instruction=fields.optional("instruction"),
        web=fields.optional("web"),
        parameters=parameters,
        awareness_level=_awareness_level(values.get("awareness_level"), fields.path),
        awareness_type=_awareness_type(values.get("awareness_type"), fields.path),
        areas=tuple(
            _area(child, f"{fields.path}/area[{n + 1}]") for n, child in enumerate(fields.children("area"))
        ),
    )


def _awareness_level(text: str | None, path: str) -> AwarenessLevel | None:
    if text is None:
        return None
    parts = [part.strip() for part in text.split(";")]
    if len(parts) != 3 or not parts[0].isdecimal():
        raise OfficialAlertError(
            "{path} awareness_level is {value!r}, not like '3; orange; Severe'", path=path, value=text
        )
    return AwarenessLevel(int(parts[0]), parts[1].lower(), parts[2])


def _awareness_type(text: str | None, path: str) -> AwarenessType | None:
    if text is None:
        return None
    code, _, name = (part.strip() for part in text.partition(";"))
    if not code.isdecimal():
        raise OfficialAlertError(
            "{path} awareness_type is {value!r}, not like '2; snow-ice'", path=path, value=text
        )
    return AwarenessType(int(code), name)


def _area(element: Element, path: str) -> Area:
    fields = _Fields(element, path)
    return Area(
        description=fields.required("areaDesc"),
        polygons=tuple(_polygon(text, f"{path}/polygon") for text in fields.texts("polygon") if text),
        circles=tuple(_circle(text, f"{path}/circle") for text in fields.texts("circle") if text),
        geocodes=fields.pairs("geocode"),
    )


def _point(text: str, path: str) -> tuple[float, float]:
    try:
        latitude, longitude = (float(part) for part in text.split(","))
    except ValueError:
        raise OfficialAlertError(
            "{path} has {value!r}, not latitude,longitude", path=path, value=text
        ) from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise OfficialAlertError(
            "{path} has {value!r}, outside the Earth's latitudes and longitudes", path=path, value=text
        )
    return latitude, longitude


def _polygon(text: str, path: str) -> tuple[tuple[float, float], ...]:
    points = tuple(_point(pair, path) for pair in text.split())
    ring = points if points[0] == points[-1] else (*points, points[0])  # CAP says closed; some are not
    if len(set(ring)) < 3:
        raise OfficialAlertError("{path} has fewer than three distinct points", path=path)
    return ring


def _circle(text: str, path: str) -> Circle:
    centre, _, radius = text.strip().partition(" ")
    latitude, longitude = _point(centre, path)
    try:
        radius_km = float(radius)
    except ValueError:
        raise OfficialAlertError(
            "{path} is {value!r}, not 'latitude,longitude radius'", path=path, value=text
        ) from None
    if not (math.isfinite(radius_km) and radius_km >= 0):
        raise OfficialAlertError("{path} has {value!r}, not a radius in kilometres", path=path, value=radius)
    return Circle(latitude, longitude, radius_km)
