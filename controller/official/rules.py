"""An organisation's rules for official alerts, as data: which alerts (event, sender, category, awareness
type and level, severity, urgency, certainty, response type), which panels, the wording per kind of panel
in each phase of the alert, the priority and how it is deployed (automatic, approval, approval with a
timeout). The default rules for Météo-France's vigilance ship in ``meteo_france_rules.toml``.

A rule reads from a mapping (a TOML table, or the API's JSON later) and a bad one is refused with a
:class:`RuleError` naming the field, as ``rules[0].deployment.timeout_minutes``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

from controller.dates import PARIS, format_day, format_time
from controller.official.cap import CERTAINTIES, SEVERITIES, URGENCIES, Alert, Info

DEFAULT_RULES = Path(__file__).with_name("meteo_france_rules.toml")
MODES = ("automatic", "approval", "approval_timeout")
PRIORITIES = ("emergency", "urgent")
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
# MeteoAlarm's awareness types and levels, in French for the panels.
HAZARDS_FR = {
    1: "vent",
    2: "neige-verglas",
    3: "orages",
    4: "brouillard",
    5: "canicule",
    6: "grand froid",
    7: "vagues-submersion",
    8: "feux de forêt",
    9: "avalanches",
    10: "pluie",
    12: "crues",
    13: "pluie-inondation",
}
LEVELS_FR = {1: "verte", 2: "jaune", 3: "orange", 4: "rouge"}
# What a wording may say: each is filled from the alert's French info (or its fallback).
PLACEHOLDERS = ("event", "headline", "description", "instruction", "level", "hazard", "area", "period")


class RuleError(ValueError):
    """A rule that cannot be used, naming the field at fault (``rule.deployment.mode``). ``template`` is
    English with ``{name}`` placeholders filled from ``params``, so that the API can answer in the
    client's language (pybabel extracts it as ``RuleError:2``) while this core knows no translation."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        self.field = field
        self.template = template
        self.params = params
        super().__init__(f"{field} {template.format(**params)}")


@dataclass(frozen=True)
class Match:
    """What an alert must be for the rule to apply; an empty tuple accepts anything."""

    senders: tuple[str, ...] = ()
    events: tuple[str, ...] = ()  # any of these words or phrases in the event, case aside
    categories: tuple[str, ...] = ()
    awareness_types: tuple[int, ...] = ()
    awareness_levels: tuple[int, ...] = ()
    severities: tuple[str, ...] = ()
    urgencies: tuple[str, ...] = ()
    certainties: tuple[str, ...] = ()
    response_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleTargets:
    """Which panels: those inside the alert's own areas (its departments' geocodes, polygons, circles),
    narrowed to the union of departments, tags and communes when any is given; without the alert's area,
    that union alone."""

    alert_area: bool = True
    departments: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    communes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DeploymentPolicy:
    mode: str  # automatic, approval, approval_timeout
    priority: str  # emergency (pre-empts everything) or urgent
    timeout_minutes: int | None = None  # approval_timeout: deployed if nobody acts by then

    def deploys_at(self, received: datetime) -> datetime | None:
        """When the alert goes on the panels with nobody acting: at once, after the timeout, or never
        (approval: a person approves, edits or rejects)."""
        if self.mode == "automatic":
            return received
        if self.mode == "approval_timeout" and self.timeout_minutes is not None:
            return received + timedelta(minutes=self.timeout_minutes)
        return None


@dataclass(frozen=True)
class Rule:
    name: str
    match: Match
    targets: RuleTargets
    deployment: DeploymentPolicy
    # Panel family (a prefix of the profile's name: "led-amber-96x16" is "led") → wording.
    wording: tuple[tuple[str, str], ...]

    def applies_to(self, alert: Alert, info: Info) -> bool:
        match = self.match
        level = info.awareness_level.level if info.awareness_level else None
        hazard = info.awareness_type.code if info.awareness_type else None
        return (
            _any(match.senders, alert.sender)
            and (not match.events or any(word.lower() in info.event.lower() for word in match.events))
            and (not match.categories or not set(match.categories).isdisjoint(info.categories))
            and _any(match.awareness_types, hazard)
            and _any(match.awareness_levels, level)
            and _any(match.severities, info.severity)
            and _any(match.urgencies, info.urgency)
            and _any(match.certainties, info.certainty)
            and (not match.response_types or not set(match.response_types).isdisjoint(info.response_types))
        )

    def wording_for(self, profile: str) -> str | None:
        """The wording for a panel profile: the longest family that prefixes its name, else none."""
        found = [(family, text) for family, text in self.wording if profile.startswith(family)]
        return max(found, key=lambda pair: len(pair[0]))[1] if found else None


