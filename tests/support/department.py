"""A simulated department for fleet and chaos tests: a controller on its own broker, ``sim-`` panels
registered in it, and their real agents in a few fleet processes (``panel_agent.fleet``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.domain.accounts import token_for
from controller.domain.panels import Panel
from controller.web import context
from controller.web.context import get_db
from panel_agent.fleet import FleetSim
from programs.department import register_fleet, sim_panels
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import first_page, same_pixels, wait_for


@dataclass
class Department:
    client: FlaskClient
    panels: list[Panel]
    fleet: FleetSim
    broker: MosquittoBroker

    def statuses(self) -> list[dict]:
        """Every panel, page after page, as a script reading the API would."""
        found: list[dict] = []
        while True:
            page = self.client.get(f"/api/v1/panels?limit=200&offset={len(found)}").json
            found += page["panels"]
            if len(found) >= page["total"] or not page["panels"]:
                return found

    def wait_all(self, what: str, check: object, timeout: float = 60) -> list[dict]:
        """Until ``check(status)`` holds for every panel the controller lists."""
        return wait_for(
            lambda: (statuses := self.statuses()) and all(check(s) for s in statuses) and statuses,  # type: ignore[operator]
            what,
            timeout,
            interval=0.5,
        )

    def wrong_screens(self, text: str) -> list[str]:
        """Panels whose screen is not the first page of ``text`` as rendered for their profile."""
        expected = {profile: first_page(text, profile) for profile in {p.profile_id for p in self.panels}}
        return [p.id for p in self.panels if not same_pixels(self.fleet.screen(p.id), expected[p.profile_id])]

    def wait_screens(self, text: str, timeout: float = 60) -> None:
        wait_for(lambda: not self.wrong_screens(text), f"every panel shows « {text} »", timeout, interval=0.5)


@contextmanager
def department(
    broker: MosquittoBroker, tmp_path: Path, count: int, *, light: bool = False, **config: Any
) -> Iterator[Department]:
    """``count`` panels online and each showing its first schedule (its commune's name); ``light``:
    ``LightPanel``s, which draw no screen; ``config`` adds to the app's."""
    app = create_app({"DATA_DIR": tmp_path / "data", "BROKER_URL": broker.url, "TESTING": True, **config})
    try:
        with app.app_context():
            panels = register_fleet(get_db(), context.signing_key(), count)
            token = token_for(get_db(), "fleet-tests")
            public_key = wire.public_key_to_text(context.signing_key().public_key())
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        fleet = FleetSim(
            sim_panels(panels),
            broker_url=broker.url,
            public_key_text=public_key,
            work_dir=tmp_path / "fleet",
            light=light,
        )
        with fleet:
            running = Department(client, panels, fleet, broker)
            running.wait_all("every panel online and up to date", lambda s: s["online"] and s["up_to_date"])
            yield running
    finally:
        shutdown_app(app)
