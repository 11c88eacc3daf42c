"""An administrator changes a user's role and sets their password from the users page (the last
administrator stays one, refused in words), the user logs in with it, and the audit export holds what the
filters on screen say, « Filtrer » clicked or not."""

from __future__ import annotations

import csv
import io

import pytest

from controller.domain import accounts
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _exported_actions(page: object) -> list[str]:
    """Click « Exporter en CSV »; the action of each entry the file holds."""
    with page.expect_download() as download:  # type: ignore[attr-defined]
        page.get_by_role("link", name="Exporter en CSV").click()  # type: ignore[attr-defined]
    text = download.value.path().read_text(encoding="utf-8-sig")
    return [row["action"] for row in csv.DictReader(io.StringIO(text), delimiter=";")]


def _sole_administrator(site: Site, name: str) -> None:
    """``name`` made the only administrator: the harness's own API user (``e2e``) becomes a viewer."""
    site.add_user(name, "admin")
    with site.live.app.app_context():
        db = get_db()
        with transaction(db):
            accounts.update_user(db, accounts.user_by_name(db, "e2e")["id"], {"role": "viewer"})


def test_an_administrator_changes_a_role_and_sets_passwords(site: Site, chromium: object) -> None:
    _sole_administrator(site, "admin")
    page = site.log_in(chromium, "admin")
    page.get_by_role("link", name="Utilisateurs").click()
    creation = page.locator("#user-form")
    creation.get_by_label("Identifiant").fill("agent-voirie")
    creation.get_by_label("Rôle").select_option(label="Rédacteur communal")
    creation.get_by_label("Commune (code INSEE)").fill("01004")
    creation.get_by_role("button", name="Créer l’utilisateur").click()
    page.get_by_text("Utilisateur « agent-voirie » créé.").wait_for()

    site.expect(r"/api/v1/users/\d+$")
    page.locator('#users tr[data-user="admin"]').get_by_role("button", name="Modifier").click()
    edit = page.locator("#user-edit")
    edit.get_by_role("heading", name="Modifier « admin »").wait_for()
    edit.get_by_label("Rôle").select_option(label="Lecteur")
    edit.get_by_role("button", name="Changer le rôle").click()
    refusal = page.locator("#role-form .field-error")
    refusal.wait_for()
    assert "dernier administrateur actif" in refusal.inner_text()
    assert edit.get_by_label("Rôle").get_attribute("aria-invalid") == "true"
    site.shot(page, "1-last-administrator-refused")

    page.locator('#users tr[data-user="agent-voirie"]').get_by_role("button", name="Modifier").click()
    edit.get_by_role("heading", name="Modifier « agent-voirie »").wait_for()
    assert not refusal.count(), "another user's form starts clean"
    assert edit.get_by_label("Commune (code INSEE)").input_value() == "01004"
    edit.get_by_label("Rôle").select_option(label="Technicien")
    edit.get_by_role("button", name="Changer le rôle").click()
    page.locator("#role-form #error-commune").wait_for()
    site.shot(page, "2-commune-named")
    edit.get_by_label("Commune (code INSEE)").fill("")
    edit.get_by_role("button", name="Changer le rôle").click()
    page.get_by_text("Rôle de « agent-voirie » changé.").wait_for()
    row = page.locator('#users tr[data-user="agent-voirie"]')
    row.get_by_text("Technicien").wait_for()
    assert "01004" not in row.inner_text()
    site.shot(page, "3-role-changed")

    edit.get_by_label("Nouveau mot de passe", exact=True).fill("une phrase de passe")
    edit.get_by_label("Nouveau mot de passe, à nouveau").fill("une phrase de pass")
    edit.get_by_role("button", name="Définir le mot de passe").click()
    page.get_by_text("Les deux mots de passe diffèrent.").wait_for()
    edit.get_by_label("Nouveau mot de passe", exact=True).fill("court")
    edit.get_by_label("Nouveau mot de passe, à nouveau").fill("court")
    edit.get_by_role("button", name="Définir le mot de passe").click()
    page.locator("#password-form #error-password").wait_for()
    assert not page.get_by_text("Les deux mots de passe diffèrent.").count()
    edit.get_by_label("Nouveau mot de passe", exact=True).fill("une phrase de passe")
    edit.get_by_label("Nouveau mot de passe, à nouveau").fill("une phrase de passe")
    edit.get_by_role("button", name="Définir le mot de passe").click()
    page.get_by_text("Mot de passe de « agent-voirie » défini").wait_for()
    typed = site.log_in(chromium, "agent-voirie", password="une phrase de passe")
    typed.locator(".who", has_text="agent-voirie").wait_for()

    edit.get_by_role("button", name="Générer un mot de passe").click()
    shown = page.locator("#generated-password code")
    shown.wait_for()
    generated = shown.inner_text()
    assert len(generated) >= 12
    site.shot(page, "4-password-generated")
    again = site.log_in(chromium, "agent-voirie", password=generated)
    again.locator(".who", has_text="agent-voirie").wait_for()
    edit.get_by_role("button", name="Fermer").click()
    assert not page.locator("#generated-password code").count(), "a generated password is shown once"

    # The journal: filters changed, « Filtrer » not clicked, and the export follows them.
    page.get_by_role("link", name="Journal").click()
    page.locator("#audit tbody tr", has_text="user.create").wait_for()
    page.get_by_label("Action").fill("user.update")
    assert _exported_actions(page) == ["user.update"] * 3
    page.get_by_label("Action").fill("")
    page.get_by_label("Jusqu’au").fill("2020-01-01T00:00")
    assert _exported_actions(page) == []
    page.get_by_label("Jusqu’au").fill("")
    page.get_by_label("Objet").select_option(label="utilisateur")
    assert _exported_actions(page) == ["user.update"] * 3 + ["user.create"]
    site.shot(page, "5-journal-exported-unfiltered")
