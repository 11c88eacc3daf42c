"""The browser app: one server-rendered page per job, each acting through the JSON API with the session.

Pages only decide what to offer (the navigation shows what the role may do); every action goes through
``/api/v1``, which checks role and commune again, so there is one permission layer. ``/live/panels``
streams the fleet's status to the technician's page as server-sent events.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import format_percent
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from controller.dates import format_duration
from controller.domain import accounts, official_alerts
from controller.domain import indicators as reach
from controller.domain.access import ROLE_LABELS, Permission, Role
from controller.domain.campaigns import get_campaign, list_campaigns
from controller.domain.errors import FieldError
from controller.domain.notifications import (
    ALERT_UNCONFIRMED,
    BEHIND,
    FAULT,
    FAULT_CLEARED,
    FLAPPING,
    OFFLINE,
    ONLINE,
    SOURCE_BACK,
    SOURCE_FAILING,
)
from controller.domain.official_alerts import OFFICIAL_TITLE
from controller.domain.panels import (
    MAX_SEARCH,
    BrokerWatch,
    changed_between,
    commune_list,
    fleet_summary,
    get_panels,
    latest_change,
    panel_statuses,
)
from controller.domain.public import named_place
from controller.domain.public_hooks import (
    ALERT_ENDED,
    ALERT_STARTED,
    MESSAGE_CHANGED,
    MESSAGE_ENDED,
    MESSAGE_PUBLISHED,
)
from controller.official.rules import PLACEHOLDERS, default_rules
from controller.publishing.outbox import COMMAND_TTL_S
from controller.scheduling.model import department_of
from controller.storage.db import connect
from controller.storage.public_store import places_for
from controller.web import i18n
from controller.web.auth import Forbidden, Unauthorized, current_actor, requires
from controller.web.charts import Chart, bar_chart
from controller.web.context import broker_watch, get_db, mqtt_link
from controller.web.i18n import error_text
from controller.web.public import visits

bp = Blueprint("web", __name__)

# (endpoint, label, permission needed to see it in the navigation; None: everyone logged in)
NAVIGATION: list[tuple[str, Any, Permission | None]] = [
    ("web.messages", _l("Messages"), Permission.MESSAGES_VIEW),
    ("web.approvals", _l("À valider"), Permission.MESSAGES_APPROVE),
    ("web.invitations", _l("Invitations"), Permission.CAMPAIGNS_ANSWER),
    ("web.campaigns", _l("Campagnes"), Permission.CAMPAIGNS_MANAGE),
    ("web.indicators", _l("Indicateurs"), Permission.CAMPAIGNS_MANAGE),
    ("web.alerts", _l("Alerte"), Permission.ALERTS_SEND),
    ("web.official", _l("Alertes officielles"), Permission.ALERTS_SEND),
    ("web.fleet", _l("Parc"), Permission.PANELS_VIEW),
    ("web.users", _l("Utilisateurs"), Permission.USERS_MANAGE),
    ("web.audit", _l("Journal"), Permission.AUDIT_VIEW),
    ("web.notifications", _l("Notifications"), None),
    ("web.webhooks", _l("Webhooks"), Permission.WEBHOOKS_MANAGE),
    ("web.tokens", _l("Mes jetons"), None),
]
# What a subscription may ask to be told of (``controller.domain.notifications.KINDS``).
NOTICE_LABELS = {
    OFFLINE: _l("Panneau hors ligne"),
    ONLINE: _l("Panneau de retour"),
    FLAPPING: _l("Panneau instable"),
    FAULT: _l("Panne signalée"),
    FAULT_CLEARED: _l("Panne terminée"),
    BEHIND: _l("Panneau pas à jour"),
    ALERT_UNCONFIRMED: _l("Alerte non confirmée"),
    SOURCE_FAILING: _l("Source d’alertes officielles en échec"),
    SOURCE_BACK: _l("Source d’alertes officielles rétablie"),
}
# MeteoAlarm's awareness types and levels as the official alerts' page names them (the panels' own words
# are controller.official.rules's, in French whatever the page's language).
HAZARDS = {
    1: _l("vent"),
    2: _l("neige-verglas"),
    3: _l("orages"),
    4: _l("brouillard"),
    5: _l("canicule"),
    6: _l("grand froid"),
    7: _l("vagues-submersion"),
    8: _l("feux de forêt"),
    9: _l("avalanches"),
    10: _l("pluie"),
    12: _l("crues"),
    13: _l("pluie-inondation"),
}
LEVELS = {1: _l("verte"), 2: _l("jaune"), 3: _l("orange"), 4: _l("rouge")}
# Where each role lands after logging in: its main job.
HOME = {
    Role.ADMIN: "web.fleet",
    Role.CAMPAIGN_MANAGER: "web.campaigns",
    Role.COMMUNE_EDITOR: "web.messages",
    Role.COMMUNE_APPROVER: "web.approvals",
    Role.TECHNICIAN: "web.fleet",
    Role.VIEWER: "web.fleet",
}
LIVE_SECONDS = 600  # one stream's life; the browser's EventSource reconnects by itself
LIVE_INTERVAL_S = 0.5  # a look is one indexed max(): twice a second costs nothing
LIVE_RETRY_MS = 2000  # the browser's wait before it reconnects
# More panels changed than this between two updates, and the fleet page asks its rows again instead.
LIVE_CHANGES_MAX = 100
KEEP_ALIVE_S = 15.0


def page(*permissions: Permission) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for a logged-in user whose role holds ``permissions`` (login page otherwise, then 403)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not all(current_user.actor.can(permission) for permission in permissions):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permissions = permissions  # type: ignore[attr-defined]
        return wrapped

    return decorate


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"navigation": [], "actor": None}
    actor = current_user.actor
    items = [
        (endpoint, label) for endpoint, label, needed in NAVIGATION if needed is None or actor.can(needed)
    ]
    # The official alerts waiting for those who may decide, counted on every page (app.js keeps it fresh).
    pending = official_alerts.pending_count(get_db(), actor) if actor.can(Permission.ALERTS_APPROVE) else None
    return {
        "navigation": items,
        "actor": actor,
        "Permission": Permission,
        "official_pending": pending,
        "max_search": MAX_SEARCH,  # a longer search is a 400: the search boxes take no more
    }


@bp.get("/")
@login_required
def index() -> WerkzeugResponse:
    """Each role lands on its main job: messages for a commune, campaigns for the prefecture…"""
    return redirect(url_for(HOME[current_user.actor.role]))


@bp.get("/messages")
@page(Permission.MESSAGES_VIEW)
def messages() -> str:
    """A commune's users get its public addresses too, and the code that puts its widget on its website."""
    commune = current_user.actor.commune_insee
    place = named_place("commune", commune, *places_for(get_db(), "commune", commune)) if commune else None
    return render_template("messages.html", public_place=place, public_root=request.url_root.rstrip("/"))


