"""Scheduling end to end on the real broker: an alert pre-empts a campaign on every panel and every
panel confirms; the campaign's proof-of-play report matches what the panels really showed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from controller.rendering.engine import MessageContent, render
from controller.rendering.profiles import get_profile
from panel_agent.agent import PanelAgent
from panel_agent.backends.simulated import SimulatedBackend
from panel_agent.config import load_config
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, first_page, same_pixels, wait_for
from tests.support.live import Live

pytestmark = pytest.mark.e2e
PARIS = ZoneInfo("Europe/Paris")
PANELS = (DEMO_LED, DEMO_RGB, DEMO_EPAPER)


def launch_campaign(live: Live, text: str, share: float = 0.5) -> tuple[int, dict]:
    now = datetime.now(PARIS)
    campaign = live.client.post(
        "/api/v1/campaigns",
        json={
            "name": "Sécurité routière — fêtes de fin d'année",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=10)).isoformat(),
            "share": share,
            "departments": ["01"],
        },
    ).json
    for commune in ("01053", "01004"):
        live.client.post(
            f"/api/v1/campaigns/{campaign['id']}/answers", json={"commune": commune, "status": "accepted"}
        )
    message = live.client.post(
        "/api/v1/messages", json={"text": text, "departments": ["01"], "campaign": campaign["id"]}
    ).json
    assert live.client.post(f"/api/v1/campaigns/{campaign['id']}/launch").status_code == 200
    return campaign["id"], message


def alert_page(text: str, profile_id: str) -> Image.Image:
    content = MessageContent(body=text, title="ALERTE", layout="alert", role="emergency")
    return render(content, get_profile(profile_id)).pages[0].frame.image()


def test_an_alert_preempts_a_campaign_everywhere_and_every_panel_confirms(live: Live) -> None:
    for spec in PANELS:
        live.start_agent(spec["id"])
    campaign_text = "Au volant, zéro alcool"
    launch_campaign(live, campaign_text)
    for spec in PANELS:
        expected = first_page(campaign_text, spec["profile"])
        wait_for(
            lambda spec=spec, e=expected: same_pixels(live.screen(spec["id"]), e), f"campaign on {spec['id']}"
        )

    alert_text = "Crue de la Reyssouze : évitez les berges"
    expires = (datetime.now(PARIS) + timedelta(minutes=30)).isoformat()
    alert = live.client.post(
        "/api/v1/alerts", json={"text": alert_text, "departments": ["01"], "expires_at": expires}
    ).json
    for spec in PANELS:
        expected = alert_page(alert_text, spec["profile"])
        wait_for(
            lambda spec=spec, e=expected: same_pixels(live.screen(spec["id"]), e), f"alert on {spec['id']}"
        )
    status = wait_for(
        lambda: (s := live.client.get(f"/api/v1/alerts/{alert['id']}").json)["confirmed"] == 3 and s,
        "every panel confirms the alert",
    )
    assert status["targeted"] == 3
    assert all(panel["confirmed_at"] for panel in status["panels"])

    live.client.delete(f"/api/v1/alerts/{alert['id']}")
    for spec in PANELS:
        expected = first_page(campaign_text, spec["profile"])
        wait_for(
            lambda spec=spec, e=expected: same_pixels(live.screen(spec["id"]), e), f"back on {spec['id']}"
        )


class RecordingBackend(SimulatedBackend):
    """The simulated panel, keeping the list of frames it was given: what passers-by really saw."""

    def __init__(self, settings: dict, *, panel_id: str) -> None:
        super().__init__(settings, panel_id=panel_id)
        self.shown: list[bytes] = []

    def display(self, image: Image.Image) -> None:
        super().display(image)
        self.shown.append(image.convert("RGB").tobytes())


def test_the_campaign_report_matches_what_the_panels_showed(live: Live, tmp_path: Path) -> None:
    campaign_text = "Attachez votre ceinture"
    commune_text = "Marché de Noël samedi"
    live.post(commune_text, ["bourg-entree-nord", "bourg-place-bernard"])
    campaign_id, _ = launch_campaign(live, campaign_text, share=0.5)
    agents = {}
    for spec in (DEMO_LED, DEMO_RGB):
        config = load_config(live.config_path(spec["id"]))
        backend = RecordingBackend(config.backend_settings, panel_id=spec["id"])
        agents[spec["id"]] = PanelAgent(config, backend=backend)
        agents[spec["id"]].start()
    campaign_frames = {
        spec["id"]: first_page(campaign_text, spec["profile"]).convert("RGB").tobytes()
        for spec in (DEMO_LED, DEMO_RGB)
    }

    def campaign_showings(panel_id: str) -> int:
        return sum(1 for frame in agents[panel_id].backend.shown if frame == campaign_frames[panel_id])

    wait_for(
        lambda: all(campaign_showings(panel_id) >= 2 for panel_id in agents), "two campaign showings", 60
    )
    for agent in agents.values():
        agent.stop()
    shown = {panel_id: campaign_showings(panel_id) for panel_id in agents}

    def report_matches() -> bool:
        report = live.client.get(f"/api/v1/campaigns/{campaign_id}/report").json
        return {panel["panel"]: panel["displays"] for panel in report["panels"]} == shown

    wait_for(report_matches, f"the report counts what the panels showed: {shown}")
    report = live.client.get(f"/api/v1/campaigns/{campaign_id}/report").json
    assert report["totals"]["communes"] == 1 and report["totals"]["hours_on_air"] > 0
