"""Outside XML read as hostile: a size cap, no DTD at all (so no entity, internal or external), and one
error naming what is wrong, for CAP documents and feeds alike."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class OfficialAlertError(ValueError):
    """A document or feed refused, with what is wrong in words a source's health status can show."""


def read_xml(data: bytes, what: str, limit: int) -> Element:
    """The root element of ``data``; ``what`` names the document in errors ("the CAP document")."""
    if len(data) > limit:
        raise OfficialAlertError(f"{what} is {len(data)} bytes, more than the {limit} allowed")
    if not data.strip():
        raise OfficialAlertError(f"{what} is empty")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as refused:
        # A DTD is where entity bombs and external entities live; no CAP document or feed needs one.
        raise OfficialAlertError(
            f"{what} declares a DTD or an entity ({type(refused).__name__}): refused, entities are never expanded"
        ) from None
    except ParseError as malformed:
        raise OfficialAlertError(f"{what} is not well-formed XML: {malformed}") from None
    except LookupError as encoding:  # an encoding Python does not know, named in the XML declaration
        raise OfficialAlertError(f"{what} is in an unknown encoding: {encoding}") from None


def local_name(element: Element) -> str:
    """The tag without its namespace: MeteoAlarm's Atom entries mix CAP and Atom names in one element."""
    return element.tag.rsplit("}", 1)[-1]


def namespace(element: Element) -> str:
    return element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""
