"""Campaigns across communes with their consent, and the proof-of-play report the prefecture steers by.

A campaign (for example the year-end road-safety campaign, 15 December – 2 January) names its
messages, its dates, the share of air time it asks for and a target set. Each commune of the target
set is invited; only the panels of communes that accept show it, within the hours and share they set.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from controller.dates import format_duration, iso_utc
from controller.domain.access import Actor
from controller.domain.errors import FieldError
from controller.domain.messages import reached_panels
from controller.domain.panels import INSEE_PATTERN, Panel, commune_names, get_panels
from controller.domain.schedule_fields import (
    parse_instant,
    parse_recurrence,
    parse_targets,
    recurrence_to_json,
    targets_from_json,
    targets_to_json,
)
from controller.domain.scope import sees_campaign, targets_seen_by
from controller.domain.spreadsheet import paris_time, spreadsheet_csv
from controller.scheduling.model import Targets
from controller.scheduling.targets import resolve_targets
from controller.storage.db import insert_row, transaction

CONSENT_STATUSES = ("accepted", "declined")


def create_campaign(db: Database, data: Any, *, created_by: str, now: float) -> int:
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise FieldError("name", "is required")
    starts_at = parse_instant(data, "starts_at", required=True)
    ends_at = parse_instant(data, "ends_at", required=True)
    if ends_at <= starts_at:
        raise FieldError("ends_at", "must come after starts_at")
    if ends_at <= now:
        raise FieldError("ends_at", "is in the past: the campaign would never be shown")
    share = data.get("share")
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
        raise FieldError("share", "must be a fraction of air time above 0 and at most 1, e.g. 0.33")
    targets = parse_targets(data)
    communes = sorted({panel.commune_insee for panel in _target_panels(db, targets)})
    if not communes:
        raise FieldError("panels", "no panel matches these targets")
    with transaction(db):
        campaign_id = insert_row(
            db,
            "campaigns",
            {
                "name": name.strip(),
                "organisation": str(data.get("organisation") or ""),
                "starts_at": starts_at,
                "ends_at": ends_at,
                "share": float(share),
                "targets": targets_to_json(targets),
                "created_by": created_by,
                "created_at": int(now),
            },
        )
        db.table("campaign_consents").insert_all(
            {"campaign_id": campaign_id, "commune_insee": insee, "status": "pending", "invited_at": int(now)}
            for insee in communes
        )
    return campaign_id


def _target_panels(db: Database, targets: Targets) -> list[Panel]:
    panels = get_panels(db)
    return [panels[panel_id] for panel_id in resolve_targets(targets, [p.info for p in panels.values()])]


def answer(db: Database, campaign_id: int, commune: str, data: Any, *, answered_by: str, now: float) -> None:
    """A commune accepts or declines; accepting may limit the hours and the share."""
    if not isinstance(data, dict) or data.get("status") not in CONSENT_STATUSES:
        raise FieldError("status", "must be one of {choices}", choices=", ".join(CONSENT_STATUSES))
    max_share = data.get("max_share")
    if max_share is not None and (not isinstance(max_share, int | float) or not 0 < max_share <= 1):
        raise FieldError("max_share", "must be a fraction above 0 and at most 1")
    hours = parse_recurrence({"recurrence": data["hours"]}) if data.get("hours") is not None else None
    with transaction(db):
        found = db.execute(
            "select 1 from campaign_consents where campaign_id = ? and commune_insee = ?",
            [campaign_id, commune],
        ).fetchone()
        if found is None:
            raise FieldError(
                "commune",
                "commune {commune} is not invited to campaign {campaign_id}",
                status=404,
                commune=commune,
                campaign_id=campaign_id,
            )
        db.execute(
            """update campaign_consents set status = ?, hours = ?, max_share = ?, answered_at = ?, answered_by = ?
               where campaign_id = ? and commune_insee = ?""",
            [
                data["status"],
                recurrence_to_json(hours),
                max_share,
                int(now),
                answered_by,
                campaign_id,
                commune,
            ],
        )


def invite(db: Database, campaign_id: int, data: Any, now: float) -> list[str]:
    """Invite more communes (``{"communes": ["01004", …]}``); those invited already keep their answer.
    Returns the communes newly invited."""
    communes = data.get("communes") if isinstance(data, dict) else None
    if not isinstance(communes, list) or not communes:
        raise FieldError("communes", "must be a non-empty list of INSEE codes")
    if not all(isinstance(code, str) and INSEE_PATTERN.match(code) for code in communes):
        raise FieldError("communes", "INSEE codes have 5 characters, e.g. 01053")
    if get_campaign(db, campaign_id) is None:
        raise FieldError("campaign_id", "no campaign {campaign_id}", status=404, campaign_id=campaign_id)
    invited = {row[0] for row in db.execute(_INVITED, [campaign_id])}
    new = sorted(set(communes) - invited)
    db.table("campaign_consents").insert_all(
        {"campaign_id": campaign_id, "commune_insee": insee, "status": "pending", "invited_at": int(now)}
        for insee in new
    )
    _reach_communes(db, campaign_id, new)
    return new


def _reach_communes(db: Database, campaign_id: int, communes: list[str]) -> None:
    """A commune invited later is reached as those invited at first: its panels join the campaign's
    targets and its messages', so that accepting puts the campaign on them (its consent still decides)."""
    if not communes:
        return
    panel_ids = [panel.id for panel in get_panels(db).values() if panel.commune_insee in communes]
    messages = [row[0] for row in db.execute("select id from messages where campaign_id = ?", [campaign_id])]
    for table, row_id in [("campaigns", campaign_id), *(("messages", message) for message in messages)]:
        [(stored,)] = db.execute(f"select targets from {table} where id = ?", [row_id]).fetchall()
        targets = targets_from_json(stored)
        widened = dataclasses.replace(targets, communes=targets.communes | frozenset(communes))
        db.execute(f"update {table} set targets = ? where id = ?", [targets_to_json(widened), row_id])
    db.table("message_targets").insert_all(
        ({"message_id": message, "panel_id": panel_id} for message in messages for panel_id in panel_ids),
        ignore=True,
    )