def _any(allowed: Sequence[object], value: object) -> bool:
    return not allowed or value in allowed


def first_rule(rules: Sequence[Rule], alert: Alert) -> Rule | None:
    """The first rule, in the organisation's order, that applies to the alert's French (or first) info:
    none means the alert is received and kept, but reaches no panel (as yellow vigilance by default)."""
    info = alert.info
    return None if info is None else next((rule for rule in rules if rule.applies_to(alert, info)), None)


def period(info: Info, now: datetime) -> str | None:
    """The alert's phase in words: « à partir de mardi 6 h » before its onset, « jusqu’à mercredi 8 h »
    during it, None once it expired (nothing to show)."""
    if info.expires is not None and info.expires <= now:
        return None
    if info.onset is not None and now < info.onset:
        return f"à partir de {_moment(info.onset, now)}"
    if info.expires is not None:
        return f"jusqu’à {_moment(info.expires, now)}"
    return "en cours"


def _moment(moment: datetime, now: datetime) -> str:
    """« 18 h » today, « mardi 6 h » within the week, the full date beyond (Paris time)."""
    local, today = moment.astimezone(PARIS), now.astimezone(PARIS)
    days = (local.date() - today.date()).days
    if days == 0:
        return format_time(local)
    if 0 < days < 7:
        return f"{format_day(local).split(' ')[0]} {format_time(local)}"
    return f"{format_day(local)}, {format_time(local)}"


def wording(rule: Rule, alert: Alert, profile: str, now: datetime) -> str | None:
    """The text for one panel of the given profile now, or None when there is nothing to show (no
    wording for that kind of panel, no info, or the alert is over)."""
    info, template = alert.info, rule.wording_for(profile)
    if info is None or template is None:
        return None
    when = period(info, now)
    if when is None:
        return None
    values = {
        "event": info.event,
        "headline": info.headline or info.event,
        "description": info.description,
        "instruction": info.instruction,
        "level": LEVELS_FR.get(info.awareness_level.level, "") if info.awareness_level else "",
        "hazard": HAZARDS_FR.get(info.awareness_type.code, "") if info.awareness_type else "",
        "area": ", ".join(area.description for area in info.areas),
        "period": when,
    }
    # Spaces collapsed where a placeholder was empty, no-break spaces kept; each line starts upper-case.
    lines = (re.sub(" {2,}", " ", line.format(**values)).strip() for line in template.splitlines())
    return "\n".join(line[:1].upper() + line[1:] for line in lines if line)


