"""An administrator makes an account (a missing commune is named, what was typed stays), reads the audit
log, exports it as CSV, and switches the app to English and back."""

from __future__ import annotations

import pytest

from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_an_administrator_creates_a_user_and_reads_the_audit_log(site: Site, chromium: object) -> None:
    site.add_user("admin", "admin")
    page = site.log_in(chromium, "admin")
    page.get_by_role("link", name="Utilisateurs").click()

    site.expect(r"/api/v1/users$")
    form = page.locator("#user-form")
    form.get_by_label("Identifiant").fill("agent-voirie")
    form.get_by_label("Rôle").select_option(label="Rédacteur communal")
    page.get_by_role("button", name="Créer l’utilisateur").click()
    commune = form.get_by_label("Commune (code INSEE)")
    page.locator("#error-commune").wait_for()
    assert commune.get_attribute("aria-invalid") == "true"
    assert form.get_by_label("Identifiant").input_value() == "agent-voirie"
    site.shot(page, "1-missing-commune-named")
    site.expected.clear()

    commune.fill("01004")
    page.get_by_role("button", name="Créer l’utilisateur").click()
    page.get_by_text("Utilisateur « agent-voirie » créé.").wait_for()
    row = page.locator('#users tr[data-user="agent-voirie"]')
    row.get_by_text("Rédacteur communal").wait_for()
    row.get_by_text("Ambérieu-en-Bugey (01004)").wait_for()  # the commune by its name, its code beside
    # The commune's organisation is named after the commune, not « Commune 01004 ».
    page.locator("#organisations tbody tr", has_text="Ambérieu-en-Bugey").wait_for()
    assert "Commune 01004" not in page.locator("#organisations").inner_text()
    site.shot(page, "2-user-created")

    page.get_by_role("link", name="Journal").click()
    page.get_by_label("Action").fill("user.create")
    page.get_by_role("button", name="Filtrer").click()
    entry = page.locator("#audit tbody tr", has_text="user.create")
    entry.wait_for()
    assert page.locator("#audit tbody tr").count() == 1
    assert "utilisateur agent-voirie" in entry.inner_text()  # the user's name, not « user 8 »
    entry.locator("summary").click()
    entry.get_by_text("agent-voirie").first.wait_for()
    site.shot(page, "3-audit-log-filtered")

    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter en CSV").click()
    csv = download.value.path().read_text(encoding="utf-8-sig")
    assert "user.create" in csv and "agent-voirie" in csv
    assert download.value.suggested_filename == "journal-audit.csv"

    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="Audit log").wait_for()
    page.get_by_role("link", name="Users").wait_for()
    page.locator("#audit tbody tr").first.wait_for()
    site.shot(page, "4-in-english")
    page.get_by_role("link", name="Français").click()
    page.get_by_role("heading", name="Journal des modifications").wait_for()
