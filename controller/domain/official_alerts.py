"""Official alerts from CAP feeds, as the controller keeps them: each organisation's sources (with their
health), its rules as data, and every document received, once per sender and identifier, with its raw
CAP and what it became on the panels.

The pure core (``controller.official``) says what a document means; this module records it and turns it
into an ordinary alert (signed, pre-empting, confirmed panel by panel) when its rule deploys it, at once,
on a person's approval, or when the approval's timeout passes. No HTTP here: the polling
(``controller.publishing.official_feeds``) fetches and hands documents in, then publishes.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from controller.dates import iso_utc
from controller.domain import audit
from controller.domain.access import Actor, Permission, Role
from controller.domain.addresses import is_http_url
from controller.domain.alerts import MAX_ALERT_S, MAX_ALERT_TEXT, alert_content
from controller.domain.errors import FieldError, undrawable
from controller.domain.panels import get_panels
from controller.domain.schedule_fields import targets_to_json
from controller.official.areas import PanelPlace, reached_panels
from controller.official.cap import Alert, read_cap
from controller.official.intake import Intake, take_in
from controller.official.lifecycle import Action, Deployment, Key
from controller.official.rules import DEFAULT_RULES, Rule, RuleError, rule_from_mapping, wording
from controller.official.safe_xml import OfficialAlertError
from controller.rendering.drawings import drawable
from controller.rendering.engine import RenderError
from controller.scheduling.model import Targets
from controller.storage.db import insert_row

SOURCE_KINDS = ("atom", "cap", "folder")
STATUSES = ("received", "matched", "pending", "deployed", "rejected", "ended")
LIVE = ("pending", "deployed")  # what a later document may replace or end
DEFAULT_POLL_S = 60
MIN_POLL_S = 10
MAX_POLL_S = 24 * 3600
MAX_NAME = 100
MAX_LOCATION = 2000
# The title official alerts carry on the panels; the wording, per kind of panel, is their text.
OFFICIAL_TITLE = "ALERTE"
SYSTEM = "système"  # who deploys what a rule deploys on its own


def _no_source(source_id: int) -> FieldError:
    return FieldError("source_id", "no alert source {source_id}", status=404, source_id=source_id)


def _no_rule(rule_id: int) -> FieldError:
    return FieldError("rule_id", "no alert rule {rule_id}", status=404, rule_id=rule_id)


def _no_official(official_id: int) -> FieldError:
    return FieldError(
        "official_alert_id", "no official alert {official_id}", status=404, official_id=official_id
    )


def _mine(actor: Actor, organisation: str | None) -> bool:
    """Sources, rules and official alerts are an organisation's: its own people and administrators."""
    return actor.can_for(Permission.ALERTS_SEND, organisation)


def _organisation_for(db: Database, actor: Actor, data: Mapping[str, Any]) -> str | None:
    """The organisation a new source or rule belongs to: the actor's own; an administrator may name one."""
    if "organisation" not in data:
        return actor.organisation
    organisation = data["organisation"]
    if organisation is not None and not isinstance(organisation, str):
        raise FieldError("organisation", "must be an organisation's id or null")
    if organisation != actor.organisation and actor.role != Role.ADMIN:
        raise FieldError("organisation", "you may only add to your own organisation", status=403)
    if (
        organisation is not None
        and not db.execute("select 1 from organisations where id = ?", [organisation]).fetchone()
    ):
        raise FieldError("organisation", "no organisation {organisation!r}", organisation=organisation)
    return organisation


# Sources ------------------------------------------------------------------------------------------


