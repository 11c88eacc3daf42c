"""Every page, as every role, in French and in English, on a desktop and on a phone: the page draws what
the API answers without a JavaScript error or an unexpected 4xx/5xx, in its language, every field has a label,
and axe-core finds no serious or critical violation, on the page as opened and in the states users see (a
field's error, a preview, commands sent, a user being edited, a token shown once, the login refused)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from controller.domain import accounts
from controller.storage.db import transaction
from controller.web.context import get_db
from programs.demo import DEMO_ACCOUNTS
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import DEMO_LED, client_as, wait_for
from tests.support.browser import DESKTOP, PHONE, Site, axe_findings, one_test, served, wait_until
from tests.support.cap_feeds import FeedServer, document, feed_server, poll_sources
from tests.support.live import live_controller

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ROLES = [(name, role, commune) for name, role, commune, _organisation in DEMO_ACCOUNTS]

# A phone screen scrolls down, never sideways: what sticks out to the right (inside a scrolling box is fine).
TOO_WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(node => node.getBoundingClientRect().right > window.innerWidth + 1 && !node.closest('.table-wrap'))
  .map(node => node.outerHTML.slice(0, 120))"""
# Once a page's script has drawn what the API answered, no table body and no list area is empty.
DRAWN = """() => [...document.querySelectorAll('main tbody, #pending, #week')]
  .every(node => node.children.length > 0)"""


# Each role in one of the four views in turn (each view seen by two roles or more); RELAIS_WALK_ALL=1: every
# role in all four.
VIEWS = [("fr", False), ("en", True), ("fr", True), ("en", False)]

PANEL_PAGE = f"/parc/{DEMO_LED['id']}"
ORANGE = "meteo-france-orange-snow-ice-ain.xml"


def _seed(site: Site, feeds: FeedServer) -> int:
    """A message, a campaign inviting Bourg-en-Bresse, an alert in Ambérieu, a message waiting for approval,
    an official alert waiting for a decision from a source that works and one that fails: what pages show."""
    app = site.live.app
    for name, role, commune in ROLES:
        site.add_user(name, role, commune)
    editor = client_as(app, "mairie-bourg")
    assert (
        editor.post(
            "/api/v1/messages", json={"text": "Conseil municipal jeudi 19 h", "panels": [DEMO_LED["id"]]}
        ).status_code
        == 201
    )
    start = datetime.now().astimezone() + timedelta(days=1)
    campaign = client_as(app, "prefecture").post(
        "/api/v1/campaigns",
        json={
            "name": "Sécurité routière",
            "organisation": "prefecture-ain",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=10)).isoformat(),
            "share": 0.25,
            "communes": ["01053"],
            "messages": [{"text": "Au volant, zéro alcool"}],
        },
    )
    assert campaign.status_code == 201, campaign.json
    alert = client_as(app, "prefecture").post(
        "/api/v1/alerts",
        json={
            "text": "Crue de l’Albarine : routes coupées",
            "communes": ["01004"],
            "expires_at": start.isoformat(),
        },
    )
    assert alert.status_code == 201, alert.json
    with app.app_context(), transaction(get_db()):
        accounts.update_organisation(get_db(), "commune-01053", {"messages_need_approval": True})
    assert (
        editor.post(
            "/api/v1/messages", json={"text": "Vide-grenier dimanche", "panels": [DEMO_LED["id"]]}
        ).status_code
        == 201
    )
    prefecture = client_as(app, "prefecture")
    for name, location in (
        ("MeteoAlarm", feeds.serve("/cap/vigilance.xml", document(ORANGE))),
        ("Flux perdu", feeds.url + "/nulle-part"),
    ):
        source = {"name": name, "kind": "cap", "location": location}
        assert prefecture.post("/api/v1/alert-sources", json=source).status_code == 201
    poll_sources(app)
    return campaign.json["id"]