@bp.get("/validation")
@page(Permission.MESSAGES_APPROVE)
def approvals() -> str:
    return render_template("approvals.html")


@bp.get("/invitations")
@page(Permission.CAMPAIGNS_ANSWER)
def invitations() -> str:
    return render_template("invitations.html")


@bp.get("/campagnes")
@page(Permission.CAMPAIGNS_VIEW)
def campaigns() -> str:
    communes = _communes()
    # A department's campaign invites all its communes at once: 65 boxes are not ticked one by one.
    departments = Counter(department_of(insee) for insee, _name in communes)
    # Invited communes read who asks by the organisation's name, not its id.
    own, _total = accounts.list_organisations(get_db(), 1, 0, current_user.actor.organisation or "")
    return render_template(
        "campaigns.html",
        communes=communes,
        departments=sorted(departments.items()),
        organisation=own[0]["name"] if own else "",
    )


@bp.get("/campagnes/<int:campaign_id>")
@page(Permission.CAMPAIGNS_VIEW)
def campaign(campaign_id: int) -> str:
    """A campaign a commune is not invited to is absent for its users, as the API answers it."""
    found = get_campaign(get_db(), campaign_id, current_user.actor)
    if found is None:
        abort(404)
    own = [c["name"] for c in found["communes"] if c["insee"] == current_user.actor.commune_insee]
    return render_template(
        "campaign.html",
        campaign_id=campaign_id,
        own_commune_name=own[0] if own else None,
        communes=_communes() if current_user.actor.can(Permission.CAMPAIGNS_MANAGE) else [],
    )


