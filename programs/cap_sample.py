"""The demo's sample official alert: a MeteoAlarm-shaped Atom feed with an orange snow-ice warning of
Météo-France for the Ain (and Haute-Savoie), its CAP 1.2 documents, and the feed's next versions (the
warning updated, then ended by Météo-France's all clear), for ``relais demo --cap-feed sample``.

Written with times from now and fresh identifiers, so the warning is current whatever the day and a
controller that saw an earlier sample takes this one in as new (a document already received does
nothing). The links in the feeds are relative: the demo's feed server makes them absolute, wherever it
listens.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from relais.files import atomic_write

PARIS = ZoneInfo("Europe/Paris")
SENDER = "vigilance@meteo.fr"
FEED_NAME = "meteoalarm-france.atom"  # the file the demo's source reads
STEPS_DIR = "steps"  # the feed's versions, to copy over FEED_NAME one after the other
CAP_DIR = "cap"
SAMPLE_README = "README.txt"
# (Météo-France's NUTS3 2013 code, MeteoAlarm's EMMA_ID, name): the areas the warning covers.
AREAS = (("FR711", "FR039", "Ain"), ("FR718", "FR035", "Haute-Savoie"))

_CAP = Template("""\
<?xml version="1.0" encoding="utf-8"?>
<!-- A made-up warning for the Relais demo, shaped like Météo-France's vigilance CAP 1.2 documents as
     MeteoAlarm serves them. -->
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>$identifier</identifier>
  <sender>$sender</sender>
  <sent>$sent</sent>
  <status>Actual</status>
  <msgType>$msg_type</msgType>
  <scope>Public</scope>$references
  <info>
    <language>fr-FR</language>
    <category>Met</category>
    <event>$event</event>
    <responseType>$response_type</responseType>
    <urgency>$urgency</urgency>
    <severity>$severity</severity>
    <certainty>Likely</certainty>
    <effective>$effective</effective>
    <onset>$onset</onset>
    <expires>$expires</expires>
    <senderName>METEO-FRANCE</senderName>
    <headline>$event</headline>
    <description>$description</description>
    <instruction>$instruction</instruction>
    <web>http://vigilance.meteofrance.com/</web>
    <contact>METEO-FRANCE</contact>
    <parameter>
      <valueName>awareness_level</valueName>
      <value>$level</value>
    </parameter>
    <parameter>
      <valueName>awareness_type</valueName>
      <value>2; snow-ice</value>
    </parameter>
$areas  </info>
</alert>
""")

_AREA = Template("""\
    <area>
      <areaDesc>$name</areaDesc>
      <geocode>
        <valueName>NUTS3</valueName>
        <value>$nuts3</value>
      </geocode>
    </area>
""")

_ENTRY = Template("""\
  <entry>
    <cap:geocode>
      <valueName>EMMA_ID</valueName>
      <value>$emma_id</value>
    </cap:geocode>
    <cap:areaDesc>$name</cap:areaDesc>
    <cap:event>$event</cap:event>
    <cap:sent>$sent</cap:sent>
    <cap:expires>$expires</cap:expires>
    <cap:message_type>$msg_type</cap:message_type>
    <cap:status>Actual</cap:status>
    <cap:scope>Public</cap:scope>
    <cap:identifier>$identifier</cap:identifier>
    <link href="$link" type="application/cap+xml"/>
    <id>$link#$emma_id</id>
    <title>$event - $name</title>
    <updated>$sent</updated>
  </entry>
""")

_FEED = Template("""\
<?xml version="1.0" encoding="UTF-8"?>
<!-- The Relais demo's sample, shaped like MeteoAlarm's legacy Atom feed for France: one entry per area
     of each CAP alert, linking to its document. -->
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <id>tag:relais.demo,2026:FR</id>
  <title>MeteoAlarm - Alerting Europe for Extreme Weather (Relais demo sample)</title>
  <updated>$updated</updated>
$entries</feed>
""")

_README = """\
The Relais demo's sample official alert, read by the demo's source from meteoalarm-france.atom (every
10 s). Copy the feed's next version over it and the panels follow:

  cp steps/2-update.atom meteoalarm-france.atom      the warning updated: new wording, later end
  cp steps/3-all-clear.atom meteoalarm-france.atom   Météo-France's all clear: off the panels

