"""A commune editor adds a webhook for their website from the Webhooks page (a wrong address refused next
to its field), copies its secret into the receiver, and sees the deliveries of their commune's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.publishing.public_hooks import PublicHooks
from tests.support import client_as, wait_for
from tests.support.browser import Site
from tests.support.webhooks import LOOPBACK, webhook_receiver

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_a_commune_editor_adds_a_webhook_and_sees_its_deliveries(site: Site, chromium: object) -> None:
    live = site.live
    site.add_user("mairie-bourg", "commune-editor", "01053")
    hooks = PublicHooks(Path(live.app.config["DATABASE"]), site.url, every_s=0.2, destinations=LOOPBACK)
    hooks.start()
    try:
        with webhook_receiver() as receiver:
            page = site.log_in(chromium, "mairie-bourg")
            page.get_by_role("link", name="Webhooks").click()  # type: ignore[attr-defined]
            form = page.locator("#webhook-form")  # type: ignore[attr-defined]
            assert "Commune\u00a0: 01053" in form.inner_text()

            site.expect(r"/api/v1/webhooks$")
            form.get_by_label("Adresse du récepteur (URL)").fill("mairie-bourg.example/relais")
            form.get_by_role("button", name="Ajouter le webhook").click()
            refusal = form.locator(".field-error")
            refusal.wait_for()
            assert "http:// ou https://" in refusal.inner_text()

            form.get_by_label("Adresse du récepteur (URL)").fill(receiver.url)
            form.get_by_label("Alerte commencée").uncheck()
            form.get_by_role("button", name="Ajouter le webhook").click()
            secret = page.locator("#webhook-secret code")  # type: ignore[attr-defined]
            secret.wait_for()
            receiver.trust(receiver.url, secret.inner_text())
            row = page.locator(f'#webhooks tr[data-webhook="{receiver.url}"]')  # type: ignore[attr-defined]
            row.wait_for()
            assert "Message publié" in row.inner_text() and "Alerte commencée" not in row.inner_text()
            site.shot(page, "1-added")
            site.assert_accessible(page, "webhooks, commune editor")

            editor = client_as(live.app, "mairie-bourg", "commune-editor", "01053")
            queued = editor.post(
                "/api/v1/messages", json={"text": "Marché de Noël samedi", "communes": ["01053"]}
            )
            assert queued.status_code == 201, queued.json
            wait_for(lambda: receiver.bodies, "the signed delivery")
            assert receiver.bodies[0]["event"] == "message.published"

            delivery = page.locator("#deliveries tbody tr").first  # type: ignore[attr-defined]
            wait_for(
                lambda: "Marché de Noël samedi" in delivery.inner_text(), "the delivery shown", timeout=20
            )
            assert "Message publié" in delivery.inner_text() and "envoyé" in delivery.inner_text()
            site.shot(page, "2-delivered")
    finally:
        hooks.stop()
