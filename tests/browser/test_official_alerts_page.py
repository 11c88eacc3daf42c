"""« Alertes officielles », clicked through as the prefecture does it: a MeteoAlarm-shaped feed served on
loopback, added in the sources' form, brings an orange snow-ice warning for the Ain that Météo-France's
shipped rule puts in the approval queue; the badge in the navigation shows it on every page; the approver
edits the LED wording and approves, and the Ain's panels show it. A rejection needs its reason; a failing
source says its error; a rule made in the form decides the next poll."""

from __future__ import annotations

import pytest
from PIL import Image

from controller.domain.alerts import alert_content
from controller.domain.official_alerts import OFFICIAL_TITLE
from controller.rendering.engine import render
from controller.rendering.profiles import get_profile
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, same_pixels, wait_for
from tests.support.browser import Site
from tests.support.cap_feeds import FeedServer, atom_feed, document, poll_sources

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ORANGE = "meteo-france-orange-snow-ice-ain.xml"
FLOOD = "prefecture-flood-polygon-cap11.xml"
EDITED = "Verglas : routes dangereuses"
# The page and the navigation's badge ask again every 5 s, the alerts' page every 3 s: a test makes them
# do it at once (their clocks run that far ahead) instead of waiting.
REFRESH_MS = 5000
CONFIRMATIONS_MS = 3000


def orange_feed(feeds: FeedServer) -> str:
    """MeteoAlarm's feed for France with one warning: orange snow-ice for the Ain, its CAP linked."""
    path = f"/cap/{ORANGE}"
    cap = feeds.files.setdefault(path, document(ORANGE))
    return feeds.serve("/feeds/france", atom_feed(feeds.url, [(path, cap)]))


def official_alert_image(text: str, profile_id: str) -> Image.Image:
    profile = get_profile(profile_id)
    return render(alert_content(text, OFFICIAL_TITLE, profile), profile).pages[0].frame.image()


def add_source(page: object, name: str, location: str, kind: str = "atom") -> None:
    page.get_by_label("Nom", exact=True).fill(name)  # type: ignore[attr-defined]
    page.get_by_label("Sorte").select_option(kind)  # type: ignore[attr-defined]
    page.get_by_label("Adresse (URL, ou chemin du dossier)").fill(location)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Enregistrer la source").click()  # type: ignore[attr-defined]
    page.get_by_text(f"Source « {name} » enregistrée").wait_for()  # type: ignore[attr-defined]


