"""A commune editor logs in, writes a message, sees the real preview, queues it, and sees the panel change."""

from __future__ import annotations

import re
import time

import pytest

from controller.web.context import get_db
from relais.wire import EVENT_ON_AIR, PanelEvent
from tests.support import DEMO_LED, first_page, record_report, same_pixels, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TEXT = "Marché de Noël « place Bernard » samedi 14 h"


def test_an_editor_queues_a_message_and_sees_the_panel_change(site: Site, chromium: object) -> None:
    site.add_user("mairie-bourg", "commune-editor", "01053")
    site.live.start_agent(DEMO_LED["id"])
    wait_for(lambda: site.live.panel(DEMO_LED["id"])["online"], "the agent is online", 30)

    page = site.log_in(chromium, "mairie-bourg")
    page.get_by_role("heading", name="Programmer un message").wait_for()
    site.shot(page, "1-editor-empty-form")
    assert page.get_by_text("Ambérieu-en-Bugey — mairie").count() == 0, "another commune's panel is offered"

    page.get_by_label("Texte du message").fill(TEXT)
    preview = page.locator(f'#previews figure[data-panel="{DEMO_LED["id"]}"] img')
    preview.wait_for()
    assert (
        "1 page, " in page.locator(f'#previews figure[data-panel="{DEMO_LED["id"]}"] figcaption').inner_text()
    )
    site.shot(page, "2-editor-preview")

    page.get_by_role("button", name="Programmer", exact=True).click()
    done = page.locator("#message-form .status.ok")
    done.wait_for()
    message_id = re.search(r"Message n° (\d+)", done.inner_text()).group(1)
    page.locator(f'#messages tr[data-message="{message_id}"]').get_by_text(TEXT).wait_for()
    site.shot(page, "3-editor-queued")

    expected = first_page(TEXT, DEMO_LED["profile"])
    wait_for(
        lambda: same_pixels(site.live.screen(DEMO_LED["id"]), expected), "the simulated panel shows it", 20
    )
    page.get_by_role("link", name="Parc").click()
    row = page.locator(f'tr[data-panel="{DEMO_LED["id"]}"]')
    # What is on air reads as the message's text; the item id the panel reported stays in a tooltip
    # for technicians.
    row.locator(".on-air", has_text=TEXT).wait_for()
    row.locator(f'.reported[title="msg-{message_id}"]').wait_for()
    row.locator("img.shot").wait_for()
    site.shot(page, "4-editor-panel-shows-it")
    row.get_by_role("link", name=DEMO_LED["name"]).click()
    page.locator("#on-air", has_text=TEXT).wait_for()
    # The agent batches its on-air reports for up to a minute: here it reports at once.
    with site.live.app.app_context():
        now = int(time.time())
        on_air_event = PanelEvent(
            DEMO_LED["id"], EVENT_ON_AIR, now, {"item_id": f"msg-{message_id}", "at": now}
        )
        record_report(get_db(), on_air_event, now)
    on_air = page.locator("#history tbody tr", has_text="à l’antenne").first
    on_air.get_by_text(TEXT).wait_for()
    words = on_air.inner_text().replace("\u00a0", " ")
    assert re.search(r"depuis : \w+ \d+(er)? \w+ 20\d\d, \d+ h", words), words
    assert not re.search(r"\b\d{10}\b|[0-9a-f]{64}", page.locator("#history").inner_text())
    site.shot(page, "5-editor-panel-page-says-what-is-on-air")
