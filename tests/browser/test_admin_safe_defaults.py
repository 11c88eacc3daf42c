"""An administrator creates users: the role offered is the least powerful one, before and after each
creation; disabling a user (its tokens revoked for good) asks first, and saying no changes nothing."""

from __future__ import annotations

import pytest

from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_new_users_are_viewers_unless_chosen_and_disabling_asks_first(site: Site, chromium: object) -> None:
    site.add_user("admin", "admin")
    page = site.log_in(chromium, "admin")
    page.get_by_role("link", name="Utilisateurs").click()
    form = page.locator("#user-form")  # the creation form: a user's own edit has a « Rôle » too
    role = form.get_by_label("Rôle")
    assert role.locator("option:checked").inner_text() == "Lecteur"

    form.get_by_label("Identifiant").fill("stagiaire")
    form.get_by_label("Mot de passe").fill("un mot de passe assez long")
    page.get_by_role("button", name="Créer l’utilisateur").click()
    page.get_by_text("Utilisateur « stagiaire » créé.").wait_for()
    row = page.locator('#users tr[data-user="stagiaire"]')
    row.get_by_text("Lecteur", exact=True).wait_for()
    site.shot(page, "1-viewer-by-default")

    form.get_by_label("Identifiant").fill("technicienne")
    role.select_option(label="Technicien")
    page.get_by_role("button", name="Créer l’utilisateur").click()
    page.get_by_text("Utilisateur « technicienne » créé.").wait_for()
    page.locator('#users tr[data-user="technicienne"]').get_by_text("Technicien", exact=True).wait_for()
    assert role.locator("option:checked").inner_text() == "Lecteur", (
        "the form goes back to the least powerful role"
    )
    site.shot(page, "2-back-to-viewer-after-creation")

    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    patches: list[str] = []
    page.on("request", lambda request: request.method == "PATCH" and patches.append(request.url))
    row.get_by_role("button", name="Désactiver").click()
    assert questions and "« stagiaire »" in questions[0] and "définitivement" in questions[0]
    page.wait_for_timeout(500)
    assert not patches, "dismissing the question sends nothing"
    assert row.get_by_text("actif", exact=True).is_visible()
    site.shot(page, "3-disable-dismissed-still-active")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Désactiver").click()
    row.get_by_text("désactivé", exact=True).wait_for()
    row.get_by_role("button", name="Réactiver").wait_for()
    site.shot(page, "4-disable-accepted")
