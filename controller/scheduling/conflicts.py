"""Problems with a message before it is saved, in French, each naming the field at fault."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from controller.dates import PARIS
from controller.scheduling.calendars import calendar_coverage, is_school_calendar
from controller.scheduling.model import Alert, Campaign, PanelInfo, ScheduledMessage
from controller.scheduling.recurrence import describe, ever_active
from controller.scheduling.resolve import DEFAULT_HORIZON, message_intervals, resolve
from controller.scheduling.targets import matches

# How far an open-ended message is looked at, and how far any message is searched for a moment it
# would be shown: a recurrence repeats within a year (days of the week, yearly holidays), so a year
# from its first moment tells whether it is ever active, however far its end.
LOOKAHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Problem:
    """One finding, shaped like the API's errors so it can be returned as is."""

    level: Literal["error", "warning"]
    code: str
    field: str
    message: str


def check_message(
    message: ScheduledMessage,
    panels: Sequence[PanelInfo],
    messages: Sequence[ScheduledMessage],
    campaigns: Sequence[Campaign],
    alerts: Sequence[Alert],
    now: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[Problem]:
    """Errors that make ``message`` pointless and warnings about how it will really show.

    ``messages`` are the others already scheduled (one with the same key is replaced by this one).
    Air time and dwells are judged over [now, now + horizon), as ``resolve`` computes them.
    """
    problems: list[Problem] = []
    campaign = next((c for c in campaigns if c.id == message.campaign), None)
    if message.campaign is not None and campaign is None:
        problems.append(
            Problem("error", "unknown_campaign", "campaign", f"Campagne inconnue : « {message.campaign} ».")
        )
    reached = [
        panel
        for panel in panels
        if matches(message.targets, panel) and (campaign is None or matches(campaign.targets, panel))
    ]
    if not reached:
        problems.append(
            Problem("error", "no_panel", "targets", "Aucun panneau ne correspond aux cibles de ce message.")
        )
    if message.ends_at is not None and message.ends_at <= now:
        problems.append(
            Problem(
                "error",
                "in_the_past",
                "ends_at",
                f"La période de diffusion est entièrement passée (fin {_when(message.ends_at)}).",
            )
        )
    else:
        first = max(now, message.starts_at)
        last = message.ends_at or first + LOOKAHEAD
        searched_until = min(last, first + LOOKAHEAD)
        if not ever_active(message.starts_at, message.ends_at, message.recurrence, first, searched_until):
            problems.append(
                Problem(
                    "error",
                    "never_active",
                    "recurrence",
                    "Ce message ne serait jamais diffusé : aucun moment ne correspond à « "
                    f"{describe(message.recurrence)} » entre {_when(first)} et {_when(searched_until)}.",
                )
            )
        problems.extend(_coverage(message, first, last))
    if any(problem.level == "error" for problem in problems):
        return problems
    problems.extend(_air_time(message, reached, messages, campaigns, alerts, now, horizon))
    return problems


def _coverage(message: ScheduledMessage, first: datetime, last: datetime) -> list[Problem]:
    recurrence = message.recurrence
    calendars = () if recurrence is None else (*recurrence.only_during, *recurrence.except_during)
    if not any(is_school_calendar(calendar) for calendar in calendars):
        return []
    known_from, known_to = calendar_coverage()
    if known_from <= first.astimezone(PARIS).date() and last.astimezone(PARIS).date() <= known_to:
        return []
    return [
        Problem(
            "warning",
            "school_calendar_not_covered",
            "recurrence",
            "Les vacances scolaires ne sont connues que du "
            f"{known_from:%d/%m/%Y} au {known_to:%d/%m/%Y} : en dehors, aucun jour n’est compté "
            "comme vacances.",
        )
    ]


def _air_time(
    message: ScheduledMessage,
    reached: list[PanelInfo],
    messages: Sequence[ScheduledMessage],
    campaigns: Sequence[Campaign],
    alerts: Sequence[Alert],
    now: datetime,
    horizon: timedelta,
) -> list[Problem]:
    others = [other for other in messages if other.key != message.key]
    schedules = resolve(reached, [*others, message], campaigns, alerts, now, horizon)
    problems: list[Problem] = []
    active = any(message_intervals(message, panel, campaigns, now, now + horizon) for panel in reached)
    entries = [
        (panel_id, entry)
        for panel_id, schedule in sorted(schedules.items())
        for segment in schedule.segments
        for entry in segment.playlist
        if entry.key == message.key
    ]
    hours = round(horizon.total_seconds() / 3600)
    if active and not entries and message.priority != "emergency":
        problems.append(
            Problem(
                "warning",
                "no_air_time",
                "priority",
                f"Ce message n’aurait aucun temps d’antenne dans les {hours} prochaines heures : des "
                "alertes ou des messages urgents occupent tous les panneaux visés pendant ses plages.",
            )
        )
    lengthened = [
        (panel_id, entry.dwell_s)
        for panel_id, entry in entries
        if entry.dwell_s is not None and entry.dwell_s > message.duration_s
    ]
    if lengthened:
        panel_ids = sorted({panel_id for panel_id, _ in lengthened})
        longest = max(dwell for _, dwell in lengthened)
        shown = ", ".join(panel_ids[:3]) + (" …" if len(panel_ids) > 3 else "")
        problems.append(
            Problem(
                "warning",
                "dwell_lengthened",
                "dwell_s",
                f"Les limites de rafraîchissement des panneaux e-paper ({shown}) allongent l’affichage "
                f"de {_seconds(message.duration_s)} à {_seconds(longest)} au plus.",
            )
        )
    return problems


def _when(moment: datetime) -> str:
    return f"le {moment.astimezone(PARIS):%d/%m/%Y à %H:%M}"


def _seconds(value: float) -> str:
    return f"{value:g}\u00a0s".replace(".", ",")
