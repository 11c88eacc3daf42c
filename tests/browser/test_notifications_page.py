"""A technician sets up notifications from the Notifications page: the organisation's delays and mail
server, a subscription by e-mail for their commune (a wrong address refused next to its field); when a
panel's agent dies, the e-mail arrives and the page's log shows it sent."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from controller.publishing.notifier import Notifier
from controller.storage.db import transaction
from controller.web.context import broker_watch, get_db
from tests.support import DEMO_LED, DEMO_RGB, wait_for
from tests.support.browser import Site
from tests.support.mail import smtp_server
from tests.support.webhooks import LOOPBACK

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_a_technician_subscribes_and_reads_what_was_sent(
    site: Site, chromium: object, tmp_path: Path
) -> None:
    live = site.live
    for panel_id in (DEMO_LED["id"], DEMO_RGB["id"]):  # Bourg-en-Bresse's two panels
        live.start_agent(panel_id)
    site.add_user("technicienne", "technician")
    with smtp_server(tmp_path / "mail") as mailbox:
        notifier = Notifier(
            Path(live.app.config["DATABASE"]),
            lambda: broker_watch(live.app.extensions["relais.mqtt_link"]),
            site.url,
            every_s=0.2,
            ca_file=str(mailbox.ca_file),
            destinations=LOOPBACK,
        )
        notifier.start()
        try:
            page = site.log_in(chromium, "technicienne")
            page.get_by_role("link", name="Notifications").click()  # type: ignore[attr-defined]

            conditions = page.locator("#conditions-form")  # type: ignore[attr-defined]
            wait_for(
                lambda: conditions.get_by_label("Hors ligne depuis (minutes)").input_value() == "15",
                "defaults",
            )
            conditions.get_by_label("Hors ligne depuis (minutes)").fill("5")
            conditions.get_by_label("Serveur", exact=True).fill("127.0.0.1")
            conditions.get_by_label("Port").fill(str(mailbox.port))
            conditions.get_by_label("Identifiant").fill(mailbox.smtp["username"])
            conditions.get_by_label("Mot de passe").fill(mailbox.smtp["password"])
            conditions.get_by_label("Expéditeur").fill("relais@prefecture.example")
            conditions.get_by_role("button", name="Enregistrer").click()
            conditions.get_by_text("Enregistré.").wait_for()
            assert (
                conditions.get_by_label("Mot de passe").get_attribute("placeholder")
                == "inchangé (laisser vide)"
            )

            subscription = page.locator("#subscription-form")  # type: ignore[attr-defined]
            site.expect(r"/api/v1/notifications/subscriptions$")
            subscription.get_by_label("Adresse (courriel ou URL du webhook)").fill("technicienne-bourg")
            subscription.get_by_role("button", name="S’abonner").click()
            refusal = subscription.locator(".field-error")
            refusal.wait_for()
            assert "n’est pas une adresse électronique" in refusal.inner_text()
            subscription.get_by_label("Adresse (courriel ou URL du webhook)").fill("tech@bourg.example")
            subscription.get_by_label("Communes (codes INSEE séparés par des virgules ; vide : toutes)").fill(
                "01053"
            )
            subscription.get_by_label("Panne terminée").uncheck()
            subscription.get_by_role("button", name="S’abonner").click()
            row = page.locator('#subscriptions tr[data-subscription="tech@bourg.example"]')  # type: ignore[attr-defined]
            row.wait_for()
            assert "01053" in row.inner_text() and "Panne terminée" not in row.inner_text()
            site.shot(page, "1-subscribed")
            site.assert_accessible(page, "notifications, technician")

            page.reload()  # type: ignore[attr-defined]
            wait_for(
                lambda: conditions.get_by_label("Hors ligne depuis (minutes)").input_value() == "5", "kept"
            )
            # Five minutes are long for a test: the organisation's delay becomes two seconds behind the page.
            with live.app.app_context():
                db = get_db()
                with transaction(db):
                    db.execute(
                        "update notification_settings set conditions = json_set(conditions, '$.offline_after_s', 2)"
                    )
            time.sleep(1)  # the notifier has seen both panels online
            live.agents.pop(DEMO_LED["id"]).kill()
            (mail,) = wait_for(mailbox.received, "the offline e-mail", timeout=20)
            assert DEMO_LED["name"] in mail["Subject"]

            page.reload()  # type: ignore[attr-defined]
            log = page.locator("#notification-log tbody tr").first  # type: ignore[attr-defined]
            log.wait_for()
            assert "Panneau hors ligne" in log.inner_text() and "envoyée" in log.inner_text()
            assert "tech@bourg.example" in log.inner_text()
            site.shot(page, "2-sent")
        finally:
            notifier.stop()