_INVITED = "select commune_insee from campaign_consents where campaign_id = ?"


def set_state(db: Database, campaign_id: int, action: str, now: float) -> None:
    column = {"launch": "launched_at", "stop": "stopped_at"}[action]
    with transaction(db):
        changed = db.execute(
            f"update campaigns set {column} = ? where id = ? and {column} is null", [int(now), campaign_id]
        ).rowcount
    if not changed and get_campaign(db, campaign_id) is None:
        raise FieldError("campaign_id", "no campaign {campaign_id}", status=404, campaign_id=campaign_id)


_OWN_PANELS = "select id from panels where commune_insee = ?"


def get_campaign(db: Database, campaign_id: int, actor: Actor | None = None) -> dict[str, Any] | None:
    """A campaign and its answers; None when absent, or when a commune's user is not invited to it
    (who then sees its own commune's answer only)."""
    try:
        campaign = db.table("campaigns").get(campaign_id)
    except NotFoundError:
        return None
    consents = list(
        db.query(
            "select * from campaign_consents where campaign_id = ? order by commune_insee", [campaign_id]
        )
    )
    own_panels: list[str] = []
    if actor is not None:
        if not sees_campaign(actor, {consent["commune_insee"] for consent in consents}):
            return None
        consents = [consent for consent in consents if actor.sees_commune(consent["commune_insee"])]
        own_panels = [row[0] for row in db.execute(_OWN_PANELS, [actor.commune_insee])]
    names = commune_names(db, [consent["commune_insee"] for consent in consents])
    organisation = db.execute(
        "select name from organisations where id = ?", [campaign["organisation"]]
    ).fetchone()
    contents = _contents(db, campaign_id, own_panels if actor is not None and actor.scoped else None)
    return {
        "id": campaign["id"],
        "name": campaign["name"],
        "organisation": campaign["organisation"],
        "organisation_name": organisation[0] if organisation else campaign["organisation"],
        "starts_at": iso_utc(campaign["starts_at"]),
        "ends_at": iso_utc(campaign["ends_at"]),
        "share": campaign["share"],
        "targets": targets_seen_by(actor, json.loads(campaign["targets"]), own_panels),
        "launched_at": iso_utc(campaign["launched_at"]),
        "stopped_at": iso_utc(campaign["stopped_at"]),
        "communes": [
            {
                "insee": consent["commune_insee"],
                "name": names.get(consent["commune_insee"]),
                "status": consent["status"],
                "hours": json.loads(consent["hours"]) if consent["hours"] else None,
                "max_share": consent["max_share"],
                "answered_at": iso_utc(consent["answered_at"]),
            }
            for consent in consents
        ],
        "messages": [content["id"] for content in contents],
        "contents": contents,
    }


_CONTENTS = """select id, title, text, starts_at, ends_at, recurrence from messages
               where campaign_id = ? order by id"""


def _contents(db: Database, campaign_id: int, own_panels: list[str] | None) -> list[dict[str, Any]]:
    """What the campaign would put on air, message by message, with when it runs: an invited commune
    reads it before answering (it may not see the messages themselves, which reach beyond it). For a
    commune's user (``own_panels``), ``panels`` names those of its panels each message reaches: a
    campaign on some tags does not reach them all."""
    rows = list(db.query(_CONTENTS, [campaign_id]))
    reached = reached_panels(db, [row["id"] for row in rows]) if own_panels is not None else {}
    return [
        {
            "id": row["id"],
            "title": row["title"],
            "text": row["text"],
            "starts_at": iso_utc(row["starts_at"]),
            "ends_at": iso_utc(row["ends_at"]),
            "recurrence": json.loads(row["recurrence"]) if row["recurrence"] else None,
            **(
                {}
                if own_panels is None
                else {"panels": [panel for panel, _ in reached.get(row["id"], []) if panel in own_panels]}
            ),
        }
        for row in rows
    ]


