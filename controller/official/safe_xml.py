"""Outside XML read as hostile: a size cap, no DTD at all (so no entity, internal or external), and one
error naming what is wrong, for CAP documents and feeds alike."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class OfficialAlertError(ValueError):
    """A document or feed refused, with what is wrong in words a source's health status can show.
    ``template`` is English with ``{name}`` placeholders filled from ``params`` (pybabel extracts it as
    ``OfficialAlertError:1``), so that pages say it in their language; ``where`` names the feed's entry or
    the folder's file it is about."""

    def __init__(self, template: str, *, where: str = "", **params: object) -> None:
        self.template, self.params, self.where = template, params, where
        message = template.format(**params)
        super().__init__(f"{where}: {message}" if where else message)

    def at(self, where: str) -> OfficialAlertError:
        """The same error, said about one entry of a feed or one file of a folder."""
        return type(self)(self.template, where=where, **self.params)


def read_xml(data: bytes, what: str, limit: int) -> Element:
    """The root element of ``data``; ``what`` names the document in errors ("the CAP document")."""
    if len(data) > limit:
        raise OfficialAlertError(
            "{what} is {size} bytes, more than the {limit} allowed", what=what, size=len(data), limit=limit
        )
    if not data.strip():
        raise OfficialAlertError("{what} is empty", what=what)
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as refused:
        # A DTD is where entity bombs and external entities live; no CAP document or feed needs one.
        raise OfficialAlertError(
            "{what} declares a DTD or an entity ({kind}): refused, entities are never expanded",
            what=what,
            kind=type(refused).__name__,
        ) from None
    except ParseError as malformed:
        raise OfficialAlertError(
            "{what} is not well-formed XML: {problem}", what=what, problem=str(malformed)
        ) from None
    except LookupError as encoding:  # an encoding Python does not know, named in the XML declaration
        raise OfficialAlertError(
            "{what} is in an unknown encoding: {problem}", what=what, problem=str(encoding)
        ) from None


def local_name(element: Element) -> str:
    """The tag without its namespace: MeteoAlarm's Atom entries mix CAP and Atom names in one element."""
    return element.tag.rsplit("}", 1)[-1]


def namespace(element: Element) -> str:
    return element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""
