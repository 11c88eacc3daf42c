"""What the controller tells a Prometheus server: the fleet as the API counts it, the outbox, the link to
the broker, the database, alerts' confirmations, official alert sources' health and what agents report
of their health.

Everything on the controller's own registry (``prometheus_client.CollectorRegistry``), never the
library's global one, so two apps in one process (the tests) count apart. Figures read from the
database are read at each scrape (``FleetCollector``): they hold after a restart. Labels stay bounded:
a label per panel only up to ``PER_PANEL_LIMIT`` panels, past that only the fleet's aggregates.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlite_utils import Database

from controller.domain.panels import CONNECTED, BrokerWatch, panel_statuses
from controller.storage.db import connect

# Fleets up to this size get a series per panel for agent health; larger ones only the aggregates, so a
# department of thousands of panels does not cost its Prometheus thousands of series per figure.
PER_PANEL_LIMIT = 200
PUBACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONFIRMATION_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
# Agent health: (column of the API's panel, metric name, help, factor to the metric's unit).
HEALTH = (
    ("cpu_temp_c", "cpu_temperature_celsius", "The board's temperature, as the agent last reported it.", 1),
    ("disk_free_mb", "disk_free_bytes", "Free space where the agent keeps its schedule.", 1024 * 1024),
    ("link_quality", "link_quality_percent", "Wi-Fi link quality, where the board has Wi-Fi.", 1),
    ("uptime_s", "uptime_seconds", "Time since the agent started, as last reported.", 1),
)


@dataclass(frozen=True)
class LinkInstruments:
    """What the MQTT link counts as it goes: each state's time from publish to the broker's PUBACK, and
    the reports (states, events) panels send, as they are read (a batch the database refused, read again
    at its retry, counts again)."""

    puback_seconds: Histogram
    reports: Counter

    @classmethod
    def on(cls, registry: CollectorRegistry) -> LinkInstruments:
        return cls(
            Histogram(
                "relais_publish_puback_seconds",
                "Time from publishing a panel's desired state to the broker's PUBACK.",
                buckets=PUBACK_BUCKETS,
                registry=registry,
            ),
            Counter(
                "relais_panel_reports",
                "Reports received from panels, by kind (state, event).",
                ["kind"],
                registry=registry,
            ),
        )


def fleet_families(
    panels: Sequence[dict[str, Any]], per_panel_limit: int = PER_PANEL_LIMIT
) -> Iterator[Metric]:
    """Panels by state, counted as ``/api/v1/panels`` shows them, and their agents' health: per panel up
    to ``per_panel_limit`` panels, and always the fleet's extremes and mean over online panels."""
    online = [panel for panel in panels if panel["online"]]
    for name, help_text, count in (
        ("relais_panels", "Registered panels.", len(panels)),
        ("relais_panels_online", "Panels online.", len(online)),
        ("relais_panels_offline", "Panels offline.", len(panels) - len(online)),
        ("relais_panels_up_to_date", "Panels following their latest schedule.", _count(panels, "up_to_date")),
        ("relais_panels_faulty", "Panels reporting at least one fault.", _count(panels, "faults")),
    ):
        yield GaugeMetricFamily(name, help_text, value=count)
    per_panel = len(panels) <= per_panel_limit
    for column, name, help_text, factor in HEALTH:
        values = [(panel, panel[column] * factor) for panel in online if panel[column] is not None]
        if per_panel:
            family = GaugeMetricFamily(f"relais_panel_{name}", help_text, labels=["panel", "commune"])
            for panel, value in values:
                family.add_metric([panel["id"], panel["commune"]["insee"]], value)
            yield family
        fleet = GaugeMetricFamily(
            f"relais_fleet_{name}", f"{help_text} Over online panels: min, max, mean.", labels=["stat"]
        )
        figures = [value for _, value in values]
        if figures:
            fleet.add_metric(["min"], min(figures))
            fleet.add_metric(["max"], max(figures))
            fleet.add_metric(["mean"], sum(figures) / len(figures))
        yield fleet


def _count(panels: Iterable[dict[str, Any]], key: str) -> int:
    return sum(1 for panel in panels if panel[key])


def outbox_families(db: Database, now: float) -> Iterator[Metric]:
    pending, oldest = db.execute(
        "select count(*), min(issued_at) from desired where published_at is null"
    ).fetchone()
    yield GaugeMetricFamily(
        "relais_outbox_pending", "Desired states the broker has not acknowledged yet.", value=pending
    )
    yield GaugeMetricFamily(
        "relais_outbox_oldest_pending_age_seconds",
        "Age of the oldest desired state not acknowledged yet; 0 when none waits.",
        value=0 if oldest is None else max(0.0, now - oldest),
    )