def _source_fields(
    data: Mapping[str, Any], current: Mapping[str, Any] | None, actor: Actor
) -> dict[str, Any]:
    """The fields of a source to write, checked; ``current`` is the stored source for a change. A folder
    on the controller is an administrator's to name: its files are read, then moved."""
    known = {"name", "kind", "location", "poll_interval_s", "test_mode", "organisation"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise FieldError(unknown[0], "is not a field of an alert source")
    if current is not None and "organisation" in data and data["organisation"] != current["organisation"]:
        raise FieldError("organisation", "a source stays with its organisation: delete it and add it anew")
    merged = {**(current or {}), **data}
    name, kind, location = merged.get("name"), merged.get("kind"), merged.get("location")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise FieldError("name", "is required, at most {max_name} characters", max_name=MAX_NAME)
    if kind not in SOURCE_KINDS:
        raise FieldError("kind", "must be one of {choices}", choices=", ".join(SOURCE_KINDS))
    if not isinstance(location, str) or not location.strip() or len(location) > MAX_LOCATION:
        raise FieldError("location", "is required: the feed's or document's URL, or the folder's path")
    location = location.strip()
    if kind == "folder":
        if actor.role != Role.ADMIN:
            raise FieldError("kind", "only an administrator may add a folder source", status=403)
        if not os.path.isabs(location):
            raise FieldError("location", "a folder source needs an absolute path")
        if not os.path.isdir(location):
            raise FieldError("location", "{location} is not a folder on the controller", location=location)
    elif not is_http_url(location):
        raise FieldError("location", "must be an http:// or https:// URL")
    interval = merged.get("poll_interval_s", DEFAULT_POLL_S)
    if type(interval) is not int or not MIN_POLL_S <= interval <= MAX_POLL_S:
        raise FieldError(
            "poll_interval_s",
            "must be a whole number of seconds, {min_s} to {max_s}",
            min_s=MIN_POLL_S,
            max_s=MAX_POLL_S,
        )
    test_mode = merged.get("test_mode", False)
    if not isinstance(test_mode, bool):
        raise FieldError("test_mode", "must be true or false")
    return {
        "name": name.strip(),
        "kind": kind,
        "location": location,
        "poll_interval_s": interval,
        "test_mode": int(test_mode),
    }


def _source_row(db: Database, source_id: int) -> dict[str, Any]:
    rows = list(db.query("select * from alert_sources where id = ?", [source_id]))
    if not rows:
        raise _no_source(source_id)
    return rows[0]


def get_source(db: Database, source_id: int, actor: Actor, say: Say | None = None) -> dict[str, Any]:
    row = _source_row(db, source_id)
    if not _mine(actor, row["organisation"]):
        raise _no_source(source_id)
    return source_json(row, say)


# Says an error's English template, filled from its values, in the reader's language (the web layer's).
Say = Callable[[str, Mapping[str, Any]], str]


def _last_error(row: Mapping[str, Any], say: Say | None) -> str | None:
    """The source's last error in the reader's language when it was kept as a template, else as it was."""
    if say is None or not row["last_error_detail"]:
        return row["last_error"]
    detail = json.loads(row["last_error_detail"])
    said = say(detail["template"], detail["params"])
    return f"{detail['where']}: {said}" if detail["where"] else said


def source_json(row: Mapping[str, Any], say: Say | None = None) -> dict[str, Any]:
    """A source as the API shows it, with its health: when it last worked, its last error (in English, or
    as ``say`` words it), its next try."""
    failing = bool(row["failures"])
    return {
        "id": row["id"],
        "organisation": row["organisation"],
        "name": row["name"],
        "kind": row["kind"],
        "location": row["location"],
        "poll_interval_s": row["poll_interval_s"],
        "test_mode": bool(row["test_mode"]),
        "created_by": row["created_by"],
        "created_at": iso_utc(row["created_at"]),
        "health": {
            "status": "error" if failing else ("ok" if row["last_success_at"] else "waiting"),
            "last_success_at": iso_utc(row["last_success_at"]),
            "last_error": _last_error(row, say),
            "last_error_at": iso_utc(row["last_error_at"]),
            "failures": row["failures"],
            "next_try_at": iso_utc(row["next_try_at"] or None),
        },
    }


def list_sources(db: Database, actor: Actor, say: Say | None = None) -> list[dict[str, Any]]:
    return [
        source_json(row, say)
        for row in db.query("select * from alert_sources order by id")
        if _mine(actor, row["organisation"])
    ]


def create_source(db: Database, data: Mapping[str, Any], actor: Actor, now: float) -> int:
    """Record a source, polled at once; call inside the write transaction. An organisation's first source
    brings Météo-France's default rules with it when it has no rule yet (it may change or delete them)."""
    organisation = _organisation_for(db, actor, data)
    fields = _source_fields(data, None, actor)
    first = (
        not db.execute("select 1 from alert_sources where organisation is ?", [organisation]).fetchone()
        and not db.execute("select 1 from alert_rules where organisation is ?", [organisation]).fetchone()
    )
    source_id = insert_row(
        db,
        "alert_sources",
        {
            **fields,
            "organisation": organisation,
            "created_by": actor.name,
            "created_at": int(now),
            "next_try_at": 0,
        },
    )
    if first:
        seed_default_rules(db, organisation, now)
    return source_id


def update_source(db: Database, source_id: int, data: Mapping[str, Any], actor: Actor) -> None:
    """Change a source; a changed location forgets the old one's ETag and is polled at once."""
    current = get_source(db, source_id, actor)
    fields = _source_fields(data, current, actor)
    if fields["location"] != current["location"] or fields["kind"] != current["kind"]:
        fields |= {"etag": None, "last_modified": None, "failures": 0, "next_try_at": 0}
    db.table("alert_sources").update(source_id, fields)


def delete_source(db: Database, source_id: int, actor: Actor) -> None:
    """The source goes; what it brought stays, listed without its source."""
    get_source(db, source_id, actor)
    db.execute("update official_alerts set source_id = null where source_id = ?", [source_id])
    db.execute("delete from alert_sources where id = ?", [source_id])


def due_sources(db: Database, now: float) -> list[dict[str, Any]]:
    return list(
        db.query("select * from alert_sources where next_try_at <= ? order by next_try_at, id", [now])
    )


def record_health(
    db: Database,
    source_id: int,
    *,
    now: float,
    next_try_at: float,
    problem: OfficialAlertError | None,
    validators: tuple[str | None, str | None] | None = None,
) -> None:
    """A poll's outcome: success (clearing the errors) or an error; the next try; the feed's validators
    (ETag, Last-Modified) when the poll read it whole."""
    changes: dict[str, Any] = {"next_try_at": int(next_try_at)}
    if problem is None:
        changes |= {"last_success_at": int(now), "failures": 0}
    else:
        detail = {"template": problem.template, "params": problem.params, "where": problem.where}
        changes |= {
            "last_error": str(problem)[:1000],
            "last_error_detail": json.dumps(detail, ensure_ascii=False, default=str),
            "last_error_at": int(now),
        }
        db.execute("update alert_sources set failures = failures + 1 where id = ?", [source_id])
    if validators is not None:
        changes |= {"etag": validators[0], "last_modified": validators[1]}
    db.table("alert_sources").update(source_id, changes)


# Rules ---------------------------------------------------------------------------------------------

RULE_FIELDS = ("name", "match", "targets", "deployment", "wording")


def check_rule(data: Mapping[str, Any]) -> Rule:
    """A rule from the API's JSON; :class:`FieldError` names the field at fault (``deployment.mode``)."""
    try:
        return rule_from_mapping(data, "rule")
    except RuleError as error:
        field = error.field.removeprefix("rule.").removeprefix("rule") or "rule"
        raise FieldError(field, error.template, 400, **error.params) from None


def _rule_row(db: Database, rule_id: int, actor: Actor) -> dict[str, Any]:
    rows = list(db.query("select * from alert_rules where id = ?", [rule_id]))
    if not rows or not _mine(actor, rows[0]["organisation"]):
        raise _no_rule(rule_id)
    return rows[0]


def rule_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "organisation": row["organisation"],
        "position": row["position"],
        **json.loads(row["rule"]),
        "created_by": row["created_by"],
        "created_at": iso_utc(row["created_at"]),
        "changed_at": iso_utc(row["changed_at"]),
    }


