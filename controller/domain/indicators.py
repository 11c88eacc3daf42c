"""The prefecture's steering indicators: how far each campaign went, commune by commune and ISO week
(Paris time), and the department's panels online and showing the running campaigns.

Displays and time on air come from proof of play, as the campaign report counts them. The public
channels are counted per place and day, not per message: a commune's page views, widget views, feed and
calendar fetches and posters printed in a week are given on each campaign's row of that commune and week
(two campaigns running together in a commune show the same views). Panels online over time are read
from the online and offline changes the panels' history keeps (its retention, 90 days by default): one
figure per day, the panels online at the day's end (now for today); a change the panels' event budget
did not record is not seen.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from controller.dates import PARIS, format_duration
from controller.domain.access import Actor
from controller.domain.campaigns import SHOWN, get_campaign, list_campaigns
from controller.domain.errors import FieldError
from controller.domain.panels import INSEE_PATTERN
from controller.domain.spreadsheet import spreadsheet_csv
from controller.storage.public_store import visit_counts

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
# The public channels as the indicators add them up: both feeds are feed fetches.
CHANNEL_FIGURES = {
    "page": "page_views",
    "widget": "widget_views",
    "atom": "feed_fetches",
    "json": "feed_fetches",
    "ics": "calendar_fetches",
    "poster": "posters",
}
FIGURES = (
    "panels_reached",
    "displays",
    "seconds_on_air",
    "posters",
    "page_views",
    "widget_views",
    "feed_fetches",
    "calendar_fetches",
    "webhook_deliveries",
)
# The public channels' openings: what the weekly chart of public reach adds up.
PUBLIC_FIGURES = ("page_views", "widget_views", "feed_fetches", "calendar_fetches")
# What the panels' history names the changes (``controller.publishing.reports``).
ONLINE_EVENTS = ("online", "offline")


@dataclass(frozen=True)
class Filters:
    """Which rows are asked for: one campaign, one commune, from one ISO week to another (both included)."""

    campaign: int | None = None
    commune: str | None = None
    first_week: str | None = None
    last_week: str | None = None


def parse_week(field: str, text: str) -> str:
    """An ISO week such as « 2026-W50 », checked (W53 exists only in some years)."""
    found = WEEK_PATTERN.match(text)
    try:
        if found is None:
            raise ValueError(text)
        date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        raise FieldError(field, "must be an ISO week such as 2026-W50, not {value}", value=text) from None
    return text


def parse_filters(args: Mapping[str, str]) -> Filters:
    campaign = None
    if args.get("campaign"):
        if not args["campaign"].isdigit():
            raise FieldError("campaign", "must be a campaign id (a number)")
        campaign = int(args["campaign"])
    commune = args.get("commune") or None
    if commune is not None and not INSEE_PATTERN.match(commune):
        raise FieldError("commune", "INSEE codes have 5 characters, e.g. 01053")
    first = parse_week("from", args["from"]) if args.get("from") else None
    last = parse_week("to", args["to"]) if args.get("to") else None
    if first and last and first > last:
        raise FieldError("to", "must not come before the week in from ({first})", first=first)
    return Filters(campaign, commune, first, last)


def week_of(moment: float) -> str:
    """The ISO week of a moment, in Paris."""
    year, week, _day = datetime.fromtimestamp(moment, PARIS).isocalendar()
    return f"{year}-W{week:02d}"


def _day_week(day: str) -> str:
    year, week, _weekday = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def _weeks_between(start: float, end: float) -> list[str]:
    weeks, moment = [], start
    while moment < end:
        weeks.append(week_of(moment))
        moment += 7 * 24 * 3600
    return sorted({*weeks, week_of(end)})


def _in_range(week: str, filters: Filters) -> bool:
    return (filters.first_week is None or week >= filters.first_week) and (
        filters.last_week is None or week <= filters.last_week
    )


_PLAYS = f"""with shown as ({SHOWN})
select p.id, p.commune_insee, s.displays, s.seconds, s.first_start from shown s
join panels p on p.id = s.panel_id
where s.item_id in (select 'msg-' || id from messages where campaign_id = ?)"""


def _plays_by_week(db: Database, campaign_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (commune, week of the display's start): the panels, displays and seconds on air. An hour's
    sum lies in one week (Paris weeks begin on a whole UTC hour), that of its first start."""
    found: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"panels": set(), "displays": 0, "seconds": 0.0}
    )
    for panel, commune, displays, seconds, first_start in db.execute(_PLAYS, [campaign_id]):
        cell = found[(commune, week_of(first_start))]
        cell["panels"].add(panel)
        cell["displays"] += displays
        cell["seconds"] += seconds
    return found


