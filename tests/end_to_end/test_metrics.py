"""/metrics on a real controller with real agents: it parses with the Prometheus client's own parser, and
its figures are those the API gives."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from relais.signals import end_processes
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, wait_for
from tests.support.live import Live

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def scrape(live: Live) -> dict[str, list[Any]]:
    response = live.client.get("/metrics")
    assert response.status_code == 200
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    (sample,) = [s for s in samples[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    return sample.value


def test_the_metrics_count_the_fleet_as_the_api_does(live_mosquitto: Live) -> None:
    live = live_mosquitto
    running = [DEMO_LED["id"], DEMO_EPAPER["id"]]
    for panel_id in running:
        live.start_agent(panel_id)
    live.post("Marché du jeudi", running)
    wait_for(
        lambda: all(live.panel(p)["online"] and live.panel(p)["up_to_date"] for p in running),
        "both panels online and following their schedule",
        timeout=30,
    )
    end_processes([live.agents.pop(DEMO_EPAPER["id"])], 10)
    wait_for(lambda: not live.panel(DEMO_EPAPER["id"])["online"], "the e-paper panel recorded offline")

    samples = scrape(live)
    panels = live.client.get("/api/v1/panels?limit=200").json
    online = live.client.get("/api/v1/panels?online=1").json["total"]
    assert value(samples, "relais_panels") == panels["total"] == 3
    assert value(samples, "relais_panels_online") == online == 1
    assert value(samples, "relais_panels_offline") == live.client.get("/api/v1/panels?online=0").json["total"]
    assert value(samples, "relais_panels_up_to_date") == sum(p["up_to_date"] for p in panels["panels"])
    assert value(samples, "relais_panels_faulty") == sum(bool(p["faults"]) for p in panels["panels"])
    assert value(samples, "relais_outbox_pending") == sum(not p["published"] for p in panels["panels"])
    assert value(samples, "relais_mqtt_connected") == 1
    assert value(samples, "relais_mqtt_disconnected_seconds") == 0
    assert value(samples, "relais_database_bytes") > 0

    # Health per panel (three panels, under the limit), online panels only, as the API tells it.
    led = live.panel(DEMO_LED["id"])
    assert value(samples, "relais_panel_uptime_seconds", panel=DEMO_LED["id"]) == led["uptime_s"]
    assert not [s for s in samples["relais_panel_uptime_seconds"] if s.labels["panel"] != DEMO_LED["id"]]
    if led["disk_free_mb"] is not None:
        assert (
            value(samples, "relais_panel_disk_free_bytes", panel=DEMO_LED["id"])
            == led["disk_free_mb"] * 2**20
        )

    # What the link counted: each running panel's state came in, each schedule was acknowledged.
    assert value(samples, "relais_panel_reports_total", kind="state") >= 3
    assert value(samples, "relais_publish_puback_seconds_count") >= len(running)
    assert DEMO_RGB["id"] not in {s.labels.get("panel") for s in samples["relais_panel_uptime_seconds"]}
    # Each wait above asked the API for a panel: counted under the route's template, not its path.
    asked = value(samples, "relais_http_request_duration_seconds_count", route="/api/v1/panels/<panel_id>")
    assert asked >= 2
