"""Telling technicians when panels go dark, come back or fault, without storms: the rules, pure.

The notifier (``controller.publishing.notifier``) looks at the fleet every few seconds and hands what
it sees to ``step`` with its memory of each panel; ``step`` answers the new memory and the notices due.
No storms, by construction:

- a panel is reported offline only once it has been so for ``offline_after_s`` (15 minutes by default),
  and back online only once it has been so again for ``recovery_s``: a panel that drops for a moment,
  or comes back for a moment, says nothing;
- a panel that keeps dropping for short spells (``flap_spells`` within ``flap_window_s``) is reported
  once as unstable, then not again until it has had a calm window;
- while the controller does not hear its broker, every panel it knew online is dark since the link
  went down, with that cause: a broker outage becomes one grouped notice, not one per panel;
- notices of one kind due at once go out as one message naming every panel (``compose``).

Official alert sources are watched too (``source_step``): a source failing ``source_failures`` polls in a
row is reported once, and once again when it works again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from controller.dates import PARIS, format_duration, format_when
from controller.domain.errors import FieldError

OFFLINE = "offline"
ONLINE = "online"
FLAPPING = "flapping"
FAULT = "fault"
FAULT_CLEARED = "fault-cleared"
BEHIND = "behind"
ALERT_UNCONFIRMED = "alert-unconfirmed"
SOURCE_FAILING = "source-failing"
SOURCE_BACK = "source-back"
KINDS = (
    OFFLINE,
    ONLINE,
    FLAPPING,
    FAULT,
    FAULT_CLEARED,
    BEHIND,
    ALERT_UNCONFIRMED,
    SOURCE_FAILING,
    SOURCE_BACK,
)
DIGEST = "digest"
# A digest subscription's day goes out at this hour, Paris time, or at the first round after it.
DIGEST_HOUR = 7
# Panels named in a grouped message at most; the rest are counted.
NAMED_IN_A_GROUP = 100


# Each number's bounds in an organisation's conditions: (least, most).
_BOUNDS = {
    "offline_after_s": (1, 7 * 24 * 3600),
    "recovery_s": (0, 24 * 3600),
    "flap_spells": (2, 1000),
    "flap_window_s": (60, 7 * 24 * 3600),
    "behind_after_s": (1, 7 * 24 * 3600),
    "alert_confirm_s": (1, 24 * 3600),
    "source_failures": (1, 1000),
}


@dataclass(frozen=True)
class Conditions:
    """An organisation's rules (the defaults until an administrator or technician changes them)."""

    offline_after_s: int = 15 * 60
    recovery_s: int = 2 * 60
    back_online: bool = True
    faults: bool = True
    flap_spells: int = 4
    flap_window_s: int = 60 * 60
    behind_after_s: int = 15 * 60
    alert_confirm_s: int = 60
    source_failures: int = 3  # an official alert source's failed polls in a row before it is reported

    @classmethod
    def from_json(cls, data: Mapping[str, Any], base: Conditions | None = None) -> Conditions:
        """``base`` (the defaults if None) changed by ``data``; a wrong field is refused, named."""
        known = {field.name for field in fields(cls)}
        for name in data:
            if name not in known:
                raise FieldError(
                    name, "unknown field: the conditions are {names}", names=", ".join(sorted(known))
                )
        for name, value in data.items():
            if name in _BOUNDS:
                least, most = _BOUNDS[name]
                if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
                    raise FieldError(
                        name, "must be a whole number from {least} to {most}", least=least, most=most
                    )
            elif not isinstance(value, bool):
                raise FieldError(name, "must be true or false")
        return replace(base or cls(), **data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Seen:
    """One panel as the notifier finds it: as its last report says, and its offline spells lately."""

    online: bool
    faults: tuple[str, ...] = ()
    offline_spells: int = 0
    behind: bool = False  # not following the latest schedule signed for it
    unconfirmed_alerts: tuple[tuple[int, float], ...] = ()  # (alert id, on air since) of running alerts


@dataclass(frozen=True)
class Watch:
    """The notifier's memory of one panel: what it was, since when, and what was reported of it."""

    online: bool
    since: float
    reported_offline: bool = False
    reported_flapping: bool = False
    faults: tuple[str, ...] = ()
    broker_down: bool = False  # went dark when the controller lost its broker
    behind_since: float | None = None
    reported_behind: bool = False
    reported_alerts: tuple[int, ...] = ()


@dataclass(frozen=True)
class Notice:
    """Something to tell: ``detail`` is the fault's name; ``broker_down`` says the panel went dark
    because the controller lost its broker, not on its own."""

    kind: str
    panel_id: str
    since: float
    detail: str | None = None
    broker_down: bool = False


def step(
    conditions: Conditions,
    memory: Mapping[str, Watch],
    seen: Mapping[str, Seen],
    now: float,
    broker_down_since: float | None = None,
) -> tuple[dict[str, Watch], list[Notice]]:
    """The new memory (of the panels in ``seen`` only) and the notices due now, in panel order."""
    after: dict[str, Watch] = {}
    notices: list[Notice] = []
    for panel_id in sorted(seen):
        found = seen[panel_id]
        online = found.online and broker_down_since is None
        watch = memory.get(panel_id) or Watch(online=online, since=now, faults=found.faults)
        if online != watch.online:
            # Dark with the broker: since the link went down, not since the notifier noticed.
            with_broker = broker_down_since is not None and watch.online
            since = broker_down_since if broker_down_since is not None and with_broker else now
            watch = replace(watch, online=online, since=since, broker_down=with_broker)
        for rule in (_presence, _faults, _flapping, _behind, _alerts):
            watch, told = rule(conditions, panel_id, watch, found, now)
            notices += told
        after[panel_id] = watch
    return after, notices


def _presence(
    c: Conditions, panel_id: str, watch: Watch, found: Seen, now: float
) -> tuple[Watch, list[Notice]]:
    """Offline once dark for the delay; back once online for the recovery time, if it was reported."""
    if not watch.online and not watch.reported_offline and now - watch.since >= c.offline_after_s:
        return replace(watch, reported_offline=True), [
            Notice(OFFLINE, panel_id, watch.since, broker_down=watch.broker_down)
        ]
    if watch.online and watch.reported_offline and now - watch.since >= c.recovery_s:
        told = [Notice(ONLINE, panel_id, watch.since)] if c.back_online else []
        return replace(watch, reported_offline=False), told
    return watch, []


def _faults(
    c: Conditions, panel_id: str, watch: Watch, found: Seen, now: float
) -> tuple[Watch, list[Notice]]:
    """Faults that started or ended, as an online panel reports them."""
    if not watch.online or found.faults == watch.faults:
        return watch, []
    told = [Notice(FAULT, panel_id, now, fault) for fault in found.faults if fault not in watch.faults]
    told += [
        Notice(FAULT_CLEARED, panel_id, now, fault) for fault in watch.faults if fault not in found.faults
    ]
    return replace(watch, faults=found.faults), told if c.faults else []


def _flapping(
    c: Conditions, panel_id: str, watch: Watch, found: Seen, now: float
) -> tuple[Watch, list[Notice]]:
    """Once, when offline spells pile up; again only after a window without any."""
    if found.offline_spells == 0:
        return replace(watch, reported_flapping=False), []
    if found.offline_spells >= c.flap_spells and not watch.reported_flapping and not watch.reported_offline:
        return replace(watch, reported_flapping=True), [
            Notice(FLAPPING, panel_id, now, str(found.offline_spells))
        ]
    return watch, []


def _behind(
    c: Conditions, panel_id: str, watch: Watch, found: Seen, now: float
) -> tuple[Watch, list[Notice]]:
    """Online and still not following its latest schedule after the delay: once until it catches up.
    Only while online: an offline panel is reported as such."""
    if not (watch.online and found.behind):
        return replace(watch, behind_since=None, reported_behind=False), []
    since = watch.behind_since if watch.behind_since is not None else now
    if not watch.reported_behind and now - since >= c.behind_after_s:
        return replace(watch, behind_since=since, reported_behind=True), [Notice(BEHIND, panel_id, since)]
    return replace(watch, behind_since=since), []


def _alerts(
    c: Conditions, panel_id: str, watch: Watch, found: Seen, now: float
) -> tuple[Watch, list[Notice]]:
    """Each running alert the panel has not confirmed within the delay, once; forgotten once it ends."""
    told = [
        Notice(ALERT_UNCONFIRMED, panel_id, on_air_at, str(alert_id))
        for alert_id, on_air_at in found.unconfirmed_alerts
        if alert_id not in watch.reported_alerts and now - on_air_at >= c.alert_confirm_s
    ]
    running = {alert_id for alert_id, _ in found.unconfirmed_alerts}
    kept = tuple(alert_id for alert_id in watch.reported_alerts if alert_id in running)
    return replace(watch, reported_alerts=kept + tuple(int(n.detail or 0) for n in told)), told


@dataclass(frozen=True)
class PanelCard:
    """What a message says of a panel: its name, commune, location, last seen, and its page."""

    panel_id: str
    name: str
    commune: str
    location: str
    last_seen: float | None
    link: str


@dataclass(frozen=True)
class Message:
    """One e-mail or webhook call: French first, then English."""

    kind: str
    subject: str
    text: str
    panel_ids: tuple[str, ...]
    broker_down: bool = False


# Each kind's subject, French then English: about one panel, then about a group of them.
_SUBJECTS = {
    OFFLINE: (
        "Panneau hors ligne : {name}",
        "Panel offline: {name}",
        "{count} panneaux hors ligne",
        "{count} panels offline",
    ),
    ONLINE: (
        "Panneau de retour : {name}",
        "Panel back online: {name}",
        "{count} panneaux de retour",
        "{count} panels back online",
    ),
    FLAPPING: (
        "Panneau instable : {name}",
        "Panel unstable: {name}",
        "{count} panneaux instables",
        "{count} panels unstable",
    ),
    FAULT: (
        "Panne signalée : {name}",
        "Fault reported: {name}",
        "{count} pannes signalées",
        "{count} faults reported",
    ),
    BEHIND: (
        "Panneau pas à jour : {name}",
        "Panel not up to date: {name}",
        "{count} panneaux pas à jour",
        "{count} panels not up to date",
    ),
    ALERT_UNCONFIRMED: (
        "Alerte non confirmée : {name}",
        "Alert not confirmed: {name}",
        "Alerte non confirmée sur {count} panneaux",
        "Alert not confirmed on {count} panels",
    ),
    FAULT_CLEARED: (
        "Panne terminée : {name}",
        "Fault cleared: {name}",
        "{count} pannes terminées",
        "{count} faults cleared",
    ),
}


def _what(notice: Notice, now: float, lang: str) -> str:
    since, lasted = format_when(notice.since, lang), format_duration(now - notice.since, lang)
    french = lang == "fr"
    if notice.kind == OFFLINE and notice.broker_down:
        return (
            f"le contrôleur n’entend plus son broker MQTT depuis {since} ({lasted})"
            if french
            else f"the controller has not heard its MQTT broker since {since} ({lasted})"
        )
    return {
        OFFLINE: (f"hors ligne depuis {since} ({lasted})", f"offline since {since} ({lasted})"),
        ONLINE: (f"de retour depuis {since}", f"back online since {since}"),
        FLAPPING: (
            f"{notice.detail} coupures dans l’heure : connexion instable",
            f"{notice.detail} drops within the hour: an unstable link",
        ),
        FAULT: (f"panne « {notice.detail} »", f"fault “{notice.detail}”"),
        FAULT_CLEARED: (f"panne « {notice.detail} » terminée", f"fault “{notice.detail}” cleared"),
        BEHIND: (
            f"n’applique pas son dernier programme depuis {since} ({lasted})",
            f"not following its latest schedule since {since} ({lasted})",
        ),
        ALERT_UNCONFIRMED: (
            f"alerte n° {notice.detail} à l’antenne depuis {since}, pas confirmée ({lasted})",
            f"alert no. {notice.detail} on air since {since}, not confirmed ({lasted})",
        ),
    }[notice.kind][0 if french else 1]


def _line(card: PanelCard, notice: Notice, now: float, lang: str) -> str:
    """« - Bourg — gare (Bourg-en-Bresse, avenue de la Gare) : hors ligne depuis … ; vu pour la
    dernière fois … » and the link to its page on the next line."""
    french = lang == "fr"
    colon, semicolon = ("\u00a0: ", "\u00a0; ") if french else (": ", "; ")
    seen = format_when(card.last_seen, lang) or ("jamais" if french else "never")
    where = ", ".join(part for part in (card.commune, card.location) if part)
    last = "vu pour la dernière fois" if french else "last seen"
    return f"- {card.name} ({where}){colon}{_what(notice, now, lang)}{semicolon}{last} {seen}\n  {card.link}"


def compose(notices: Sequence[Notice], cards: Mapping[str, PanelCard], now: float) -> list[Message]:
    """One message per kind of notice (and cause), naming every panel it concerns: one panel's message
    is about it, many panels' is grouped. Notices of panels without a card are left out."""
    groups: dict[tuple[str, bool], list[Notice]] = {}
    for notice in notices:
        if notice.panel_id in cards:
            groups.setdefault((notice.kind, notice.broker_down), []).append(notice)
    messages = []
    for (kind, broker_down), group in groups.items():
        named = group[:NAMED_IN_A_GROUP]
        alone = len(group) == 1
        french, english = (
            template.format(name=cards[group[0].panel_id].name, count=len(group))
            for template in _SUBJECTS[kind][0 if alone else 2 :][:2]
        )
        texts = []
        for lang in ("fr", "en"):
            lines = [_line(cards[notice.panel_id], notice, now, lang) for notice in named]
            if len(group) > len(named):
                more = len(group) - len(named)
                lines.append(f"… et {more} autres" if lang == "fr" else f"… and {more} more")
            texts.append("\n".join(lines))
        messages.append(
            Message(
                kind,
                f"Relais\u00a0: {french} / {english}",
                f"{texts[0]}\n\n— English —\n\n{texts[1]}\n",
                tuple(notice.panel_id for notice in group),
                broker_down,
            )
        )
    return messages


@dataclass(frozen=True)
class SourceHealth:
    """An official alert source as its last polls left it, and whether its failing was reported."""

    source_id: int
    name: str
    failures: int  # in a row
    last_error: str | None
    last_success_at: float | None
    reported: bool


def source_step(c: Conditions, sources: Sequence[SourceHealth]) -> list[tuple[str, SourceHealth]]:
    """The sources to report now: failing once ``source_failures`` polls in a row failed, back once one
    that was reported works again; each once."""
    due = []
    for source in sources:
        if not source.reported and source.failures >= c.source_failures:
            due.append((SOURCE_FAILING, source))
        elif source.reported and source.failures == 0:
            due.append((SOURCE_BACK, source))
    return due


def compose_source(kind: str, source: SourceHealth, link: str, now: float) -> Message:
    """One message about one official alert source, French then English, with its page's link."""
    if kind == SOURCE_FAILING:
        subject = f"Source d’alertes officielles en échec\u00a0: {source.name} / Official alert source failing: {source.name}"
        seen = [format_when(source.last_success_at, lang) for lang in ("fr", "en")]
        french = (
            f"La source « {source.name} » n’a pas pu être lue {source.failures} fois de suite"
            f" (dernier succès\u00a0: {seen[0] or 'jamais'}).\nDernière erreur\u00a0: {source.last_error}"
        )
        english = (
            f"The source “{source.name}” could not be read {source.failures} times in a row"
            f" (last success: {seen[1] or 'never'}).\nLast error: {source.last_error}"
        )
    else:
        subject = f"Source d’alertes officielles rétablie\u00a0: {source.name} / Official alert source back: {source.name}"
        since = [format_when(now, lang) for lang in ("fr", "en")]
        french = f"La source « {source.name} » est de nouveau lue depuis {since[0]}."
        english = f"The source “{source.name}” is read again since {since[1]}."
    return Message(
        kind, f"Relais\u00a0: {subject}", f"{french}\n  {link}\n\n— English —\n\n{english}\n  {link}\n", ()
    )


def last_digest_day(now: float, hour: int = DIGEST_HOUR) -> str:
    """The Paris day of the latest digest time at or before ``now``: what a new subscription counts as
    sent already, so that its first digest comes at the next ``hour``, not at once."""
    local = datetime.fromtimestamp(now, PARIS)
    return (local.date() - timedelta(days=local.hour < hour)).isoformat()


def digest_due(last_sent_on: str | None, now: float, hour: int = DIGEST_HOUR) -> str | None:
    """The Paris day (ISO date) whose digest is due at ``now``, or None: from ``hour`` on, once a day."""
    local = datetime.fromtimestamp(now, PARIS)
    today = local.date().isoformat()
    return None if local.hour < hour or last_sent_on == today else today


def compose_digest(entries: Sequence[tuple[str, str, Sequence[str]]]) -> Message:
    """One message of the day's notifications, each ``(subject, text, panel ids)``, oldest first."""
    count = len(entries)
    subject = f"Relais\u00a0: résumé, {count} notification(s) / digest, {count} notification(s)"
    text = "\n\n".join(f"{heading}\n\n{body}" for heading, body, _ in entries)
    panel_ids = tuple(dict.fromkeys(panel_id for _, _, panels in entries for panel_id in panels))
    return Message(DIGEST, subject, text, panel_ids)
