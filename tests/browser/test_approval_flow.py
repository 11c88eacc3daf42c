"""An organisation asks for a second person: the administrator says so, the editor queues a message that
waits « en attente de validation » and reaches no panel; the approver approves it; the panel shows it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.support import DEMO_LED, DEMO_RGB, first_page, on_panel, same_pixels, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TEXT = "Vide-grenier dimanche place Bernard"


def test_a_message_waits_for_the_approver_then_reaches_the_panel(site: Site, chromium: object) -> None:
    site.add_user("admin", "admin")
    site.add_user("mairie-bourg", "commune-editor", "01053")
    site.add_user("valideur-bourg", "commune-approver", "01053")
    site.live.start_agent(DEMO_LED["id"])

    admin = site.log_in(chromium, "admin")
    admin.get_by_role("link", name="Utilisateurs").click()
    admin.get_by_label("Bourg-en-Bresse · Messages : validation requise").check()  # the commune by its name
    admin.locator("#orgs-status").get_by_text("Enregistré.").wait_for()
    site.shot(admin, "1-admin-asks-for-a-second-person")

    editor = site.log_in(chromium, "mairie-bourg")
    editor.get_by_label("Texte du message").fill(TEXT)
    editor.get_by_label("Jusqu’au").fill(f"{date.today() + timedelta(days=10)}T18:30")
    editor.get_by_label("Heures (facultatif)").fill("00:00-24:00")
    editor.get_by_label(DEMO_RGB["name"]).uncheck()
    editor.get_by_role("button", name="Programmer", exact=True).click()
    done = editor.locator("#message-form .status.ok")
    done.get_by_text("en attente de validation").wait_for()
    message_id = re.search(r"Message n° (\d+)", done.inner_text()).group(1)
    row = editor.locator(f'#messages tr[data-message="{message_id}"]')
    row.get_by_text("en attente de validation").wait_for()
    assert (
        row.locator(".runs").inner_text().replace("\u00a0", " ").endswith(" · de 0 h à 24 h · tous les jours")
    )
    site.shot(editor, "2-editor-message-waits")
    assert TEXT not in on_panel(site.live.app, DEMO_LED["id"]), "a message waiting for approval is on air"

    approver = site.log_in(chromium, "valideur-bourg", phone=True)
    card = approver.locator(f'form[data-message="{message_id}"]')
    card.get_by_text(TEXT).wait_for()
    # The approver sees when it would run: its dates, its hours and its days, in words.
    runs = card.locator(".runs").inner_text().replace("\u00a0", " ")
    assert re.fullmatch(
        r"du \w+ \d+(er)? \w+ 20\d\d, \d+ h( \d\d)? au \w+ \d+(er)? \w+ 20\d\d, 18 h 30"
        r" · de 0 h à 24 h · tous les jours",
        runs,
    ), runs
    card.get_by_role("img", name=f"Aperçu sur {DEMO_LED['name']}").wait_for()
    site.shot(approver, "3-approver-sees-the-preview")
    card.get_by_role("button", name="Valider").click()
    approver.get_by_text(f"Message n° {message_id} validé").wait_for()
    approver.get_by_text("Rien à valider.").wait_for()
    site.shot(approver, "4-approver-approved")

    expected = first_page(TEXT, DEMO_LED["profile"])
    wait_for(lambda: same_pixels(site.live.screen(DEMO_LED["id"]), expected), "the panel shows it", 30)
    editor.reload()
    row.get_by_text("à l’antenne").wait_for()
    site.shot(editor, "5-editor-sees-it-on-air")