def rule_from_mapping(data: Mapping[str, Any], where: str = "rule") -> Rule:
    """A rule from a TOML table or JSON object; :class:`RuleError` names the field at fault."""
    fields = _Reader(data, where)
    match = _Reader(fields.table("match"), f"{where}.match")
    targets = _Reader(fields.table("targets"), f"{where}.targets")
    deployment = _Reader(fields.table("deployment"), f"{where}.deployment")
    mode = deployment.choice("mode", MODES)
    timeout = deployment.optional_int("timeout_minutes")
    if mode == "approval_timeout" and timeout is None:
        raise RuleError(f"{where}.deployment.timeout_minutes", "is needed for approval_timeout")
    if mode != "approval_timeout" and timeout is not None:
        raise RuleError(f"{where}.deployment.timeout_minutes", "is only for approval_timeout")
    wording = fields.table("wording")
    if not wording:
        raise RuleError(f"{where}.wording", "needs at least one kind of panel (led, epaper…)")
    for family, text in wording.items():
        _check_template(text, f"{where}.wording.{family}")
    fields.no_others(("name", "match", "targets", "deployment", "wording"))
    built = Rule(
        name=fields.text("name"),
        match=Match(
            senders=match.texts("senders"),
            events=match.texts("events"),
            categories=match.texts("categories"),
            awareness_types=match.ints("awareness_types"),
            awareness_levels=match.ints("awareness_levels"),
            severities=match.choices("severities", SEVERITIES),
            urgencies=match.choices("urgencies", URGENCIES),
            certainties=match.choices("certainties", CERTAINTIES),
            response_types=match.choices("response_types", RESPONSE_TYPES),
        ),
        targets=RuleTargets(
            alert_area=targets.boolean("alert_area", default=True),
            departments=frozenset(targets.texts("departments")),
            tags=frozenset(targets.texts("tags")),
            communes=frozenset(targets.texts("communes")),
        ),
        deployment=DeploymentPolicy(
            mode=mode, priority=deployment.choice("priority", PRIORITIES), timeout_minutes=timeout
        ),
        wording=tuple((family, text) for family, text in wording.items()),
    )
    match.no_others(tuple(Match.__dataclass_fields__))
    targets.no_others(tuple(RuleTargets.__dataclass_fields__))
    deployment.no_others(tuple(DeploymentPolicy.__dataclass_fields__))
    if not built.targets.alert_area and not (
        built.targets.departments or built.targets.tags or built.targets.communes
    ):
        raise RuleError(
            f"{where}.targets", "reach no panel: alert_area is false and no department, tag or commune"
        )
    return built


def rules_from_toml(text: str) -> tuple[Rule, ...]:
    """Rules from a TOML document of ``[[rule]]`` tables, in order."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as failure:
        raise RuleError("rules", "are not valid TOML: {problem}", problem=str(failure)) from None
    tables = document.get("rule", [])
    if not isinstance(tables, list):
        raise RuleError("rule", "must be an array of tables ([[rule]])")
    return tuple(rule_from_mapping(table, f"rules[{index}]") for index, table in enumerate(tables))


@cache
def default_rules() -> tuple[Rule, ...]:
    """Météo-France's vigilance, as shipped: orange and red on the department's panels, approval with a
    15-minute timeout; yellow matches no rule."""
    return rules_from_toml(DEFAULT_RULES.read_text(encoding="utf-8"))


def _check_template(text: object, where: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise RuleError(where, "must be a non-empty text")
    try:
        names = [name for _, name, _, _ in Formatter().parse(text) if name is not None]
    except ValueError as failure:
        raise RuleError(where, "is not a valid wording: {problem}", problem=str(failure)) from None
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        raise RuleError(
            where,
            "uses {placeholder}; allowed: {allowed}",
            placeholder="{" + unknown[0] + "}",
            allowed=", ".join(PLACEHOLDERS),
        )


class _Reader:
    """Typed reads from one table of a rule, each error naming its field."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise RuleError(where, "must be a table")
        self.data, self.where = data, where

    def table(self, name: str) -> Mapping[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, Mapping):
            raise RuleError(f"{self.where}.{name}", "must be a table")
        return value

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise RuleError(f"{self.where}.{name}", "must be a non-empty text")
        return value.strip()

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise RuleError(f"{self.where}.{name}", "must be a list of texts")
        return tuple(item.strip() for item in value)

    def ints(self, name: str) -> tuple[int, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(type(item) is int for item in value):
            raise RuleError(f"{self.where}.{name}", "must be a list of whole numbers")
        return tuple(value)

    def choices(self, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        values = self.texts(name)
        for value in values:
            if value not in allowed:
                raise RuleError(
                    f"{self.where}.{name}",
                    "has {value!r}, not one of {allowed}",
                    value=value,
                    allowed=", ".join(allowed),
                )
        return values

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.data.get(name)
        if value not in allowed:
            raise RuleError(f"{self.where}.{name}", "must be one of {choices}", choices=", ".join(allowed))
        return str(value)

    def optional_int(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if type(value) is not int or value <= 0:
            raise RuleError(f"{self.where}.{name}", "must be a positive whole number")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise RuleError(f"{self.where}.{name}", "must be true or false")
        return value

    def no_others(self, known: tuple[str, ...]) -> None:
        unknown = sorted(set(self.data) - set(known))
        if unknown:
            raise RuleError(f"{self.where}.{unknown[0]}", "is not a known field")