def get_rule(db: Database, rule_id: int, actor: Actor) -> dict[str, Any]:
    return rule_json(_rule_row(db, rule_id, actor))


def list_rules(db: Database, actor: Actor) -> list[dict[str, Any]]:
    return [
        rule_json(row)
        for row in db.query("select * from alert_rules order by organisation, position, id")
        if _mine(actor, row["organisation"])
    ]


def _rule_body(data: Mapping[str, Any]) -> dict[str, Any]:
    body = {key: value for key, value in data.items() if key in RULE_FIELDS}
    check_rule(body)
    return body


def _position(data: Mapping[str, Any], default: int) -> int:
    position = data.get("position", default)
    if type(position) is not int or position < 1:
        raise FieldError("position", "must be a whole number from 1 (the first rule tried)")
    return position


def _place(db: Database, organisation: str | None, rule_id: int, position: int) -> None:
    """Put a rule at ``position`` among its organisation's, the others closing up behind it."""
    others = [
        row[0]
        for row in db.execute(
            "select id from alert_rules where organisation is ? and id != ? order by position, id",
            [organisation, rule_id],
        )
    ]
    others.insert(min(position, len(others) + 1) - 1, rule_id)
    for index, other in enumerate(others, start=1):
        db.execute("update alert_rules set position = ? where id = ?", [index, other])


def create_rule(db: Database, data: Mapping[str, Any], actor: Actor, now: float) -> int:
    unknown = sorted(set(data) - {*RULE_FIELDS, "position", "organisation"})
    if unknown:
        raise FieldError(unknown[0], "is not a field of an alert rule")
    organisation = _organisation_for(db, actor, data)
    body = _rule_body(data)
    count = db.execute("select count(*) from alert_rules where organisation is ?", [organisation]).fetchone()[
        0
    ]
    position = _position(data, count + 1)
    rule_id = insert_row(
        db,
        "alert_rules",
        {
            "organisation": organisation,
            "position": count + 1,
            "rule": json.dumps(body, ensure_ascii=False),
            "created_by": actor.name,
            "created_at": int(now),
        },
    )
    _place(db, organisation, rule_id, position)
    return rule_id


