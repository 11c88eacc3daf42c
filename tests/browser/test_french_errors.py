"""A French user's common mistakes on the message form and the users page, each refused in French under
its field, the refusal gone as soon as the field is changed; an English page reads the API's English."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support import DEMO_LED, DEMO_RGB
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PARIS = ZoneInfo("Europe/Paris")


def _local(moment: datetime) -> str:
    """As a datetime-local field takes it."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _refused(page: object, field_id: str, words: str) -> object:
    """The error under that field, read; the field marked invalid."""
    field = page.locator(f"#{field_id}")  # type: ignore[attr-defined]
    error = field.locator(
        "xpath=ancestor-or-self::*[contains(@class, 'field') or self::fieldset][1]"
    ).locator(".field-error")
    error.get_by_text(words, exact=True).wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    return error


def _gone(page: object, field_id: str, error: object) -> None:
    """The error gone from under the field as soon as it was changed, before any new submit."""
    error.wait_for(state="detached")  # type: ignore[attr-defined]
    assert page.locator(f"#{field_id}").get_attribute("aria-invalid") is None  # type: ignore[attr-defined]


def test_a_french_editor_reads_each_mistake_in_french_until_it_is_fixed(site: Site, chromium: object) -> None:
    site.add_user("mairie-bourg", "commune-editor", "01053")
    page = site.log_in(chromium, "mairie-bourg")
    site.expect(r"/api/v1/messages$")
    submit = page.get_by_role("button", name="Programmer", exact=True)
    tomorrow = datetime.now(PARIS).replace(hour=8, minute=0) + timedelta(days=1)

    submit.click()  # nothing typed
    error = _refused(page, "text", "Le texte est vide.")
    site.shot(page, "1-empty-text")
    page.get_by_label("Texte du message").fill("Marché de Noël samedi")
    _gone(page, "text", error)

    page.get_by_label("À partir du").fill(_local(tomorrow + timedelta(hours=10)))
    page.get_by_label("Jusqu’au").fill(_local(tomorrow))
    submit.click()
    error = _refused(page, "ends_at", "La fin doit venir après le début (starts_at).")
    site.shot(page, "2-end-before-start")
    page.get_by_label("Jusqu’au").fill(_local(tomorrow + timedelta(days=2)))
    _gone(page, "ends_at", error)

    page.get_by_label("À partir du").fill("")
    page.get_by_label("Jusqu’au").fill(_local(datetime.now(PARIS) - timedelta(days=1)))
    submit.click()
    error = _refused(page, "ends_at", "La fin est déjà passée : le message ne serait jamais affiché.")
    site.shot(page, "3-end-in-the-past")
    page.get_by_label("Jusqu’au").fill(_local(tomorrow + timedelta(days=2)))
    _gone(page, "ends_at", error)

    for name in (DEMO_LED["name"], DEMO_RGB["name"]):
        page.get_by_label(name).uncheck()
    submit.click()
    error = _refused(
        page, "targets", "Choisissez au moins une cible : panneaux, étiquettes, communes ou départements."
    )
    site.shot(page, "4-no-panel")
    page.get_by_label(DEMO_LED["name"]).check()
    _gone(page, "targets", error)

    submit.click()
    page.locator("#message-form .status.ok").get_by_text("programmé sur 1 panneau(x)").wait_for()
    site.shot(page, "5-queued")


def test_a_french_administrator_reads_the_users_rules_in_french(site: Site, chromium: object) -> None:
    site.add_user("admin", "admin")
    page = site.log_in(chromium, "admin")
    page.get_by_role("link", name="Utilisateurs").click()
    site.expect(r"/api/v1/users$")
    creation = page.locator("#user-form")
    create = creation.get_by_role("button", name="Créer l’utilisateur")
    creation.get_by_label("Identifiant").fill("agent-voirie")
    creation.get_by_label("Rôle").select_option(label="Rédacteur communal")
    creation.get_by_label("Mot de passe").fill("court")
    create.click()
    error = _refused(page, "commune", "Ce rôle est celui d’une commune : indiquez son code INSEE.")
    site.shot(page, "1-commune-missing")
    creation.get_by_label("Commune (code INSEE)").fill("01004")
    _gone(page, "commune", error)
    assert page.locator("#commune").get_attribute("aria-describedby") == "commune-hint"  # its hint kept

    create.click()
    error = _refused(page, "password", "Le mot de passe doit compter au moins 12 caractères.")
    site.shot(page, "2-password-too-short")
    creation.get_by_label("Mot de passe").fill("un mot de passe assez long")
    _gone(page, "password", error)

    create.click()
    page.get_by_text("Utilisateur « agent-voirie » créé.").wait_for()


def test_an_english_page_reads_the_api_in_english(site: Site, chromium: object) -> None:
    """The browser asks for French (its locale); the page's own language is what its requests send."""
    site.add_user("mairie-bourg", "commune-editor", "01053")
    page = site.log_in(chromium, "mairie-bourg", lang="en")
    site.expect(r"/api/v1/messages$")
    page.get_by_role("button", name="Schedule", exact=True).click()
    _refused(page, "text", "is required and must not be empty")