def _public_by_week(db: Database) -> dict[tuple[str, str], dict[str, int]]:
    """Per (commune, week): each figure of the public channels, and the webhooks delivered to the
    commune's own receivers (one for every commune is in no commune's row)."""
    found: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in visit_counts(db):
        kind, _colon, code = row["place"].partition(":")
        if kind == "c" and row["channel"] in CHANNEL_FIGURES:
            found[(code, _day_week(row["day"]))][CHANNEL_FIGURES[row["channel"]]] += row["count"]
    for commune, done_at in db.execute(_DELIVERED):
        found[(commune, week_of(done_at))]["webhook_deliveries"] += 1
    return found


_DELIVERED = """select w.commune_insee, d.done_at from public_hook_deliveries d
join public_webhooks w on w.id = d.webhook_id
where d.result = 'sent' and w.commune_insee is not null"""


def _campaign_rows(
    db: Database, campaign: dict[str, Any], filters: Filters, public: dict[tuple[str, str], dict[str, int]]
) -> list[dict[str, Any]]:
    plays = _plays_by_week(db, campaign["id"])
    starts = datetime.fromisoformat(campaign["starts_at"]).timestamp()
    ends = datetime.fromisoformat(campaign["ends_at"]).timestamp()
    rows = []
    for commune in campaign["communes"]:
        if filters.commune not in (None, commune["insee"]):
            continue
        played = {week for insee, week in plays if insee == commune["insee"]}
        for week in sorted({*_weeks_between(starts, ends), *played}):
            if not _in_range(week, filters):
                continue
            play = plays.get((commune["insee"], week), {"panels": set(), "displays": 0, "seconds": 0.0})
            seen = public.get((commune["insee"], week), {})
            rows.append(
                {
                    "campaign": campaign["id"],
                    "campaign_name": campaign["name"],
                    "commune": commune["insee"],
                    "commune_name": commune["name"] or commune["insee"],
                    "week": week,
                    "invited": True,
                    "accepted": commune["status"] == "accepted",
                    "panels_reached": len(play["panels"]),
                    "panel_ids": sorted(play["panels"]),
                    "displays": play["displays"],
                    "seconds_on_air": round(play["seconds"]),
                    "hours_on_air": round(play["seconds"] / 3600, 4),
                    **{figure: seen.get(figure, 0) for figure in FIGURES[3:]},
                }
            )
    return rows