def test_an_orange_warning_waits_in_the_queue_is_edited_approved_and_reaches_the_ain(
    site: Site, chromium: object, feeds: FeedServer
) -> None:
    site.add_user("prefecture", "campaign-manager")
    site.add_user("admin", "admin")
    for spec in (DEMO_LED, DEMO_RGB, DEMO_EPAPER):
        site.live.start_agent(spec["id"])

    prefecture = site.log_in(chromium, "prefecture", clock=True)
    prefecture.get_by_role("link", name="Alertes officielles").click()
    prefecture.get_by_text("Aucune source").wait_for()
    add_source(prefecture, "MeteoAlarm France", orange_feed(feeds))
    # The first source brings Météo-France's rule, said in words.
    rules = prefecture.locator("#rules")
    rules.get_by_text(
        "Vigilance orange ou rouge, de vigilance@meteo.fr → la zone de l’alerte, validation sous 15 min"
    ).wait_for()
    site.shot(prefecture, "1-source-added-default-rule")

    # An administrator elsewhere, on the fleet's page: the badge comes without a reload.
    admin = site.log_in(chromium, "admin", clock=True)
    badge = admin.locator("#official-pending")
    assert badge.is_hidden()
    poll_sources(site.live.app)
    admin.clock.run_for(REFRESH_MS)
    prefecture.clock.run_for(REFRESH_MS)
    badge.get_by_text("1", exact=True).wait_for()
    assert "1 en attente de décision" in badge.inner_text()
    site.shot(admin, "2-badge-on-the-fleet-page")

    card = prefecture.locator("#decide form.official")
    card.get_by_text("Vigilance orange").first.wait_for()
    card.get_by_text("Diffusée d’elle-même dans").wait_for()
    kind = get_profile(DEMO_LED["profile"]).label
    led = card.get_by_label(f"Texte pour {kind}")
    assert led.input_value().startswith("Vigilance orange neige-verglas à partir de")
    card.get_by_role("img", name=f"Aperçu sur {kind}").wait_for()
    site.shot(prefecture, "3-pending-with-its-wording")

    card.get_by_role("button", name="Modifier puis approuver").click()
    led.fill(EDITED)
    card.get_by_role("button", name="Approuver le texte modifié").click()
    prefecture.get_by_text("approuvée : elle part sur les panneaux").wait_for()
    prefecture.locator("#decide").get_by_text("Rien à décider.").wait_for()
    row = prefecture.locator("#received tbody tr").first
    row.get_by_text("diffusée").wait_for()
    row.get_by_text("3 panneaux").wait_for()
    site.shot(prefecture, "4-approved-and-deployed")

    # The LED board shows the approver's words; the other kinds, the rule's.
    wait_for(
        lambda: same_pixels(
            site.live.screen(DEMO_LED["id"]), official_alert_image(EDITED, DEMO_LED["profile"])
        ),
        "the edited wording on the LED board",
        30,
    )
    for spec in (DEMO_RGB, DEMO_EPAPER):
        wait_for(
            lambda s=spec: site.live.panel(s["id"])["showing"]["item_id"], f"an alert on {spec['id']}", 30
        )
        assert site.live.panel(spec["id"])["showing"]["item_id"].startswith("alert-")
    admin.clock.run_for(REFRESH_MS)
    badge.wait_for(state="hidden")

    # Its live confirmations, on the alerts' page.
    row.get_by_role("link", name="suivre les confirmations").click()
    prefecture.clock.run_for(CONFIRMATIONS_MS)
    prefecture.get_by_text("Sur 3 panneaux : 3 confirmé(s)").wait_for()
    site.shot(prefecture, "5-confirmations")