def update_rule(db: Database, rule_id: int, data: Mapping[str, Any], actor: Actor, now: float) -> None:
    """Replace the rule's top-level fields given (``match``, ``wording``…) and, with ``position``, move it."""
    unknown = sorted(set(data) - {*RULE_FIELDS, "position"})
    if unknown:
        raise FieldError(unknown[0], "is not a field of an alert rule (its organisation stays)")
    row = _rule_row(db, rule_id, actor)
    body = _rule_body({**json.loads(row["rule"]), **data})
    db.table("alert_rules").update(
        rule_id, {"rule": json.dumps(body, ensure_ascii=False), "changed_at": int(now)}
    )
    if "position" in data:
        _place(db, row["organisation"], rule_id, _position(data, row["position"]))


def delete_rule(db: Database, rule_id: int, actor: Actor) -> None:
    row = _rule_row(db, rule_id, actor)
    db.execute("delete from alert_rules where id = ?", [rule_id])
    _place_all(db, row["organisation"])


def _place_all(db: Database, organisation: str | None) -> None:
    ids = [
        row[0]
        for row in db.execute(
            "select id from alert_rules where organisation is ? order by position, id", [organisation]
        )
    ]
    for index, rule_id in enumerate(ids, start=1):
        db.execute("update alert_rules set position = ? where id = ?", [index, rule_id])


def seed_default_rules(db: Database, organisation: str | None, now: float) -> None:
    """Météo-France's vigilance rules as shipped (``controller/official/meteo_france_rules.toml``)."""
    tables = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))["rule"]
    for position, table in enumerate(tables, start=1):
        db.table("alert_rules").insert(
            {
                "organisation": organisation,
                "position": position,
                "rule": json.dumps(table, ensure_ascii=False),
                "created_by": SYSTEM,
                "created_at": int(now),
            }
        )


def rules_of(db: Database, organisation: str | None) -> list[Rule]:
    """The organisation's rules in order; one that no longer reads (never, as they are checked when
    written) would be skipped rather than stop every alert."""
    found = []
    for row in db.query(
        "select rule from alert_rules where organisation is ? order by position, id", [organisation]
    ):
        try:
            found.append(rule_from_mapping(json.loads(row["rule"])))
        except RuleError:
            continue
    return found


# Documents received ----------------------------------------------------------------------------------