Delete this folder, or let the warning end, and the next `relais demo --cap-feed sample` writes a new one.
"""


@dataclass(frozen=True)
class _Document:
    file: str
    identifier: str
    sent: datetime
    text: str
    msg_type: str
    event: str
    expires: datetime


def _when(moment: datetime) -> str:
    """A CAP date as Météo-France writes them: Paris time with its offset."""
    return moment.astimezone(PARIS).isoformat(timespec="seconds")


def _documents(now: datetime) -> list[_Document]:
    """The warning, its update and its all clear: sent now, the next minute and the one after; the snow
    from tomorrow 6 h (Paris time) to the day after, 8 h (noon once updated)."""
    sent = now.astimezone(UTC).replace(microsecond=0)
    onset = datetime.combine(sent.astimezone(PARIS).date() + timedelta(days=1), time(6), PARIS)
    stamp = sent.astimezone(PARIS).strftime("%Y%m%d%H%M%S")
    serial = random.randrange(100_000, 999_000)  # two samples written in one second differ all the same
    orange = {
        "level": "3; orange; Severe",
        "event": "Vigilance orange neige-verglas",
        "response_type": "Prepare",
        "urgency": "Future",
        "severity": "Severe",
        "description": "Des chutes de neige et du verglas rendent les routes dangereuses.",
    }
    steps: list[tuple[str, str, datetime | None, dict[str, str]]] = [
        (
            "Alert",
            "1-orange-neige-verglas.xml",
            onset + timedelta(days=1, hours=2),
            orange | {"instruction": "Limitez vos déplacements et renseignez-vous avant de partir."},
        ),
        (
            "Update",
            "2-mise-a-jour.xml",
            onset + timedelta(days=1, hours=6),
            orange | {"instruction": "Évitez les déplacements ; équipez votre véhicule."},
        ),
        (
            "Update",
            "3-fin-de-vigilance.xml",
            None,  # Météo-France's all clear: its onset and expires are its effective, when it is sent
            {
                "level": "1; green; Minor",
                "event": "Fin de vigilance neige-verglas",
                "response_type": "AllClear",
                "urgency": "Past",
                "severity": "Minor",
                "description": "Pas de vigilance particulière.",
                "instruction": "",
            },
        ),
    ]
    documents: list[_Document] = []
    for number, (msg_type, file, ends, fields) in enumerate(steps):
        at = sent + timedelta(minutes=number)
        identifier = f"2.49.0.0.250.0.FR.{stamp}.{serial + number}"
        expires = ends or at
        previous = documents[-1] if documents else None
        references = (
            f"\n  <references>{SENDER},{previous.identifier},{_when(previous.sent)}</references>"
            if previous
            else ""
        )
        text = _CAP.substitute(
            fields,
            identifier=identifier,
            sender=SENDER,
            sent=_when(at),
            msg_type=msg_type,
            references=references,
            effective=_when(at),
            onset=_when(onset if ends else at),
            expires=_when(expires),
            areas="".join(_AREA.substitute(nuts3=nuts3, name=name) for nuts3, _emma, name in AREAS),
        )
        documents.append(_Document(file, identifier, at, text, msg_type, fields["event"], expires))
    return documents


def _feed(documents: list[_Document]) -> str:
    entries = "".join(
        _ENTRY.substitute(
            emma_id=emma_id,
            name=name,
            event=document.event,
            sent=_when(document.sent),
            expires=_when(document.expires),
            msg_type=document.msg_type,
            identifier=document.identifier,
            link=f"{CAP_DIR}/{document.file}",
        )
        for document in documents
        for _nuts3, emma_id, name in AREAS
    )
    return _FEED.substitute(updated=_when(documents[-1].sent), entries=entries)


def write_sample(folder: Path, now: datetime) -> Path:
    """Write a fresh sample into ``folder`` (what was there goes); the feed the demo reads."""
    if folder.exists():
        shutil.rmtree(folder)
    documents = _documents(now)
    for document in documents:
        atomic_write(folder / CAP_DIR / document.file, document.text.encode())
    names = ("1-alert.atom", "2-update.atom", "3-all-clear.atom")
    for count, name in enumerate(names, start=1):
        atomic_write(folder / STEPS_DIR / name, _feed(documents[:count]).encode())
    atomic_write(folder / FEED_NAME, _feed(documents[:1]).encode())
    atomic_write(folder / SAMPLE_README, _README.encode())
    return folder / FEED_NAME


_IDENTIFIER = re.compile(r"<identifier>(.*?)</identifier>")


def sample_identifiers(folder: Path) -> list[str]:
    """The identifiers of the sample's documents in ``folder`` (none when there is no sample)."""
    found = []
    for path in sorted((folder / CAP_DIR).glob("*.xml")):
        match = _IDENTIFIER.search(path.read_text(encoding="utf-8"))
        if match:
            found.append(match.group(1))
    return found