def _summary(campaign: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A campaign's figures over the rows asked for: communes counted once, panels once."""
    seconds = sum(row["seconds_on_air"] for row in rows)
    communes = {row["commune"]: row["accepted"] for row in rows}
    return {
        "campaign": campaign["id"],
        "campaign_name": campaign["name"],
        "communes_invited": len(communes),
        "communes_accepting": sum(communes.values()),
        "panels_reached": len({panel for row in rows for panel in row["panel_ids"]}),
        "displays": sum(row["displays"] for row in rows),
        "seconds_on_air": seconds,
        "hours_on_air": round(seconds / 3600, 4),
        **{figure: sum(row[figure] for row in rows) for figure in FIGURES[3:]},
    }


def _online_by_day(db: Database, filters: Filters, now: float) -> list[dict[str, Any]]:
    """Panels registered and online at each day's end, read backwards from each panel's present state
    through the online and offline changes kept: before a change, the panel was in the other state. The
    days start at the oldest change kept (today when none is), or at the week in ``from``."""
    online_now = {
        panel: bool(online) for panel, online in db.execute("select panel_id, online from panel_status")
    }
    registered = {panel: created for panel, created in db.execute("select id, created_at from panels")}
    changes: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for panel, event, at in db.execute(
        "select panel_id, event, at from panel_events where event in (?, ?) order by at", list(ONLINE_EVENTS)
    ):
        changes[panel].append((at, event == "online"))
    today = datetime.fromtimestamp(now, PARIS).date()
    first = min((at for found in changes.values() for at, _online in found), default=now)
    start = datetime.fromtimestamp(first, PARIS).date()
    if filters.first_week:
        start = max(start, date.fromisocalendar(int(filters.first_week[:4]), int(filters.first_week[6:]), 1))
    end = today
    if filters.last_week:
        end = min(end, date.fromisocalendar(int(filters.last_week[:4]), int(filters.last_week[6:]), 7))
    days = []
    day = start
    while day <= end:
        moment = (
            now if day == today else datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp() + 86400
        )
        present = [panel for panel, created in registered.items() if created <= moment]
        online = sum(
            _online_at(changes.get(panel, []), online_now.get(panel, False), moment) for panel in present
        )
        days.append({"day": day.isoformat(), "panels": len(present), "online": online})
        day += timedelta(days=1)
    return days


def _online_at(changes: list[tuple[int, bool]], online_now: bool, moment: float) -> bool:
    later = [online for at, online in changes if at > moment]
    return (not later[0]) if later else online_now


_SCHEDULED = """select count(distinct t.panel_id) from message_targets t
join messages m on m.id = t.message_id join panels p on p.id = t.panel_id
join campaign_consents c on c.campaign_id = m.campaign_id and c.commune_insee = p.commune_insee
where m.campaign_id = ? and c.status = 'accepted'"""


def _showing(db: Database, campaigns: Iterable[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Each running campaign (launched, not stopped, within its dates): the share of the department's
    panels that have it in their schedule, those of the communes that accepted it."""
    panels = db.execute("select count(*) from panels").fetchone()[0]
    found = []
    for campaign in campaigns:
        running = campaign["launched_at"] and not campaign["stopped_at"]
        dates = datetime.fromisoformat(campaign["starts_at"]).timestamp() <= now
        if not (running and dates and now < datetime.fromisoformat(campaign["ends_at"]).timestamp()):
            continue
        showing = db.execute(_SCHEDULED, [campaign["id"]]).fetchone()[0]
        found.append(
            {
                "campaign": campaign["id"],
                "campaign_name": campaign["name"],
                "panels": panels,
                "panels_showing": showing,
                "share": round(showing / panels, 4) if panels else 0.0,
            }
        )
    return found


def indicators(db: Database, actor: Actor, filters: Filters, now: float) -> dict[str, Any]:
    """The campaigns the actor may see, their rows per commune and week and their sums; the department's
    panels online per day and the running campaigns' share of panels."""
    if filters.campaign is not None:
        found = get_campaign(db, filters.campaign, actor)
        if found is None:
            raise FieldError(
                "campaign", "no campaign {campaign_id}", status=404, campaign_id=filters.campaign
            )
        campaigns = [found]
    else:
        campaigns = list_campaigns(db, actor)
    public = _public_by_week(db)
    rows, summaries = [], []
    for campaign in sorted(campaigns, key=lambda campaign: campaign["id"]):
        own = _campaign_rows(db, campaign, filters, public)
        rows += own
        summaries.append(_summary(campaign, own))
    for row in rows:
        del row["panel_ids"]
    return {
        "filters": {
            "campaign": filters.campaign,
            "commune": filters.commune,
            "from": filters.first_week,
            "to": filters.last_week,
        },
        "campaigns": summaries,
        "weeks": rows,
        "department": {
            "online": _online_by_day(db, filters, now),
            "showing": _showing(db, campaigns, now),
        },
    }


WEEK_COLUMNS = (
    "campagne",
    "nom de la campagne",
    "commune",
    "nom de la commune",
    "semaine",
    "invitée",
    "acceptée",
    "panneaux atteints",
    "affichages",
    "temps d'antenne",
    "heures d'antenne",
    "affiches imprimées",
    "vues de la page publique",
    "vues du widget",
    "lectures des flux",
    "lectures du calendrier",
    "webhooks envoyés",
)
ONLINE_COLUMNS = ("jour", "panneaux", "panneaux en ligne")


def weeks_csv(data: dict[str, Any]) -> str:
    """One line per campaign, commune and week, as a French office reads it (« 2 h 30 », « oui »)."""
    return spreadsheet_csv(
        WEEK_COLUMNS,
        (
            (
                row["campaign"],
                row["campaign_name"],
                row["commune"],
                row["commune_name"],
                row["week"],
                "oui" if row["invited"] else "non",
                "oui" if row["accepted"] else "non",
                row["panels_reached"],
                row["displays"],
                format_duration(row["seconds_on_air"]),
                str(row["hours_on_air"]).replace(".", ","),
                *(row[figure] for figure in FIGURES[3:]),
            )
            for row in data["weeks"]
        ),
    )


def online_csv(data: dict[str, Any]) -> str:
    """The department's panels online at each day's end: the numbers behind its chart."""
    return spreadsheet_csv(
        ONLINE_COLUMNS,
        (
            (date.fromisoformat(day["day"]).strftime("%d/%m/%Y"), day["panels"], day["online"])
            for day in data["department"]["online"]
        ),
    )