def confirmation_family(db: Database, buckets: Sequence[float] = CONFIRMATION_BUCKETS) -> Metric:
    """Each panel's time from an alert going on air (its start, or its approval if later) to the panel
    saying it shows it: every confirmation on record, counted by SQLite."""
    delay = (
        "max(0, ap.confirmed_at - max(a.starts_at, coalesce(a.approved_at, a.created_at)))"  # never negative
    )
    counts = ", ".join(f"sum({delay} <= ?)" for _ in buckets)
    row = db.execute(
        f"select count(*), coalesce(sum({delay}), 0), {counts} from alert_panels ap"
        " join alerts a on a.id = ap.alert_id where ap.confirmed_at is not null",
        list(buckets),
    ).fetchone()
    total, seconds, cumulative = row[0], row[1], [value or 0 for value in row[2:]]
    return HistogramMetricFamily(
        "relais_alert_confirmation_seconds",
        "Time from an alert going on air to each targeted panel confirming it shows it.",
        buckets=[
            *((repr(bound), count) for bound, count in zip(buckets, cumulative, strict=True)),
            ("+Inf", total),
        ],
        sum_value=seconds,
    )


def notification_families(db: Database) -> Iterator[Metric]:
    """Notifications delivered and failed since the start of the log, and those waiting for a digest."""
    counts = dict(db.execute("select result, count(*) from notification_log group by result").fetchall())
    delivered = CounterMetricFamily(
        "relais_notifications", "Notifications (e-mails, webhook calls) by result.", labels=["result"]
    )
    for result in ("sent", "failed"):
        delivered.add_metric([result], counts.get(result, 0))
    yield delivered
    yield GaugeMetricFamily(
        "relais_notifications_queued",
        "Notifications waiting for their daily digest.",
        value=counts.get("queued", 0),
    )


def alert_source_families(db: Database, now: float) -> Iterator[Metric]:
    """Each official alert source's health, labelled by its id (never its URL: bounded, and no secret in
    a query string leaks into the monitoring): whether its last poll worked, its errors in a row, and the
    time since it last worked."""
    rows = list(db.query("select id, failures, last_success_at from alert_sources order by id"))
    up = GaugeMetricFamily(
        "relais_alert_source_up",
        "1 when the official alert source's last poll worked, else 0.",
        labels=["source"],
    )
    failures = GaugeMetricFamily(
        "relais_alert_source_failures",
        "The official alert source's failed polls in a row.",
        labels=["source"],
    )
    since = GaugeMetricFamily(
        "relais_alert_source_last_success_age_seconds",
        "Time since the official alert source was last read without error (absent before its first success).",
        labels=["source"],
    )
    for row in rows:
        source = str(row["id"])
        up.add_metric([source], int(not row["failures"] and row["last_success_at"] is not None))
        failures.add_metric([source], row["failures"] or 0)
        if row["last_success_at"] is not None:
            since.add_metric([source], max(0.0, now - row["last_success_at"]))
    yield from (up, failures, since)


def database_family(database_path: Path) -> Metric:
    size = sum(
        os.path.getsize(part) for part in (database_path, Path(f"{database_path}-wal")) if part.exists()
    )
    return GaugeMetricFamily(
        "relais_database_bytes", "The SQLite database's size, its WAL included.", value=size
    )


def link_families(watch: BrokerWatch | None, now: float) -> Iterator[Metric]:
    """1 while connected to the broker; how long it has not been, else (0 while connected)."""
    connected = watch is not None and watch.connected
    yield GaugeMetricFamily(
        "relais_mqtt_connected", "1 while connected to the broker, else 0.", value=int(connected)
    )
    since = None if watch is None else watch.since
    yield GaugeMetricFamily(
        "relais_mqtt_disconnected_seconds",
        "Time since the link to the broker went down (or the controller started unconnected); 0 while up.",
        value=0 if connected or since is None else max(0.0, now - since),
    )


class FleetCollector(Collector):
    """The figures read at each scrape, on a connection of its own (the scrape's thread)."""

    def __init__(
        self,
        database_path: Path,
        watch: Callable[[], BrokerWatch | None],
        per_panel_limit: int = PER_PANEL_LIMIT,
    ) -> None:
        """``watch`` answers whether the link to the broker is up now, None when there is no broker."""
        self._database_path = database_path
        self._watch = watch
        self._per_panel_limit = per_panel_limit

    def collect(self) -> Iterator[Metric]:
        now, watch = time.time(), self._watch()
        db = connect(self._database_path)
        try:
            yield from fleet_families(panel_statuses(db, watch=watch or CONNECTED), self._per_panel_limit)
            yield from outbox_families(db, now)
            yield confirmation_family(db)
            yield from notification_families(db)
            yield from alert_source_families(db, now)
        finally:
            db.close()
        yield database_family(self._database_path)
        yield from link_families(watch, now)
