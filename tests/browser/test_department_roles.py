"""Each role's everyday job on a department of 1,000 panels in 65 communes, by clicks, asserting what the
user sees: the technician finds panels, a commune's editor and approver work on their own commune only,
the prefecture runs a campaign that a commune accepts after reading it, the administrator manages users.

One controller serves the whole module (tests/browser/conftest.py, ``department``): the fleet is the
set-up, not the user's job; each user logs in once, in a browser context of their own (``department_user``)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from controller.publishing.queueing import queue_message
from controller.web.context import get_db, signing_key
from programs.department import fleet_panel_specs
from tests.support import DEMO_PANELS
from tests.support.browser import Site, fill_campaign_form

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Panels per commune name, as the module's controller has them: the demo's three and 997 simulated ones.
ALL_SPECS = [*DEMO_PANELS, *fleet_panel_specs(997)]
PER_COMMUNE = Counter(str(spec["commune_name"]) for spec in ALL_SPECS)
BOURG = PER_COMMUNE["Bourg-en-Bresse"]  # its simulated panels run: they are the ones online
OTHER_COMMUNES = sorted(set(PER_COMMUNE) - {"Bourg-en-Bresse"})
TEXT = "Collecte des encombrants jeudi matin"


def rows(page: object) -> list[str]:
    return page.locator("#fleet tbody tr td:first-child").all_inner_texts()  # type: ignore[attr-defined]


def test_the_technician_finds_a_panel_among_a_thousand(
    department: Site, department_user: Callable[[str], Any]
) -> None:
    page = department_user("technicien")
    page.get_by_role("link", name="Parc").click()
    total = sum(PER_COMMUNE.values())
    bourg_sim = BOURG - 2  # the two demo panels of Bourg have no agent here
    page.get_by_text(
        f"{total} panneau(x) : {bourg_sim} en ligne, {total - bourg_sim} hors ligne, 0 en panne"
    ).wait_for()
    page.get_by_text("Page 1 sur 20").wait_for()
    assert len(rows(page)) == 50
    department.shot(page, "1-fleet-first-page", full_page=False)

    page.get_by_role("button", name="suivant »").click()
    page.get_by_text("Page 2 sur 20").wait_for()
    assert len(rows(page)) == 50

    page.get_by_label("Rechercher (panneau ou commune)").fill("bourg")
    page.get_by_text(f"{BOURG} panneau(x) correspondent sur {total}").wait_for()
    assert not page.get_by_role("button", name="suivant »").is_visible(), "one page needs no paging"
    found = rows(page)
    assert len(found) == BOURG and all(name.startswith("Bourg-en-Bresse") for name in found), found
    department.shot(page, "2-fleet-searched-by-commune", full_page=False)

    online = page.locator("#fleet tbody tr", has_text="panneau simulé").first
    name = online.locator("td:first-child a").inner_text()
    online.get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name).wait_for()
    page.get_by_text("Bourg-en-Bresse (01053)").wait_for()
    page.locator("#state").get_by_text("en ligne").wait_for()
    department.shot(page, "3-panel-page", full_page=False)


def test_a_commune_editor_works_on_its_own_panels_only(
    department: Site, department_user: Callable[[str], Any]
) -> None:
    page = department_user("mairie-bourg")
    page.get_by_role("heading", name="Programmer un message").wait_for()
    page.locator("#message-form").get_by_text(re.compile("Bourg-en-Bresse — ")).first.wait_for()
    form = page.locator("#message-form").inner_text()
    assert not any(commune in form for commune in OTHER_COMMUNES), "another commune's panel is offered"
    department.shot(page, "1-editor-form", full_page=False)

    page.get_by_label("Texte du message").fill(TEXT)
    page.get_by_role("button", name="Programmer", exact=True).click()
    done = page.locator("#message-form .status.ok")
    done.get_by_text("en attente de validation").wait_for()  # Bourg-en-Bresse wants a second person
    message_id = re.search(r"Message n° (\d+)", done.inner_text()).group(1)  # type: ignore[union-attr]
    page.locator(f'#messages tr[data-message="{message_id}"]').get_by_text(TEXT).wait_for()
    department.shot(page, "2-editor-queued", full_page=False)

    page.get_by_role("link", name="Parc").click()
    page.get_by_text(f"{BOURG} panneau(x) : {BOURG - 2} en ligne, 2 hors ligne, 0 en panne").wait_for()
    fleet = page.locator("#fleet tbody").inner_text()
    assert "Bourg-en-Bresse" in fleet and not any(commune in fleet for commune in OTHER_COMMUNES)
    department.shot(page, "3-editor-fleet", full_page=False)


def test_a_commune_approver_approves_its_communes_message(
    department: Site, department_user: Callable[[str], Any]
) -> None:
    with department.live.app.app_context():  # set-up: a message of the commune waiting for a second person
        message_id = queue_message(
            get_db(),
            signing_key(),
            {"text": "Conseil municipal mardi 20 h", "communes": ["01053"]},
            created_by="mairie-bourg",
            organisation="commune-01053",
            commune_insee="01053",
        ).id
    page = department_user("valideur-bourg")
    page.get_by_role("link", name="À valider").click()
    card = page.locator(f'form[data-message="{message_id}"]')
    card.get_by_text("Conseil municipal mardi 20 h").wait_for()
    assert (
        card.locator(".runs")
        .inner_text()
        .replace("\u00a0", " ")
        .endswith(" · toute la journée · tous les jours")
    )
    assert card.locator("figure").count() == BOURG  # its preview on each of the commune's panels
    department.shot(page, "1-approver-queue", full_page=False)
    card.get_by_role("button", name="Valider").click()
    page.get_by_text(f"Message n° {message_id} validé").wait_for()
    card.wait_for(state="detached")
    department.shot(page, "2-approver-approved", full_page=False)


def test_the_prefecture_runs_a_campaign_on_the_department_that_a_commune_accepts(
    department: Site, department_user: Callable[[str], Any]
) -> None:
    communes = len(PER_COMMUNE)
    manager = department_user("prefecture")
    manager.get_by_role("link", name="Campagnes").click()
    fill_campaign_form(
        manager,
        "Prévention des noyades",
        days=30,
        share=20,
        commune=f"Toutes les communes du département 01 ({communes})",
        text="Baignade : surveillez vos enfants",
    )
    manager.get_by_label(f"Toutes les communes du département 01 ({communes})").scroll_into_view_if_needed()
    department.shot(manager, "1-manager-invites-the-department", full_page=False)
    manager.get_by_role("button", name="Créer et inviter les communes").click()
    manager.wait_for_url(re.compile(r"/campagnes/\d+$"))
    invited = manager.locator("#communes tbody tr")
    invited.nth(communes - 1).wait_for()
    assert invited.count() == communes
    names = invited.locator("td:first-child").all_inner_texts()
    assert "Bourg-en-Bresse (01053)" in names and "Oyonnax (01283)" in names
    assert "Commune 01001" in names and not any(re.fullmatch(r"\d{5}", name) for name in names), names
    department.shot(manager, "2-manager-sees-the-communes-by-name", full_page=False)

    mairie = department_user("mairie-bourg")
    mairie.get_by_role("link", name="Invitations").click()
    mairie.get_by_role("link", name="Prévention des noyades").click()
    asked = mairie.get_by_role("region", name="Ce que la campagne demande")
    asked.locator("blockquote").get_by_text("Baignade : surveillez vos enfants").wait_for()
    bourg_profiles = {str(spec["profile"]) for spec in ALL_SPECS if spec["commune_insee"] == "01053"}
    asked.locator("figure").nth(len(bourg_profiles) - 1).wait_for()
    captions = " ".join(asked.locator("figcaption").all_inner_texts())
    assert asked.locator("figure").count() == len(bourg_profiles)  # one drawing per kind of panel
    assert "Bourg-en-Bresse — entrée nord" in captions
    assert not any(commune in captions for commune in OTHER_COMMUNES)
    asked.get_by_text("Proposée par Préfecture de l’Ain.").wait_for()
    department.shot(mairie, "3-commune-reads-the-invitation", full_page=False)
    mairie.get_by_role("button", name="Accepter").click()
    mairie.get_by_text("Réponse enregistrée.").wait_for()

    manager.locator('#communes tr[data-commune="01053"]').get_by_text("acceptée").wait_for()
    department.shot(manager, "4-manager-sees-bourg-accept", full_page=False)


def test_the_administrator_adds_a_commune_user(
    department: Site, department_user: Callable[[str], Any]
) -> None:
    page = department_user("admin")
    page.get_by_role("link", name="Utilisateurs").click()
    users = page.locator("#users tbody")
    users.get_by_text("valideur-bourg").wait_for()
    form = page.get_by_role("region", name="Nouvel utilisateur")
    form.get_by_label("Identifiant").fill("mairie-oyonnax")
    form.get_by_label("Rôle").select_option(label="Rédacteur communal")
    form.get_by_label("Commune (code INSEE)").fill("01283")
    form.get_by_label("Mot de passe").fill("un mot de passe assez long")
    form.get_by_role("button", name="Créer l’utilisateur").click()
    users.locator("tr", has_text="mairie-oyonnax").get_by_text("Rédacteur communal").wait_for()
    # Its commune's organisation is made, by the commune's name.
    page.get_by_label("Oyonnax · Messages : validation requise").wait_for()
    department.shot(page, "1-administrator-users", full_page=False)
