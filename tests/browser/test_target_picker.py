"""Choosing targets at the scale of a department, with the picker the message and alert forms share: the
prefecture sends to « tout le département », then to two communes found by search, seeing each time how
many panels and communes it reaches before sending, editing restores the choice, and the alert form
counts the same way; a commune's user sees its own panels only, and « aucun » is refused under the
picker, in French."""

from __future__ import annotations

import re

import pytest

from controller.domain.panels import register_panel
from controller.storage.db import transaction
from controller.web.context import get_db
from tests.support import DEMO_LED, DEMO_RGB, wait_for
from tests.support.browser import Site

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Twenty communes of the Ain, each with 12 panels here, beside the demo's three (Bourg-en-Bresse and
# Ambérieu-en-Bugey): 243 panels in 22 communes.
COMMUNES = [
    ("01034", "Belley"), ("01283", "Oyonnax"), ("01173", "Gex"), ("01033", "Valserhône"),
    ("01249", "Miribel"), ("01427", "Trévoux"), ("01262", "Montluel"), ("01093", "Châtillon-sur-Chalaronne"),
    ("01269", "Nantua"), ("01305", "Pont-de-Vaux"), ("01143", "Divonne-les-Bains"),
    ("01160", "Ferney-Voltaire"), ("01354", "Saint-Genis-Pouilly"), ("01202", "Lagnieu"),
    ("01244", "Meximieux"), ("01185", "Hauteville-Lompnes"), ("01194", "Jassans-Riottier"),
    ("01451", "Viriat"), ("01289", "Péronnas"), ("01238", "Marboz"),
]  # fmt: skip
PER_COMMUNE = 12


def register_department(site: Site) -> None:
    """Set-up, not the user's job: panels in the database, half LED, half e-paper, without agents."""
    with site.live.app.app_context():
        db = get_db()
        with transaction(db):
            for insee, name in COMMUNES:
                for number in range(1, PER_COMMUNE + 1):
                    register_panel(
                        db,
                        {
                            "id": f"p{insee}-{number:02d}",
                            "name": f"{name} — panneau {number}",
                            "commune_insee": insee,
                            "commune_name": name,
                            "profile": "led-amber-192x64" if number % 2 else "epaper-bw-800x480",
                        },
                    )


def count_text(page: object) -> str:
    """The count under the picker, its thousands' and other spaces written plainly."""
    text = page.locator("#targets-count").inner_text()  # type: ignore[attr-defined]
    return re.sub(r"[\u00a0\u202f]", " ", text)


def wait_for_count(page: object, expected: str) -> None:
    """The server's count under the picker says ``expected``, as soon as it has counted."""
    try:
        wait_for(lambda: count_text(page) == expected, f"the count « {expected} »")
    except AssertionError:
        raise AssertionError(f"the count says « {count_text(page)} », not « {expected} »") from None


def send(site: Site, page: object, message_id: int, panels: int) -> dict:
    """Click « Programmer », see the message queued on that many panels; its targets as the API keeps them."""
    page.get_by_role("button", name="Programmer", exact=True).click()  # type: ignore[attr-defined]
    done = page.locator("#message-form .status.ok")  # type: ignore[attr-defined]
    done.get_by_text(f"Message n° {message_id} programmé sur {panels} panneau(x).").wait_for()
    return site.live.client.get(f"/api/v1/messages/{message_id}").json["targets"]