@bp.get("/indicateurs")
@page(Permission.CAMPAIGNS_MANAGE)
def indicators() -> tuple[str, int]:
    """The steering indicators for the filters in the address; a wrong filter is said beside its field
    and the figures are shown unfiltered."""
    db, actor = get_db(), current_user.actor
    asked = {name: request.args.get(name, "") for name in ("campaign", "commune", "from", "to")}
    refused: FieldError | None = None
    try:
        filters = reach.parse_filters(asked)
        visits().write(db)
        data = reach.indicators(db, actor, filters, time.time())
    except FieldError as error:
        refused, filters = error, reach.Filters()
        data = reach.indicators(db, actor, filters, time.time())
    query = urlencode({name: value for name, value in asked.items() if value and refused is None})
    csv_url = "/api/v1/indicators?" + "&".join(filter(None, [query, "format=csv"]))
    return render_template(
        "indicators.html",
        data=data,
        asked=asked,
        error=(refused.field, error_text(refused.template, refused.params, i18n.current_language()))
        if refused
        else None,
        campaigns=[(campaign["id"], campaign["name"]) for campaign in list_campaigns(db, actor)],
        communes=_communes(),
        charts=_reach_charts(data),
        csv_url=csv_url,
        duration=lambda seconds: format_duration(seconds, i18n.current_language()),
        percent=format_percent,
        chart_summary=lambda chart: " ; ".join(f"{bar.label} — {bar.text}" for bar in chart.bars),
    ), 400 if refused else 200


def _reach_charts(data: dict[str, Any]) -> dict[str, Chart]:
    """Hours on air and public openings per week, all rows together; panels online per day."""
    seconds: Counter[str] = Counter()
    openings: Counter[str] = Counter()
    for row in data["weeks"]:
        seconds[row["week"]] += row["seconds_on_air"]
        openings[row["week"]] += sum(row[name] for name in reach.PUBLIC_FIGURES)
    weeks = sorted(seconds)
    lang = i18n.current_language()
    return {
        "hours": bar_chart(
            [(week, seconds[week] / 3600, format_duration(seconds[week], lang)) for week in weeks]
        ),
        "public": bar_chart([(week, openings[week], str(openings[week])) for week in weeks]),
        "online": bar_chart(
            [
                (f"{day['day'][8:10]}/{day['day'][5:7]}", day["online"], str(day["online"]))
                for day in data["department"]["online"]
            ]
        ),
    }


@bp.get("/alertes")
@page(Permission.ALERTS_SEND)
def alerts() -> str:
    return render_template("alerts.html")


@bp.get("/alertes-officielles")
@page(Permission.ALERTS_SEND)
def official() -> str:
    """What official sources sent, the queue to decide on, the organisation's sources and its rules."""
    return render_template(
        "official_alerts.html",
        hazards={code: str(label) for code, label in HAZARDS.items()},
        levels={code: str(label) for code, label in LEVELS.items()},
        placeholders=PLACEHOLDERS,
        # A new rule starts from the wording Météo-France's shipped rule uses.
        default_wording=dict(default_rules()[0].wording),
        official_title=OFFICIAL_TITLE,
        may_add_folder=current_user.actor.role == Role.ADMIN,
    )


@bp.get("/parc")
@page(Permission.PANELS_VIEW)
def fleet() -> str:
    return render_template("fleet.html", communes=_communes(), version=latest_change(get_db()))


def _communes() -> list[tuple[str, str]]:
    """The communes with panels that this user sees, by name, for filters and invitations."""
    return commune_list(get_db(), current_user.actor.commune_insee)