def _utc(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def stored_deployments(db: Database, organisation: str | None) -> dict[Key, Deployment]:
    """Every document the organisation received, as the life cycle reads them: a key seen is never taken
    in twice, and only pending or deployed ones may be replaced or ended."""
    return {
        (row["sender"], row["identifier"]): Deployment(
            (row["sender"], row["identifier"]),
            None if row["expires_at"] is None else datetime.fromtimestamp(row["expires_at"], UTC),
            ended=row["status"] not in LIVE,
        )
        for row in db.query(
            "select sender, identifier, expires_at, status from official_alerts where organisation is ?",
            [organisation],
        )
    }


def known_identifiers(db: Database, organisation: str | None) -> set[str]:
    """Identifiers already received: a feed's entry naming one is not fetched again."""
    return {
        row[0]
        for row in db.execute(
            "select identifier from official_alerts where organisation is ?", [organisation]
        )
    }


@dataclass(frozen=True)
class Reach:
    """Where and how an alert shows under its rule: its panels, and its wording per panel profile."""

    panels: list[str]
    texts: dict[str, str]
    problem: str | None = None


def reach(db: Database, rule: Rule, alert: Alert, now: datetime) -> Reach:
    """The panels the rule reaches for this alert, worded for each profile; panels of a kind the rule
    words nothing for are left out, and a wording a kind of panel cannot draw is named as a problem."""
    info = alert.info
    if info is None:
        return Reach([], {}, "the alert has no <info> block")
    panels = get_panels(db)
    places = [
        PanelPlace(p.id, p.commune_insee, p.latitude, p.longitude, frozenset(p.tags)) for p in panels.values()
    ]
    texts: dict[str, str] = {}
    reached = []
    for panel_id in reached_panels(rule.targets, info, places):
        profile = panels[panel_id].profile
        if profile.id not in texts:
            text = wording(rule, alert, profile.id, now)
            if text is None:
                continue
            texts[profile.id] = text[:MAX_ALERT_TEXT]
            drawn = drawable(alert_content(texts[profile.id], OFFICIAL_TITLE, profile), profile)
            if isinstance(drawn, RenderError):
                return Reach([], {}, f"{drawn.message} (profil {profile.id})")
        reached.append(panel_id)
    if not reached:
        return Reach([], {}, "the rule reaches no panel")
    return Reach(reached, {profile: texts[profile] for profile in sorted(texts)})


@dataclass(frozen=True)
class Received:
    """A document taken in, with what it will do once recorded; made before any lock is taken."""

    source: Mapping[str, Any]
    raw: bytes
    intake: Intake
    reach: Reach | None


def take(db: Database, source: Mapping[str, Any], raw: bytes, now: float) -> Received:
    """Read a document against what the source's organisation stored and its rules (raises
    ``OfficialAlertError``: a source error), and work out its panels and wording: the slow part, done
    outside the write lock."""
    organisation = source["organisation"]
    moment = datetime.fromtimestamp(now, UTC)
    intake = take_in(
        raw,
        stored=stored_deployments(db, organisation),
        rules=rules_of(db, organisation),
        now=moment,
        test_mode=bool(source["test_mode"]),
    )
    found = reach(db, intake.rule, intake.alert, moment) if intake.shows and intake.rule is not None else None
    return Received(source, raw, intake, found)


def _rule_table(rule: Rule) -> str:
    """The rule as it stood when it applied, kept with the alert (rules change; the alert does not)."""
    return json.dumps(
        {
            "name": rule.name,
            "deployment": {
                "mode": rule.deployment.mode,
                "priority": rule.deployment.priority,
                "timeout_minutes": rule.deployment.timeout_minutes,
            },
        },
        ensure_ascii=False,
    )


def record(db: Database, received: Received, now: float) -> set[str]:
    """Record a document taken in and carry out its decision; call inside the write transaction. Returns
    the panels whose schedules changed, to republish in the same transaction. A document another poll
    recorded meanwhile does nothing."""
    alert, decision, rule = received.intake.alert, received.intake.decision, received.intake.rule
    organisation = received.source["organisation"]
    if db.execute(
        "select 1 from official_alerts where organisation is ? and sender = ? and identifier = ?",
        [organisation, alert.sender, alert.identifier],
    ).fetchone():
        return set()
    info = alert.info
    found = received.reach
    status, reason = "received", decision.reason
    if rule is not None and found is not None:
        status, reason = (
            ("matched", found.problem)
            if found.problem
            else ("pending", f"{decision.reason}; rule {rule.name}")
        )
    row = {
        "organisation": organisation,
        "source_id": received.source["id"],
        "sender": alert.sender,
        "identifier": alert.identifier,
        "sent": alert.sent.isoformat(),
        "msg_type": alert.msg_type,
        "event": info.event if info else "",
        "headline": info.headline if info else "",
        "sender_name": info.sender_name if info else "",
        "awareness_level": info.awareness_level.level if info and info.awareness_level else None,
        "awareness_type": info.awareness_type.code if info and info.awareness_type else None,
        "severity": info.severity if info else None,
        "area": ", ".join(area.description for area in info.areas) if info else "",
        "onset_at": _utc(info.onset or info.effective) if info else None,
        "status": status,
        "reason": reason,
        "rule": None if rule is None else _rule_table(rule),
        "panels": json.dumps(found.panels if found else []),
        "texts": json.dumps(found.texts if found else {}, ensure_ascii=False),
        "expires_at": _expiry(info.expires if info else None, now),
        "raw": received.raw.decode("utf-8", errors="replace"),
        "received_at": int(now),
    }
    official_id = insert_row(db, "official_alerts", row)
    audit.record(
        db, None, "official_alert.receive", "official_alert", official_id, after=_audit_view(db, official_id)
    )
    touched: set[str] = set()
    previous = [_by_key(db, organisation, key) for key in decision.previous]
    live_previous = [row for row in previous if row is not None and row["status"] in LIVE]
    if decision.action is Action.END or (decision.action is Action.REPLACE and status != "pending"):
        for old in live_previous:
            touched |= _end(db, old, f"{decision.reason} (#{official_id})", now)
        return touched
    if status != "pending" or rule is None:
        return touched
    # A new alert, or an update that replaces what is shown: deployed at once, after approval, or when
    # the approval's timeout passes.
    received_at = datetime.fromtimestamp(now, UTC)
    deploys_at = rule.deployment.deploys_at(received_at)
    replaced = next((old for old in live_previous if old["status"] == "deployed" and old["alert_id"]), None)
    for old in live_previous:
        if old is not replaced:
            touched |= _end(db, old, f"replaced by #{official_id}", now)
    if replaced is not None:
        # An update of what is on the panels (approved already, or deployed by the rule): the sender's
        # new wording replaces the old at once.
        touched |= _replace_on_air(db, replaced, official_id, now)
    elif deploys_at is not None and deploys_at <= received_at:  # automatic
        touched |= deploy(db, official_id, by=None, now=now, why="official_alert.deploy")
    else:
        db.table("official_alerts").update(official_id, {"deploys_at": _utc(deploys_at)})
        audit.record(
            db,
            None,
            "official_alert.pending",
            "official_alert",
            official_id,
            after=_audit_view(db, official_id),
        )
    return touched


def _expiry(expires: datetime | None, now: float) -> int:
    """When it comes off the panels: its own ``expires``, within an alert's longest life (7 days)."""
    latest = int(now) + MAX_ALERT_S
    return latest if expires is None else min(latest, int(expires.timestamp()))


def _by_key(db: Database, organisation: str | None, key: Key) -> dict[str, Any] | None:
    rows = list(
        db.query(
            "select * from official_alerts where organisation is ? and sender = ? and identifier = ?",
            [organisation, *key],
        )
    )
    return rows[0] if rows else None


def _official_row(db: Database, official_id: int) -> dict[str, Any]:
    rows = list(db.query("select * from official_alerts where id = ?", [official_id]))
    if not rows:
        raise _no_official(official_id)
    return rows[0]


def _audit_view(db: Database, official_id: int) -> dict[str, Any]:
    return official_json(_official_row(db, official_id), with_raw=False)


def _alert_panels(db: Database, alert_id: int) -> set[str]:
    return {row[0] for row in db.execute("select panel_id from alert_panels where alert_id = ?", [alert_id])}


def deploy(
    db: Database,
    official_id: int,
    *,
    by: Actor | None,
    now: float,
    why: str,
    texts: Mapping[str, str] | None = None,
) -> set[str]:
    """Put a matched official alert on its panels as an alert (signed, pre-empting, confirmed panel by
    panel), its wording per profile (``texts`` an approver's edit); call inside the write transaction.
    Returns its panels, to republish."""
    row = _official_row(db, official_id)
    panels = json.loads(row["panels"])
    worded = {**json.loads(row["texts"]), **(texts or {})}
    if row["expires_at"] <= now:
        _set_status(db, official_id, "ended", "expired before it was deployed", None, now)
        return set()
    alert_id = insert_row(
        db,
        "alerts",
        {
            "text": next(iter(worded.values())),
            "texts": json.dumps(worded, ensure_ascii=False),
            "title": OFFICIAL_TITLE,
            "targets": targets_to_json(Targets(panels=frozenset(panels))),
            "starts_at": int(now),
            "expires_at": row["expires_at"],
            "created_by": SYSTEM if by is None else by.name,
            "created_at": int(now),
            "organisation": row["organisation"],
            "approval": "approved",
            "approved_by": None if by is None else by.name,
            "approved_at": None if by is None else int(now),
        },
    )
    db.table("alert_panels").insert_all({"alert_id": alert_id, "panel_id": panel_id} for panel_id in panels)
    before = _audit_view(db, official_id)
    db.table("official_alerts").update(
        official_id,
        {
            "status": "deployed",
            "alert_id": alert_id,
            "texts": json.dumps(worded, ensure_ascii=False),
            "worded_by": None if by is None or not texts else by.name,
            "decided_by": None if by is None else by.name,
            "decided_at": int(now),
        },
    )
    audit.record(db, by, why, "official_alert", official_id, before, _audit_view(db, official_id))
    return set(panels)


def _replace_on_air(db: Database, old: Mapping[str, Any], official_id: int, now: float) -> set[str]:
    """An Update of a deployed alert: the new document takes over its alert, whose wording, panels and
    expiry become the update's; each panel confirms it again."""
    new = _official_row(db, official_id)
    alert_id = old["alert_id"]
    texts, panels = json.loads(new["texts"]), json.loads(new["panels"])
    touched = _alert_panels(db, alert_id) | set(panels)
    db.table("alerts").update(
        alert_id,
        {
            "text": next(iter(texts.values())),
            "texts": json.dumps(texts, ensure_ascii=False),
            "targets": targets_to_json(Targets(panels=frozenset(panels))),
            "expires_at": new["expires_at"],
        },
    )
    db.execute("delete from alert_panels where alert_id = ?", [alert_id])
    db.table("alert_panels").insert_all({"alert_id": alert_id, "panel_id": panel_id} for panel_id in panels)
    _set_status(db, old["id"], "ended", f"replaced by its update #{official_id}", None, now)
    before = _audit_view(db, official_id)
    db.table("official_alerts").update(
        official_id, {"status": "deployed", "alert_id": alert_id, "decided_at": int(now)}
    )
    audit.record(
        db, None, "official_alert.update", "official_alert", official_id, before, _audit_view(db, official_id)
    )
    return touched


def _end(db: Database, row: Mapping[str, Any], reason: str, now: float) -> set[str]:
    """Take an official alert off (its alert cancelled) or out of the approval queue."""
    touched: set[str] = set()
    if row["alert_id"] is not None:
        db.execute(
            "update alerts set cancelled_at = ? where id = ? and cancelled_at is null",
            [int(now), row["alert_id"]],
        )
        touched = _alert_panels(db, row["alert_id"])
    _set_status(db, row["id"], "ended", reason, None, now)
    return touched


def _set_status(
    db: Database, official_id: int, status: str, reason: str, by: Actor | None, now: float
) -> None:
    before = _audit_view(db, official_id)
    changes: dict[str, Any] = {"status": status, "reason": reason}
    if status == "rejected":
        changes |= {"decided_by": None if by is None else by.name, "decided_at": int(now)}
    db.table("official_alerts").update(official_id, changes)
    audit.record(
        db,
        by,
        f"official_alert.{'end' if status == 'ended' else status}",
        "official_alert",
        official_id,
        before,
        _audit_view(db, official_id),
    )


def on_the_clock(db: Database, now: float) -> set[str]:
    """What time alone decides; call inside the write transaction: pending alerts whose approval timed
    out are deployed, those past their ``expires`` end. Returns the panels to republish."""
    touched: set[str] = set()
    for row in db.query(
        "select * from official_alerts where status in ('pending', 'deployed') and expires_at <= ?", [now]
    ):
        touched |= _end(db, row, "expired", now)
    for row in db.query(
        "select id from official_alerts where status = 'pending' and deploys_at is not null and deploys_at <= ?",
        [now],
    ):
        touched |= deploy(db, row["id"], by=None, now=now, why="official_alert.timeout")
    return touched


def _live_row(db: Database, official_id: int, actor: Actor) -> dict[str, Any]:
    row = _official_row(db, official_id)
    if not _mine(actor, row["organisation"]):
        raise _no_official(official_id)
    return row


def _pending(db: Database, official_id: int, actor: Actor) -> dict[str, Any]:
    row = _live_row(db, official_id, actor)
    if not actor.can_for(Permission.ALERTS_APPROVE, row["organisation"]):
        raise FieldError("approved_by", "only a member of its organisation may decide on it", status=403)
    if row["status"] != "pending":
        raise FieldError(
            "official_alert_id",
            "official alert {official_id} is {state}, not pending",
            status=409,
            official_id=official_id,
            state=row["status"],
        )
    return row


def check_texts(db: Database, official_id: int, data: Mapping[str, Any]) -> dict[str, str] | None:
    """An approver's edited wording, ``{"texts": {profile: text}}``, for profiles the alert reaches,
    each drawable on its profile; None when the wording stays."""
    texts = data.get("texts")
    if texts is None:
        return None
    known = json.loads(_official_row(db, official_id)["texts"])
    if not isinstance(texts, dict) or not texts:
        raise FieldError("texts", "must be an object of panel profile → text")
    from controller.rendering.profiles import get_profile

    for profile_id, text in texts.items():
        if profile_id not in known:
            raise FieldError(
                "texts",
                "{profile} is not a profile this alert reaches: {known}",
                profile=profile_id,
                known=", ".join(known),
            )
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_ALERT_TEXT:
            raise FieldError(
                "texts",
                "{profile}: a text of 1 to {max_text} characters",
                profile=profile_id,
                max_text=MAX_ALERT_TEXT,
            )
        profile = get_profile(profile_id)
        drawn = drawable(alert_content(text.strip(), OFFICIAL_TITLE, profile), profile)
        if isinstance(drawn, RenderError):
            raise undrawable(drawn, f"profil {profile_id}").at("texts")
    return {profile_id: text.strip() for profile_id, text in texts.items()}


def approve(
    db: Database, official_id: int, actor: Actor, now: float, texts: Mapping[str, str] | None = None
) -> set[str]:
    """A person's yes (with their edited wording, if any): deployed now. Returns the panels to republish."""
    _pending(db, official_id, actor)
    return deploy(db, official_id, by=actor, now=now, why="official_alert.approve", texts=texts)


def reject(db: Database, official_id: int, actor: Actor, reason: object, now: float) -> None:
    """A person's no, with the reason the audit log and the page keep: it reaches no panel."""
    _pending(db, official_id, actor)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise FieldError("reason", "is required: say why it reaches no panel, in at most 500 characters")
    _set_status(db, official_id, "rejected", reason.strip(), actor, now)


def official_json(row: Mapping[str, Any], *, with_raw: bool) -> dict[str, Any]:
    rule = json.loads(row["rule"]) if row["rule"] else None
    return {
        "id": row["id"],
        "organisation": row["organisation"],
        "source_id": row["source_id"],
        "sender": row["sender"],
        "identifier": row["identifier"],
        "sent": row["sent"],
        "msg_type": row["msg_type"],
        "event": row["event"],
        "headline": row["headline"],
        "sender_name": row["sender_name"],
        "awareness_level": row["awareness_level"],
        "awareness_type": row["awareness_type"],
        "severity": row["severity"],
        "area": row["area"],
        "onset_at": iso_utc(row["onset_at"]),
        "status": row["status"],
        "reason": row["reason"],
        "rule": rule,
        "panels": json.loads(row["panels"] or "[]"),
        "texts": json.loads(row["texts"] or "{}"),
        "expires_at": iso_utc(row["expires_at"]),
        "deploys_at": iso_utc(row["deploys_at"]),
        "alert_id": row["alert_id"],
        "received_at": iso_utc(row["received_at"]),
        "worded_by": row["worded_by"],
        "decided_by": row["decided_by"],
        "decided_at": iso_utc(row["decided_at"]),
    } | ({"raw": row["raw"]} if with_raw else {})


# Every column but the raw CAP.
_LISTED = (
    "id, organisation, source_id, sender, identifier, sent, msg_type, event, headline, sender_name, "
    "awareness_level, awareness_type, severity, area, onset_at, status, reason, rule, panels, texts, worded_by, "
    "expires_at, deploys_at, alert_id, received_at, decided_by, decided_at"
)


def list_official(db: Database, actor: Actor, status: str | None) -> list[dict[str, Any]]:
    """Newest first, without the raw CAP (``GET /official-alerts/<id>`` has it), which is not even read:
    a list of a busy winter's documents would otherwise read megabytes."""
    if status is not None and status not in STATUSES:
        raise FieldError("status", "must be one of {choices}", choices=", ".join(STATUSES))
    return [
        official_json(row, with_raw=False)
        for row in db.query(
            f"select {_LISTED} from official_alerts where ? is null or status = ? order by id desc",
            [status, status],
        )
        if _mine(actor, row["organisation"])
    ]


def pending_count(db: Database, actor: Actor) -> int:
    """How many official alerts wait for a decision the actor may take: the navigation's badge."""
    if not actor.can(Permission.ALERTS_APPROVE):
        return 0
    return sum(
        actor.can_for(Permission.ALERTS_APPROVE, row[0])
        for row in db.execute("select organisation from official_alerts where status = 'pending'")
    )


def get_official(db: Database, official_id: int, actor: Actor) -> dict[str, Any]:
    return official_json(_live_row(db, official_id, actor), with_raw=True)


@dataclass(frozen=True)
class Rewording:
    """A deployed alert's wording for the phase it entered (« à partir de mardi 6 h » becomes
    « jusqu’à mercredi 8 h » at onset)."""

    official_id: int
    alert_id: int
    texts: dict[str, str]


def rewordings(db: Database, now: float) -> list[Rewording]:
    """The deployed alerts worded by their rule (not edited by a person) whose wording changed with
    the time; read only, so the write lock is taken only when there is something to write."""
    found = []
    moment = datetime.fromtimestamp(now, UTC)
    for row in db.query(
        "select * from official_alerts where status = 'deployed' and worded_by is null and alert_id is not null"
    ):
        rule = _rule_by_name(db, row["organisation"], json.loads(row["rule"] or "{}").get("name"))
        if rule is None:
            continue
        try:
            alert = read_cap(row["raw"].encode("utf-8"))
        except OfficialAlertError:  # kept as text: a document in another encoding may not read back
            continue
        texts: dict[str, str] = json.loads(row["texts"])
        fresh = {
            profile: (wording(rule, alert, profile, moment) or text)[:MAX_ALERT_TEXT]
            for profile, text in texts.items()
        }
        if fresh != texts:
            found.append(Rewording(row["id"], row["alert_id"], fresh))
    return found


def reword(db: Database, changes: list[Rewording]) -> set[str]:
    """Write the new wordings; call inside the write transaction. Returns the panels to republish."""
    touched: set[str] = set()
    for change in changes:
        texts = json.dumps(change.texts, ensure_ascii=False)
        db.table("official_alerts").update(change.official_id, {"texts": texts})
        db.table("alerts").update(
            change.alert_id, {"text": next(iter(change.texts.values())), "texts": texts}
        )
        touched |= _alert_panels(db, change.alert_id)
    return touched


def clock_due(db: Database, now: float) -> bool:
    """Whether time alone has something to do (a timeout, an expiry): read only, every few seconds."""
    return bool(
        db.execute(
            """select 1 from official_alerts where (status in ('pending', 'deployed') and expires_at <= ?)
               or (status = 'pending' and deploys_at <= ?) limit 1""",
            [now, now],
        ).fetchone()
    )


def _rule_by_name(db: Database, organisation: str | None, name: object) -> Rule | None:
    return next((rule for rule in rules_of(db, organisation) if rule.name == name), None)