def test_a_source_fails_in_words_a_rejection_needs_its_reason_a_rule_from_the_form_decides(
    site: Site, chromium: object, feeds: FeedServer
) -> None:
    site.add_user("prefecture", "campaign-manager")
    site.live.start_agent(DEMO_LED["id"])
    page = site.log_in(chromium, "prefecture", clock=True)
    page.goto(site.url + "/alertes-officielles")

    # A bad address is refused under its field; an unreachable feed shows its error in the list.
    site.expect(r"/api/v1/alert-sources$")
    page.get_by_label("Nom", exact=True).fill("Flux perdu")
    page.get_by_label("Adresse (URL, ou chemin du dossier)").fill("ftp://exemple.fr/flux")
    page.get_by_role("button", name="Enregistrer la source").click()
    page.locator("#source-form .field-error").get_by_text(
        "Doit être une URL en http:// ou https://."
    ).wait_for()
    add_source(page, "Flux perdu", feeds.url + "/nulle-part")
    poll_sources(site.live.app)
    page.clock.run_for(REFRESH_MS)
    failing = page.locator("#sources tr", has_text="Flux perdu")
    failing.get_by_text("en erreur").wait_for()
    failing.get_by_text("Le serveur répond HTTP 404 (Not Found).").wait_for()
    assert "Dernière erreur" in failing.inner_text()
    site.shot(page, "1-failing-source")

    # The warning waits; rejected without a reason, it is refused; with one, it is listed as rejected.
    add_source(page, "MeteoAlarm France", orange_feed(feeds))
    poll_sources(site.live.app)
    page.clock.run_for(REFRESH_MS)
    card = page.locator("#decide form.official")
    site.expect(r"/api/v1/official-alerts/\d+/reject$")
    card.get_by_role("button", name="Rejeter").click()
    card.locator(".field-error").get_by_text("Le motif est obligatoire").wait_for()
    card.get_by_label("Motif du rejet").fill("Déjà annoncé par la radio")
    card.get_by_role("button", name="Rejeter").click()
    page.get_by_text("rejetée.").first.wait_for()
    row = page.locator("#received tbody tr").first
    row.get_by_text("rejetée").wait_for()
    row.get_by_text("Déjà annoncé par la radio").wait_for()
    site.shot(page, "2-rejected-with-its-reason")

    # A rule made in the form, for the prefecture's floods, automatic: the next poll deploys the flood.
    form = page.locator("#rule-form")
    form.get_by_label("Nom de la règle").fill("Crues de la préfecture")
    form.locator("#targets-count").get_by_text("Rien de coché : toute la zone de l’alerte.").wait_for()
    form.get_by_label("Émetteurs (séparés par des virgules)").fill("alerte@ain.gouv.fr")
    form.get_by_label("Panneaux LED").fill("{headline}")
    form.get_by_label("Panneaux e-paper").fill("{headline}\n{instruction}")
    form.get_by_label("automatique").check()
    form.get_by_role("button", name="Enregistrer la règle").click()
    page.get_by_text("Règle « Crues de la préfecture » enregistrée.").wait_for()
    rule = page.locator("#rules li", has_text="Crues de la préfecture")
    rule.get_by_text("de alerte@ain.gouv.fr → la zone de l’alerte, diffusion automatique").wait_for()
    rule.get_by_role("button", name="Monter « Crues de la préfecture »").click()
    page.locator("#rules li").first.get_by_text("Crues de la préfecture").wait_for()
    site.shot(page, "3-rule-made-and-moved-first")

    add_source(page, "Préfecture", feeds.serve("/prefecture/crue.xml", document(FLOOD)), kind="cap")
    poll_sources(site.live.app)
    page.clock.run_for(REFRESH_MS)
    flood = page.locator("#received tbody tr", has_text="Crue de la Reyssouze")
    flood.get_by_text("diffusée").wait_for()
    flood.get_by_text("Gravité : sévère").wait_for()  # no awareness level from this sender: CAP's severity
    wait_for(
        lambda: same_pixels(
            site.live.screen(DEMO_LED["id"]),
            official_alert_image("Crue : routes coupées", DEMO_LED["profile"]),
        ),
        "the flood on Bourg's LED board",
        30,
    )
    site.shot(page, "4-flood-deployed-by-the-new-rule")

    # Changing the shipped rule's timeout: the form comes filled, and the list says the new words.
    shipped = "Vigilance Météo-France orange ou rouge"
    page.get_by_role("button", name=f"Modifier « {shipped} »").click()
    assert form.get_by_label("Nom de la règle").input_value() == shipped
    assert form.get_by_label("Panneaux LED").input_value() == "Vigilance {level} {hazard} {period}"
    form.get_by_label("Délai (minutes)").fill("30")
    form.get_by_role("button", name="Enregistrer la règle").click()
    page.locator("#rules li", has_text=shipped).get_by_text("validation sous 30 min").wait_for()

    # The failing source read less often, then deleted after a confirmation; the other sources stay.
    page.get_by_role("button", name="Modifier « Flux perdu »").click()
    page.get_by_label("Intervalle (secondes)").fill("300")
    page.get_by_role("button", name="Enregistrer la source").click()
    failing.get_by_text("toutes les 300 s").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Supprimer « Flux perdu »").click()
    page.get_by_text("Source « Flux perdu » supprimée.").wait_for()
    failing.wait_for(state="detached")  # the list is asked again after the answer
    assert page.locator("#sources tbody tr").count() == 2
    site.shot(page, "5-rule-and-source-changed")
