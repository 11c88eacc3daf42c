"""A commune editor on the keyboard: a wrong field is named and what was typed stays; the message is queued
with the keyboard alone; the panel's week shows it; an edit, a pause and a resume each change the panel."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.support import DEMO_LED, DEMO_RGB, first_page, on_panel, same_pixels, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TEXT = "Collecte des encombrants jeudi"
EDITED = "Collecte des encombrants vendredi"
# Where the keyboard is, and whether it is drawn: the focus ring the style sheet gives :focus-visible.
FOCUS = """() => ({ id: document.activeElement.id, text: document.activeElement.textContent.trim(),
  outline: getComputedStyle(document.activeElement).outlineStyle })"""


def _shows(site: Site, text: str) -> bool:
    return same_pixels(site.live.screen(DEMO_LED["id"]), first_page(text, DEMO_LED["profile"]))


def test_an_editor_edits_pauses_and_resumes_a_message(site: Site, chromium: object) -> None:
    site.add_user("mairie-bourg", "commune-editor", "01053")
    site.live.start_agent(DEMO_LED["id"])
    page = site.log_in(chromium, "mairie-bourg")

    # A date in the past: the API names the field, the page says so next to it and keeps the text.
    site.expect(r"/api/v1/messages$")
    page.get_by_label("Texte du message").fill(TEXT)
    page.get_by_label(DEMO_RGB["name"]).uncheck()
    yesterday = datetime.now() - timedelta(days=1)
    page.get_by_label("Jusqu’au").fill(yesterday.strftime("%Y-%m-%dT18:00"))
    page.get_by_role("button", name="Programmer", exact=True).click()
    error = page.locator("#ends_at").locator("xpath=..").locator(".field-error")
    error.get_by_text("La fin est déjà passée : le message ne serait jamais affiché.").wait_for()
    assert page.locator("#ends_at").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Texte du message").input_value() == TEXT
    site.shot(page, "1-wrong-date-named-and-text-kept")
    site.expected.clear()

    # The keyboard alone reaches the button, with a visible focus ring, and queues the message.
    page.get_by_label("Jusqu’au").fill("")
    page.get_by_label("Texte du message").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused["id"] == "submit":
            break
    assert focused == {"id": "submit", "text": "Programmer", "outline": "solid"}, focused
    site.shot(page, "2-keyboard-on-the-button")
    page.keyboard.press("Enter")
    done = page.locator("#message-form .status.ok")
    done.wait_for()
    message_id = re.search(r"Message n° (\d+)", done.inner_text()).group(1)
    row = page.locator(f'#messages tr[data-message="{message_id}"]')
    wait_for(lambda: _shows(site, TEXT), "the panel shows the message", 30)

    # The panel's week: tomorrow, all day.
    page.get_by_label("Panneau", exact=True).select_option(label=DEMO_LED["name"])
    page.locator("#week li").get_by_text(f"toute la journée : {TEXT}").first.wait_for()
    site.shot(page, "3-queued-and-in-the-week")

    # Edit: the form takes the message, the change reaches the panel.
    row.get_by_role("button", name="Modifier").click()
    page.get_by_role("heading", name=f"Modifier le message n° {message_id}").wait_for()
    assert page.get_by_label("Texte du message").input_value() == TEXT
    page.get_by_label("Texte du message").fill(EDITED)
    page.get_by_role("button", name="Enregistrer les modifications").click()
    done.get_by_text(f"Message n° {message_id} modifié.").wait_for()
    row.get_by_text(EDITED).wait_for()
    wait_for(lambda: _shows(site, EDITED), "the panel shows the edited message", 30)
    site.shot(page, "4-edited-on-the-panel")

    # Pause: off the panel and out of its week; resume: back.
    row.get_by_role("button", name="Suspendre").click()
    row.get_by_text("suspendu").wait_for()
    wait_for(lambda: EDITED not in on_panel(site.live.app, DEMO_LED["id"]), "the paused message is off")
    wait_for(lambda: not _shows(site, EDITED), "the panel no longer shows it", 30)
    page.locator("#week").get_by_text(EDITED).first.wait_for(state="detached")
    site.shot(page, "5-paused-off-the-panel")
    row.get_by_role("button", name="Reprendre").click()
    row.get_by_text("à l’antenne").wait_for()
    wait_for(lambda: _shows(site, EDITED), "the panel shows it again", 30)
    site.shot(page, "6-resumed-on-the-panel")
