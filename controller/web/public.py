"""The public channels, without login: a page per commune, department or tag, its Atom, JSON Feed and
iCalendar feeds, and the widget a commune's website frames.

Addresses are stable (``/c/<INSEE>``, ``/d/<department>``, ``/t/<tag>``, each with ``/feed.atom``,
``/feed.json``, ``/calendar.ics``; ``/c/<INSEE>/widget``), so that a website or an app links to them
once. What is shown is decided by ``controller.domain.public``; each answer carries an ETag and a
Last-Modified date and answers 304 when the client has it already. Every opening adds one to the day's
counter of its place and channel, written once a minute: nothing about the visitor is kept. One
address opens them at most PUBLIC_LIMIT times a minute.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Literal

from flask import Blueprint, Flask, Response, abort, current_app, g, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound, TooManyRequests

from controller.dates import PARIS
from controller.domain.public import (
    Place,
    PlaceKind,
    PublicItem,
    applies_when,
    last_change,
    named_place,
    public_items,
    valid_code,
)
from controller.domain.public_feeds import atom_feed, calendar, feed_title, json_feed
from controller.storage.public_store import (
    SNAPSHOT_S,
    WRITE_VISITS_EVERY_S,
    PlaceSnapshots,
    VisitTally,
    places_for,
)
from controller.web import i18n
from controller.web.context import get_db
from controller.web.login import limiter

bp = Blueprint("public", __name__)
# Per address: a reader, a widget on a busy page (each visitor its own address) or a feed reader polling
# every minute stays far below it; a script hammering the controller does not take its threads.
PUBLIC_LIMIT = "120 per minute"
limiter.shared_limit(PUBLIC_LIMIT, scope="public")(bp)  # all its addresses together

KINDS: dict[str, PlaceKind] = {"c": "commune", "d": "department", "t": "tag"}
# What the daily counters count, per place: the poster is counted by the API's poster route.
Channel = Literal["page", "widget", "atom", "json", "ics", "poster"]
# Feeds are read by other sites' scripts and by apps: any origin may fetch them.
OPEN_TO_ALL = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
# The widget alone may be framed, by any site; it runs no script at all.
WIDGET_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors *",
    )
)
# Revalidated after a minute: a feed reader polling every few minutes gets a 304 and no body.
CACHE_CONTROL = "public, max-age=60"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def find_place(kind: PlaceKind, code: str) -> Place:
    """The place these addresses name, or the public 404 page: a code no panel has is unknown, and one
    no place can have (« /d/0 » would read every panel of communes 01… to 09…) reads nothing."""
    if not valid_code(kind, code):
        abort(404)
    communes, tags = places_for(get_db(), kind, code)
    place = named_place(kind, code, communes, tags)
    if place is None:
        abort(404)
    return place


def count_today(place: Place, channel: Channel) -> None:
    tally = visits()
    if tally.add(datetime.now(PARIS).date().isoformat(), place.counter_key, channel):
        tally.write(get_db())


def visits() -> VisitTally:
    """The app's tally of openings; a page that shows the counters writes it first."""
    return current_app.extensions["relais.visits"]


def _place_and_items(prefix: str, code: str, channel: Channel) -> tuple[Place, list[PublicItem], int]:
    place = find_place(KINDS[prefix], code)
    now = time.time()
    messages, alerts = current_app.extensions["relais.public_snapshots"].rows(
        get_db(), now, place.kind, place.code
    )
    count_today(place, channel)
    return place, public_items(messages, alerts, place, now), last_change([*messages, *alerts], place, now)


def _base_url() -> str:
    return request.url_root.rstrip("/")


def _conditional(body: bytes | str, mimetype: str, updated: int, headers: dict[str, str]) -> Response:
    """The answer with its ETag (a hash of the body) and Last-Modified, or a 304 when the client has it."""
    response = Response(body, mimetype=mimetype, headers={"Cache-Control": CACHE_CONTROL, **headers})
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.last_modified = datetime.fromtimestamp(updated, UTC)
    response.make_conditional(request)  # turns it into the 304 itself
    return response