def test_the_prefecture_sends_to_the_department_then_to_two_communes_found_by_search(
    site: Site, chromium: object
) -> None:
    register_department(site)
    site.add_user("admin", "admin")
    page = site.log_in(chromium, "admin")
    page.get_by_role("link", name="Messages").click()
    picker = page.locator("#targets")
    wait_for_count(page, "Aucun panneau choisi.")
    assert picker.locator("input:checked").count() == 0, "nothing goes to the department by default"
    assert picker.locator("input[type=checkbox]").count() < 40, "never a box per panel"

    page.get_by_label("Texte du message").fill("Vigilance orange canicule : buvez de l’eau")
    page.get_by_label("Tout le département (01)").check()
    wait_for_count(page, "243 panneaux dans 22 communes (122 LED, 121 e-paper)")
    site.shot(page, "1-the-whole-department-counted")
    assert send(site, page, 1, 243)["departments"] == ["01"]
    page.locator('#messages tr[data-message="1"]').get_by_text("243 panneaux").wait_for()  # not 243 names
    wait_for_count(page, "Aucun panneau choisi.")  # the next message starts from nothing again

    search = page.get_by_label("Rechercher une commune (nom ou code INSEE)")
    search.fill("trevoux")
    page.get_by_label("Trévoux (01427)").check()
    search.fill("01093")
    assert picker.get_by_label("Trévoux (01427)").is_checked(), "a ticked commune stays in sight"
    page.get_by_label("Châtillon-sur-Chalaronne (01093)").check()
    page.get_by_label("Texte du message").fill("Marché de Noël samedi")
    wait_for_count(page, "24 panneaux dans 2 communes (12 LED, 12 e-paper)")
    site.shot(page, "2-two-communes-found-by-search")
    targets = send(site, page, 2, 24)
    assert (targets["communes"], targets["departments"]) == (["01093", "01427"], [])

    page.locator('#messages tr[data-message="2"]').get_by_role("button", name="Modifier").click()
    page.get_by_role("heading", name="Modifier le message n° 2").wait_for()
    wait_for_count(page, "24 panneaux dans 2 communes (12 LED, 12 e-paper)")
    ticked = picker.locator("input:checked")
    assert sorted(ticked.evaluate_all("boxes => boxes.map(box => box.value)")) == ["01093", "01427"]
    page.get_by_label("Rechercher un panneau (nom ou commune)").fill("peronnas")  # found by the server
    page.get_by_label("Péronnas — panneau 10").check()
    wait_for_count(page, "25 panneaux dans 3 communes (12 LED, 13 e-paper)")
    site.shot(page, "3-editing-restores-the-communes-and-adds-a-panel")

    # The alert form: the same picker, by department, commune or tag, never panel by panel.
    page.get_by_role("link", name="Alerte", exact=True).click()
    wait_for_count(page, "Aucun panneau choisi.")
    assert not picker.locator('[data-kind="panels"]').count()
    page.get_by_label("Rechercher une commune (nom ou code INSEE)").fill("gex")
    page.get_by_label("Gex (01173)").check()
    wait_for_count(page, "12 panneaux dans 1 commune (6 LED, 6 e-paper)")
    page.get_by_label("Tout le département (01)").check()
    wait_for_count(page, "243 panneaux dans 22 communes (122 LED, 121 e-paper)")
    site.shot(page, "4-an-alert-to-the-department")


def test_a_commune_user_sees_its_own_panels_and_must_choose_one(site: Site, chromium: object) -> None:
    register_department(site)
    site.add_user("mairie-bourg", "commune-editor", "01053")
    page = site.log_in(chromium, "mairie-bourg")
    picker = page.locator("#targets")
    wait_for_count(page, "2 panneaux dans 1 commune")  # all its panels, as a commune's form starts
    assert sorted(
        picker.locator('input[name="panels"]').evaluate_all("boxes => boxes.map(b => b.value)")
    ) == [
        DEMO_LED["id"],
        DEMO_RGB["id"],
    ]
    assert picker.locator('input[name="communes"]').evaluate_all("boxes => boxes.map(b => b.value)") == [
        "01053"
    ]
    assert not page.get_by_label("Tout le département (01)").count()

    page.get_by_label("Texte du message").fill("Collecte des encombrants jeudi")
    picker.get_by_role("button", name="aucun : Panneaux").click()
    wait_for_count(page, "Aucun panneau choisi.")
    site.expect(r"/api/v1/messages$")  # refused, in the page's language, under the picker
    page.get_by_role("button", name="Programmer", exact=True).click()
    picker.locator(".field-error").get_by_text(
        "Choisissez au moins une cible : panneaux, étiquettes, communes ou départements."
    ).wait_for()
    assert picker.get_attribute("aria-invalid") == "true"
    site.shot(page, "1-no-panel-refused-under-the-picker")

    picker.get_by_label(DEMO_RGB["name"]).check()
    assert not picker.locator(".field-error").count(), "the error is gone once the choice is fixed"
    wait_for_count(page, "1 panneau dans 1 commune")
    page.get_by_role("button", name="Programmer", exact=True).click()
    page.locator("#message-form .status.ok").get_by_text("programmé sur 1 panneau(x)").wait_for()
    assert site.live.client.get("/api/v1/messages/1").json["targets"]["panels"] == [DEMO_RGB["id"]]
