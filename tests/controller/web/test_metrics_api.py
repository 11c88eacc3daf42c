"""/metrics: who may scrape it, what each request leaves (route, status, request id), and labels kept
bounded; the figures against real agents are in ``tests/end_to_end/test_metrics.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from controller import create_app, shutdown_app
from controller.publishing.metrics import fleet_families
from tests.support import DEMO_LED, REPO, client_as


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_an_administrators_token_reads_the_metrics_others_are_refused(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert families(response.get_data(as_text=True))["relais_panels"].samples[0].value == 2

    anonymous = app.test_client().get("/metrics", headers={"Accept-Language": "en"})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert "a valid token is required" in anonymous.json["error"]["message"]
    wrong = app.test_client().get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    technician = client_as(app, "tech", "technician").get("/metrics")
    assert technician.status_code == 403
    assert "metrics.view" in technician.json["error"]["message"]


@pytest.mark.parametrize(
    ("config", "headers", "status"),
    [
        ({"METRICS_TOKEN": "s3cret-scrape"}, {"Authorization": "Bearer s3cret-scrape"}, 200),
        ({"METRICS_TOKEN": "s3cret-scrape"}, {"Authorization": "Bearer s3cret-scrap"}, 401),
        ({"METRICS_TOKEN": "s3cret-scrape"}, {"Authorization": "Bearer é"}, 401),
        ({"METRICS_ALLOW": ["127.0.0.0/8"]}, {}, 200),
        ({"METRICS_ALLOW": ["10.0.0.0/8", "::1"]}, {}, 401),
    ],
)
def test_a_configured_bearer_or_address_allow_list_lets_a_scraper_in(
    tmp_path: Path, config: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    app = create_app({"DATA_DIR": tmp_path, "TESTING": True, **config})
    try:
        assert app.test_client().get("/metrics", headers=headers).status_code == status
    finally:
        shutdown_app(app)


def test_a_wrong_allow_list_entry_stops_the_controller_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape("METRICS_ALLOW: '10.0.0/33'")):
        create_app({"DATA_DIR": tmp_path, "TESTING": True, "METRICS_ALLOW": ["10.0.0/33"]})


def test_requests_are_counted_by_route_template_and_status_with_an_id(client: FlaskClient) -> None:
    first = client.get(f"/api/v1/panels/{DEMO_LED['id']}")
    assert first.status_code == 200
    assert len(first.headers["X-Request-Id"]) == 32
    assert client.get("/api/v1/panels/nowhere").status_code == 404
    assert client.get("/nulle/part").status_code == 404
    kept = client.get("/api/v1/panels", headers={"X-Request-Id": "proxy-42.a"})
    assert kept.headers["X-Request-Id"] == "proxy-42.a"
    replaced = client.get("/api/v1/panels", headers={"X-Request-Id": "<script>"})
    assert replaced.headers["X-Request-Id"] != "<script>"

    http = families(client.get("/metrics").get_data(as_text=True))["relais_http_request_duration_seconds"]
    counts = {
        (sample.labels["route"], sample.labels["method"], sample.labels["status"]): sample.value
        for sample in http.samples
        if sample.name.endswith("_count")
    }
    assert counts[("/api/v1/panels/<panel_id>", "GET", "200")] == 1
    assert counts[("/api/v1/panels/<panel_id>", "GET", "404")] == 1
    assert counts[("/api/v1/panels", "GET", "200")] == 2
    assert counts[("unmatched", "GET", "404")] == 1  # not one series per path tried


def _panel(number: int, online: bool = True) -> dict[str, Any]:
    return {
        "id": f"p{number}",
        "commune": {"insee": "01053"},
        "online": online,
        "up_to_date": number % 2 == 0,
        "faults": ["display"] if number == 3 else [],
        "cpu_temp_c": 40.0 + number,
        "disk_free_mb": 100 + number,
        "link_quality": None,
        "uptime_s": 60 * number,
    }


def test_agent_health_per_panel_only_up_to_the_limit_then_aggregated() -> None:
    fleet = [_panel(number) for number in range(1, 6)] + [_panel(6, online=False)]
    small = {family.name: family for family in fleet_families(fleet, per_panel_limit=6)}
    assert [
        family.samples[0].value
        for family in (small[name] for name in ("relais_panels", "relais_panels_online"))
    ] == [6, 5]
    assert small["relais_panels_offline"].samples[0].value == 1
    assert small["relais_panels_up_to_date"].samples[0].value == 3
    assert small["relais_panels_faulty"].samples[0].value == 1
    temperatures = {s.labels["panel"]: s.value for s in small["relais_panel_cpu_temperature_celsius"].samples}
    assert temperatures == {f"p{n}": 40.0 + n for n in range(1, 6)}  # the offline panel's is stale
    assert {s.labels["stat"]: s.value for s in small["relais_fleet_disk_free_bytes"].samples} == {
        "min": 101 * 1024 * 1024,
        "max": 105 * 1024 * 1024,
        "mean": 103 * 1024 * 1024,
    }
    assert small["relais_fleet_link_quality_percent"].samples == []

    large = {family.name: family for family in fleet_families(fleet, per_panel_limit=5)}
    assert not [name for name in large if name.startswith("relais_panel_")]
    assert {s.labels["stat"]: s.value for s in large["relais_fleet_uptime_seconds"].samples}["max"] == 300


def test_the_grafana_dashboard_asks_only_for_metrics_the_controller_gives(client: FlaskClient) -> None:
    dashboard = json.loads((REPO / "deploy" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    asked = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"relais_[a-z_]+", target["expr"])
    }
    client.get("/api/v1/panels")  # the HTTP histogram has a series once a request was made
    given = set(families(client.get("/metrics").get_data(as_text=True)))
    assert asked and asked <= given, asked - given