# What the role whose job it is does on a page before it is checked: the states users see besides a page
# just opened, each as Playwright locator actions (method, selector, its argument). Selectors by id and
# value, not by label: each role sees the tour in its own language.
STATES: dict[tuple[str, str], tuple[str, list[tuple[str, ...]]]] = {
    ("mairie-bourg", "/messages"): (
        "text-previewed-hours-refused",
        [
            ("fill", "#text", "Marché de Noël samedi 10 h"),
            ("wait_for", "#previews img"),
            ("fill", "#windows", "25:00-26:00"),
            ("click", "#submit"),
            ("wait_for", "#message-form .field-error"),
        ],
    ),
    ("mairie-bourg", "/jetons"): (
        "token-shown-once",
        [
            ("fill", "#label", "script agenda"),
            ("click", "#token-form [type=submit]"),
            ("wait_for", "#secret code"),
        ],
    ),
    ("valideur-bourg", "/validation"): (
        "rejected-without-reason",
        [("click", "#pending [value=reject]"), ("wait_for", "#pending .field-error")],
    ),
    ("technicien", PANEL_PAGE): (
        "command-listed-brightness-refused",
        [
            ("click", "#command-form [value=refresh]"),
            ("wait_for", "#commands tbody tr[data-seq]"),
            ("fill", "#level", "500"),
            ("click", "#command-form [value=brightness]"),
            ("wait_for", "#command-form .field-error"),
        ],
    ),
    ("admin", "/admin/utilisateurs"): (  # « Modifier » on a user, then two passwords that differ
        "user-edited-passwords-differ",
        [
            ("click", "#users tbody button[aria-label]"),
            ("fill", "#edit-password", "un mot de passe"),
            ("fill", "#edit-password-again", "un autre mot de passe"),
            ("click", "#password-form [type=submit]"),
            ("wait_for", "#password-form .field-error"),
        ],
    ),
    ("technicien", "/notifications"): (
        "address-refused",
        [
            ("fill", "#address", "pas une adresse"),
            ("click", "#subscription-form [type=submit]"),
            ("wait_for", "#subscription-form .field-error"),
        ],
    ),
    ("prefecture", "/alertes-officielles"): (  # a source without its address
        "source-refused",
        [("click", "#source-form [type=submit]"), ("wait_for", "#source-form .field-error")],
    ),
    ("prefecture", "/campagnes"): (
        "empty-campaign-refused",
        [("click", "#campaign-form [type=submit]"), ("wait_for", "#campaign-form .field-error")],
    ),
}
# The API answers these refusals with a 4xx on purpose; the login page with a 401; an unknown panel, 404.
REFUSED = [
    r"/api/v1/messages$",
    r"/api/v1/messages/\d+/reject$",
    r"/commands$",
    r"/api/v1/campaigns$",
    r"/api/v1/notifications/subscriptions$",
    r"/api/v1/alert-sources$",
]
MISSING_PANEL = "/parc/inconnu"


def _check(
    site: Site, page: object, where: str, step: str, lang: str, *, stylesheets: bool = False
) -> list[str]:
    """What every page must be, as drawn now: in its language, nothing wider than the screen; axe-core's
    serious and critical violations (a field without a label among them) are returned, the rest is kept in
    the artifacts. The style sheet, the same app.css on every page, is read by the login page's check."""
    site.shot(page, step)
    assert page.evaluate("document.documentElement.lang") == lang, f"{where}: not marked lang={lang}"  # type: ignore[attr-defined]
    too_wide = page.evaluate(TOO_WIDE)  # type: ignore[attr-defined]
    assert not too_wide, f"{where} is wider than the screen: {too_wide}"
    return site.axe(page, where, stylesheets=stylesheets)


def _login_refused(site: Site, chromium: object, lang: str) -> list[str]:
    """The login page as someone who mistyped their password sees it."""
    context = chromium.new_context(viewport=DESKTOP, locale="fr-FR")  # type: ignore[attr-defined]
    page = context.new_page()
    site.watch(page)
    page.goto(f"{site.url}/langue/{lang}?next=/login")
    page.locator("#name").fill("admin")
    page.locator("#password").fill("pas le bon mot de passe")
    page.locator('button[type="submit"]').click()
    page.locator(".field-error").wait_for()
    where = f"anonymous {lang} /login refused"
    found = _check(site, page, where, f"anonymous-{lang}-login-refused", lang, stylesheets=True)
    context.close()
    return found


# What an anonymous visitor opens: a commune's and a department's public pages, a tag's, the widget alone,
# and a commune code no panel has (a 404 on purpose).
PUBLIC_PAGES = ["/c/01053", "/d/01", "/t/entree-de-ville", "/c/01053/widget", "/c/99999"]


def _public_pages(site: Site, chromium: object, lang: str, phone: bool) -> list[str]:
    """The public pages as a visitor with no account sees them, in one language and one screen."""
    context = chromium.new_context(viewport=PHONE if phone else DESKTOP, locale="fr-FR")  # type: ignore[attr-defined]
    page = context.new_page()
    site.watch(page)
    if lang != "fr":
        page.goto(f"{site.url}/langue/{lang}?next=/c/01053")
    found = []
    view = f"{lang}-{'phone' if phone else 'desktop'}"
    for number, path in enumerate(PUBLIC_PAGES):
        page.goto(site.url + path)
        step = f"anonymous-{view}-{number}-{path.strip('/').replace('/', '-')}"
        found += _check(site, page, f"anonymous {view} {path}", step, lang)
    context.close()
    return found