def list_campaigns(db: Database, actor: Actor) -> list[dict[str, Any]]:
    """The campaigns the actor may see, newest first."""
    found = (
        get_campaign(db, row[0], actor) for row in db.execute("select id from campaigns order by id desc")
    )
    return [campaign for campaign in found if campaign is not None]


# Proof of play: newer agents' hourly sums (``play_hours``) and older agents' plays, one row each,
# read together; summed, they give the same figures as plays would.
SHOWN = """
select panel_id, item_id, 1 as displays, ended_at - started_at as seconds, started_at as first_start,
       ended_at as last_end
from plays
union all
select panel_id, item_id, displays, seconds_on_air, first_start, last_end from play_hours
"""

REPORT_QUERY = f"""
with shown as ({SHOWN})
select p.id as panel, p.commune_insee as commune, p.commune_name as commune_name,
       sum(s.displays) as displays,
       coalesce(sum(s.seconds), 0) as seconds_on_air,
       min(s.first_start) as first_display, max(s.last_end) as last_display
from shown s join panels p on p.id = s.panel_id
where s.item_id in (select 'msg-' || id from messages where campaign_id = ?)
  and (? is null or p.commune_insee = ?)
group by p.id order by p.commune_insee, p.id
"""


def report(db: Database, campaign_id: int, actor: Actor | None = None) -> dict[str, Any]:
    """Displays, time on air (in hours, and in whole seconds for people: 0.0042 h reads as 15 s), first
    and last display, per panel and per commune, from the panels' own reports; a commune's user gets its
    own commune's part."""
    campaign = get_campaign(db, campaign_id, actor)
    if campaign is None:
        raise FieldError("campaign_id", "no campaign {campaign_id}", status=404, campaign_id=campaign_id)
    own_commune = None if actor is None else actor.commune_insee
    panels = [
        {
            **row,
            "seconds_on_air": round(row["seconds_on_air"]),
            "hours_on_air": round(row["seconds_on_air"] / 3600, 4),
            "first_display": iso_utc(int(row["first_display"])) if row["first_display"] else None,
            "last_display": iso_utc(int(row["last_display"])) if row["last_display"] else None,
        }
        for row in db.query(REPORT_QUERY, [campaign_id, own_commune, own_commune])
    ]
    communes: dict[str, dict[str, Any]] = {}
    for panel in panels:
        commune = communes.setdefault(
            panel["commune"],
            {
                "commune": panel["commune"],
                "commune_name": panel["commune_name"],
                "panels": 0,
                "displays": 0,
                "seconds_on_air": 0,
                "hours_on_air": 0.0,
                "first_display": None,
                "last_display": None,
            },
        )
        commune["panels"] += 1
        commune["displays"] += panel["displays"]
        commune["seconds_on_air"] += panel["seconds_on_air"]
        commune["hours_on_air"] = round(commune["seconds_on_air"] / 3600, 4)
        firsts = [value for value in (commune["first_display"], panel["first_display"]) if value]
        lasts = [value for value in (commune["last_display"], panel["last_display"]) if value]
        commune["first_display"] = min(firsts) if firsts else None
        commune["last_display"] = max(lasts) if lasts else None
    totals = {
        "panels": len(panels),
        "communes": len(communes),
        "displays": sum(panel["displays"] for panel in panels),
        "seconds_on_air": sum(panel["seconds_on_air"] for panel in panels),
    }
    totals["hours_on_air"] = round(totals["seconds_on_air"] / 3600, 4)
    return {"campaign": campaign, "totals": totals, "communes": list(communes.values()), "panels": panels}


REPORT_COLUMNS = (
    "campagne",
    "commune",
    "nom de la commune",
    "panneau",
    "affichages",
    "temps d'antenne",
    "premier affichage (heure de Paris)",
    "dernier affichage (heure de Paris)",
)


def report_csv(data: dict[str, Any]) -> str:
    """One line per panel, as a French office reads it: time on air « 2 h 30 », Paris times (see
    controller.domain.spreadsheet)."""
    return spreadsheet_csv(
        REPORT_COLUMNS,
        (
            (
                data["campaign"]["id"],
                panel["commune"],
                panel["commune_name"],
                panel["panel"],
                panel["displays"],
                format_duration(panel["seconds_on_air"]),
                paris_time(panel["first_display"]),
                paris_time(panel["last_display"]),
            )
            for panel in data["panels"]
        ),
    )