def _page(template: str, prefix: str, code: str, channel: Channel, headers: dict[str, str]) -> Response:
    place, items, updated = _place_and_items(prefix, code, channel)
    lang = i18n.current_language()
    html = render_template(
        template,
        place=place,
        title=feed_title(place),
        alerts=[item for item in items if item.stands_out],
        current=[item for item in items if item.on_air and not item.stands_out],
        upcoming=[item for item in items if not item.on_air and not item.stands_out],
        when={item.key: applies_when(item, lang) for item in items},
    )
    # The page's words follow the visitor's language, chosen by a cookie.
    return _conditional(html, "text/html", updated, {**headers, "Vary": "Cookie"})


@bp.get("/<any(c, d, t):prefix>/<code>")
def place_page(prefix: str, code: str) -> Response:
    """A commune's, department's or tag's page: alerts first, then what is on air, then what is to come."""
    return _page("public.html", prefix, code, "page", {})


@bp.get("/c/<code>/widget")
def widget(code: str) -> Response:
    """The same, compact, for another site's iframe: the only page that may be framed."""
    headers = {"Content-Security-Policy": WIDGET_POLICY, **OPEN_TO_ALL}
    return _page("public_widget.html", "c", code, "widget", headers)


@bp.get("/<any(c, d, t):prefix>/<code>/feed.atom")
def atom(prefix: str, code: str) -> Response:
    place, items, updated = _place_and_items(prefix, code, "atom")
    body = atom_feed(place, items, _base_url(), updated)
    return _conditional(body, "application/atom+xml", updated, OPEN_TO_ALL)


@bp.get("/<any(c, d, t):prefix>/<code>/feed.json")
def feed_json(prefix: str, code: str) -> Response:
    place, items, updated = _place_and_items(prefix, code, "json")
    body = json_feed(place, items, _base_url())
    return _conditional(body, "application/feed+json", updated, OPEN_TO_ALL)


@bp.get("/<any(c, d, t):prefix>/<code>/calendar.ics")
def ics(prefix: str, code: str) -> Response:
    place, items, updated = _place_and_items(prefix, code, "ics")
    body = calendar(place, items, _base_url(), updated)
    return _conditional(body, "text/calendar", updated, OPEN_TO_ALL)


@bp.errorhandler(NotFound)
def _missing(_exc: NotFound) -> tuple[str, int]:
    text = _(
        "Aucun panneau d’information n’est connu à cette adresse : vérifiez le code de la commune (code "
        "INSEE, par exemple 01053) ou du département."
    )
    return render_template("public_notice.html", heading=_("Page introuvable"), text=text), 404


@bp.errorhandler(TooManyRequests)
def _busy(_exc: TooManyRequests) -> tuple[str, int, dict[str, str]]:
    text = _("Cette adresse a ouvert ces pages trop souvent en une minute : réessayez dans un instant.")
    return (
        render_template("public_notice.html", heading=_("Trop de demandes"), text=text),
        429,
        {"Retry-After": "60"},
    )


def _forget_after_a_write(response: Response) -> Response:
    """Any write through the app may change what is public: the next opening reads the rows again. Only a
    request that changed rows: anyone may send a POST that writes nothing (a preview, an empty login
    form), and that must not make every visitor's next opening read its place's rows."""
    db = g.get("db")
    wrote = db is not None and db.conn.total_changes > 0
    if wrote and request.method not in SAFE_METHODS and response.status_code < 400:
        current_app.extensions["relais.public_snapshots"].forget()
    return response


def init_app(app: Flask) -> None:
    app.extensions["relais.visits"] = VisitTally(
        app.config.get("PUBLIC_VISITS_WRITE_EVERY_S", WRITE_VISITS_EVERY_S)
    )
    app.extensions["relais.public_snapshots"] = PlaceSnapshots(
        app.config.get("PUBLIC_SNAPSHOT_S", SNAPSHOT_S)
    )
    app.after_request(_forget_after_a_write)
    app.register_blueprint(bp)