@dataclass
class Tour:
    """The seeded controller every visitor's tour opens, kept for the module, and its campaign's id."""

    site: Site
    campaign_id: int


@pytest.fixture(scope="module")
def tour_controller(broker: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:
    """One controller for the module, seeded once, with the LED board's agent online: each visitor's tour
    only looks, or makes what no other visitor's page counts on (a token, a command)."""
    folder = tmp_path_factory.mktemp("every-page")
    with feed_server() as feeds, live_controller(broker, folder) as live, served(live, folder) as site:
        live.start_agent(DEMO_LED["id"])
        campaign_id = _seed(site, feeds)
        wait_for(lambda: live.panel(DEMO_LED["id"])["online"], "the agent is online", 30)
        yield Tour(site, campaign_id)


@pytest.fixture
def tour(tour_controller: Tour, request: pytest.FixtureRequest) -> Iterator[Tour]:
    """The module's controller for one visitor: their own screenshots, what their browser saw."""
    with one_test(tour_controller.site, request) as site:
        for pattern in [*REFUSED, r"/login$", f"{MISSING_PANEL}$", f"{PUBLIC_PAGES[-1]}$"]:
            site.expect(pattern)
        yield tour_controller


def test_every_page_draws_for_the_anonymous_visitor(tour: Tour, chromium: object) -> None:
    """The login page refused, in both languages; the public pages on a phone in French, on a desktop in
    English."""
    site = tour.site
    inaccessible = _login_refused(site, chromium, "fr") + _login_refused(site, chromium, "en")
    inaccessible += _public_pages(site, chromium, "fr", phone=True) + _public_pages(
        site, chromium, "en", phone=False
    )
    assert not inaccessible, "axe-core's serious or critical violations:\n" + "\n".join(inaccessible)


# Each role its own test, in its own browser context: the two workers share the tour.
@pytest.mark.parametrize("index", range(len(ROLES)), ids=[name for name, _role, _commune in ROLES])
def test_every_page_draws_for_every_role(tour: Tour, chromium: object, index: int) -> None:
    site, (name, role, commune) = tour.site, ROLES[index]
    inaccessible: list[str] = []
    views = VIEWS if os.environ.get("RELAIS_WALK_ALL") else [VIEWS[index % len(VIEWS)]]
    # One browser context for the role, logged in straight into its first view.
    page = site.log_in(chromium, name, lang=views[0][0], phone=views[0][1])
    for lang, phone in views:
        if (lang, phone) != views[0]:
            page.set_viewport_size(PHONE if phone else DESKTOP)
            page.goto(f"{site.url}/langue/{lang}?next=/")
        paths = [page.url.removeprefix(site.url)]
        paths += [link.get_attribute("href") for link in page.locator("nav a").all()]
        if commune != "01004":  # Ambérieu sees neither Bourg's panel nor a campaign it is not asked to
            paths.append(PANEL_PAGE)
            if role != "technician":
                paths.append(f"/campagnes/{tour.campaign_id}")
        if index == 0:
            paths.append(MISSING_PANEL)
        view = f"{lang}-{'phone' if phone else 'desktop'}"
        for number, path in enumerate(dict.fromkeys(paths)):
            if number:  # the first is the page the role lands on, open already
                page.goto(site.url + path)
            wait_until(page, DRAWN)
            step = f"{name}-{view}-{number}-{path.strip('/').replace('/', '-')}"
            if (name, path) in STATES:
                state, actions = STATES[name, path]
                for method, selector, *argument in actions:
                    getattr(page.locator(selector).first, method)(*argument)
                step += f"-{state}"
            inaccessible += _check(site, page, f"{name} ({role}) {view} {path}", step, lang)
    page.context.close()
    assert not inaccessible, "axe-core's serious or critical violations:\n" + "\n".join(inaccessible)


def test_axe_finds_and_names_what_is_wrong(chromium: object) -> None:
    """The tour passes only if axe-core really looks: offline, on a page of nothing but faults, it names
    each rule and element (a button with no name, a field with no label, a page with no language)."""
    context = chromium.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_content('<main><h1>Faute</h1><button id="mute"></button><input id="search"></main>')
    found = {(item["rule"], item["impact"], item["element"]) for item in axe_findings(page)}
    context.close()
    assert {
        ("button-name", "critical", "#mute"),
        ("label", "critical", "#search"),
        ("html-has-lang", "serious", "html"),
    } <= found, found