@bp.get("/parc/<panel_id>")
@page(Permission.PANELS_VIEW)
def panel(panel_id: str) -> str:
    found = get_panels(get_db(), [panel_id]).get(panel_id)
    if found is None or not current_user.actor.sees_commune(found.commune_insee):
        abort(404)
    return render_template("panel.html", panel=found, command_ttl_minutes=COMMAND_TTL_S // 60)


@bp.get("/admin/utilisateurs")
@page(Permission.USERS_MANAGE)
def users() -> str:
    labels = {
        role.value: pair[0 if i18n.current_language() == "fr" else 1] for role, pair in ROLE_LABELS.items()
    }
    # The least powerful role is the one a hurried click gives, and the form goes back to it after each user.
    return render_template("users.html", role_labels=labels, default_role=Role.VIEWER.value)


@bp.get("/admin/journal")
@page(Permission.AUDIT_VIEW)
def audit() -> str:
    return render_template("audit.html")


@bp.get("/notifications")
@page()
def notifications() -> str:
    """One's subscriptions and what was sent; an organisation's conditions for who may change them."""
    return render_template(
        "notifications.html",
        can_manage=current_user.actor.can(Permission.NOTIFICATIONS_MANAGE),
        kinds={kind: str(label) for kind, label in NOTICE_LABELS.items()},
    )


# What a webhook may be called for (``controller.domain.public_hooks.EVENTS``).
WEBHOOK_EVENT_LABELS = {
    MESSAGE_PUBLISHED: _l("Message publié"),
    MESSAGE_CHANGED: _l("Message modifié"),
    MESSAGE_ENDED: _l("Message terminé"),
    ALERT_STARTED: _l("Alerte commencée"),
    ALERT_ENDED: _l("Alerte terminée"),
}


@bp.get("/webhooks")
@page(Permission.WEBHOOKS_MANAGE)
def webhooks() -> str:
    """The organisation's webhooks for apps and websites, and their deliveries."""
    return render_template(
        "webhooks.html",
        commune=current_user.actor.commune_insee,
        events={name: str(label) for name, label in WEBHOOK_EVENT_LABELS.items()},
    )


@bp.get("/jetons")
@page()
def tokens() -> str:
    return render_template("tokens.html")


def live_update(
    db: Any, within_commune: str | None, since: int | None, watch: BrokerWatch, was: BrokerWatch | None
) -> tuple[int, list[dict[str, Any]] | None]:
    """The rows of the panels changed since version ``since`` that a fleet page (of ``within_commune``)
    is sent, and the version they bring it to: ``[]`` with no ``since``; None when too many changed, or
    every row did as the broker went or came back (``was``): the page then asks its rows again."""
    upto = latest_change(db)
    if since is None:
        return upto, []
    if since > upto or (was is not None and was.connected != watch.connected):
        return upto, None  # a version of another database (restored), or every panel's state
    changed = changed_between(db, since, upto, within_commune, LIVE_CHANGES_MAX)
    return upto, None if changed is None else panel_statuses(db, panel_ids=changed, watch=watch)


# The summary at each version, for each commune and broker state: every viewer's stream needs the same.
_SUMMARIES: dict[tuple[str, int, str | None, bool], dict[str, int]] = {}
_SUMMARIES_KEPT = 64


def _summary(
    db: Any, database: str, version: int, within_commune: str | None, watch: BrokerWatch
) -> dict[str, int]:
    key = (database, version, within_commune, watch.connected)
    found = _SUMMARIES.get(key)
    if found is None:
        if len(_SUMMARIES) >= _SUMMARIES_KEPT:
            _SUMMARIES.clear()
        found = _SUMMARIES[key] = fleet_summary(db, within_commune, watch)
    return found


def _version(text: str) -> int | None:
    """The version a stream resumes from, or None (the fleet afresh) for anything else than a version:
    « ² » passes ``isdigit``, 5,000 digits are no int, a huge negative is no SQLite integer."""
    try:
        version = int(text)
    except ValueError:
        return None
    return version if version >= 0 else None


@bp.get("/live/panels")
@requires(Permission.PANELS_VIEW)
def live_panels() -> Response:
    """Server-sent events: the viewer's fleet at a glance and the panels changed since its last event (its
    ``id``, a version that the browser sends back as ``Last-Event-ID`` when it reconnects) or since the
    page's ``?since=``, not the fleet; a comment now and then to keep alive."""
    within = current_actor().commune_insee
    database, link = current_app.config["DATABASE"], mqtt_link()
    # The version of the page's last event when the browser reconnects, else the page's own, from when it
    # was drawn: nothing changed after it is missed while it asks its rows.
    since = _version(request.headers.get("Last-Event-ID") or request.args.get("since", ""))

    def stream() -> Iterator[str]:
        db = connect(database)  # its own: the request's connection closes when the response starts
        try:
            yield f"retry: {LIVE_RETRY_MS}\n\n"
            version, was, sent = since, None, ""
            quiet_since, ends = time.monotonic(), time.monotonic() + LIVE_SECONDS
            while time.monotonic() < ends:
                watch = broker_watch(link)
                if version is None or version != latest_change(db) or watch != was:
                    version, panels = live_update(db, within, version, watch, was)
                    summary = _summary(db, str(database), version, within, watch)
                    data = json.dumps({"summary": summary, "panels": panels}, ensure_ascii=False)
                    if panels != [] or data != sent:
                        yield f"id: {version}\ndata: {data}\n\n"
                        sent, quiet_since = data, time.monotonic()
                    was = watch
                if time.monotonic() - quiet_since > KEEP_ALIVE_S:
                    yield ": still here\n\n"
                    quiet_since = time.monotonic()
                time.sleep(LIVE_INTERVAL_S)
        finally:
            db.close()

    return Response(
        stream(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@bp.errorhandler(Unauthorized)
def _unauthorized(_exc: Unauthorized) -> tuple[str, int]:
    return "login required", 401


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden) -> tuple[str, int]:
    return i18n.error_text(exc.template, exc.params, i18n.current_language()), 403


@bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException) -> tuple[str, int]:
    return render_template("error.html", error=exc), exc.code or 500


def init_app(app: Flask) -> None:
    """Pages, the language switch and the live feed: what ``create_app`` registers for browsers."""
    i18n.init_app(app)
    app.register_blueprint(bp)
