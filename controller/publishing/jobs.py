"""APScheduler only triggers work; what to do is decided by pure functions elsewhere."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.dates import PARIS
from controller.publishing import outbox
from controller.publishing.link import MqttLink
from controller.publishing.official_feeds import FeedContext, SourcePoller, clock_tick
from controller.publishing.reports import events_cutoff, prune_events
from controller.publishing.schedules import HORIZON, draw_ahead, republish
from controller.storage.db import connect

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 3600
PRUNE_EVENTS_EVERY_S = 3600
# How often the official alert sources are looked at: each is polled when its own interval (60 s by
# default) or its backoff says, and approvals' timeouts and alerts' ends are within this of their time.
OFFICIAL_ALERTS_EVERY_S = 5


@dataclass(frozen=True)
class JobContext:
    """What the jobs need of the running controller: its database, key and link, and how long events
    are kept. No Flask here: the web layer builds it (``create_app``), tests too."""

    database: Path
    key: Ed25519PrivateKey
    link: MqttLink | None
    events_kept_days: int
    sources: SourcePoller = field(default_factory=SourcePoller)

    @property
    def feeds(self) -> FeedContext:
        return FeedContext(self.database, self.key, None if self.link is None else self.link.flush)


def refresh_job(context: JobContext) -> None:
    """Give a fresh 48-hour horizon to panels whose signed schedule has less than a day left.

    Panels rotate through window boundaries on their own; the controller only re-signs ahead of
    the horizon, and for panels registered without a schedule yet.
    """
    db = connect(context.database)
    try:
        now = time.time()
        stale = outbox.expiring(db, before=now + HORIZON.total_seconds() / 2)
        stale += [
            row[0]
            for row in db.execute("select id from panels where id not in (select panel_id from desired)")
        ]
        if stale:
            draw_ahead(db, stale, now)  # at start-up nothing is drawn yet: not under the write lock
            republish(db, context.key, now=now, panel_ids=stale)
            log.info("signed a fresh 48-hour schedule for %d panel(s)", len(stale))
    finally:
        db.close()
    if stale and context.link is not None:
        context.link.flush()


def prune_events_job(context: JobContext) -> None:
    """Delete the panel events received more than ``events_kept_days`` ago, a bounded batch at a time."""
    db = connect(context.database)
    try:
        deleted = prune_events(db, events_cutoff(time.time(), context.events_kept_days))
    finally:
        db.close()
    if deleted:
        log.info("deleted %d panel events older than %d days", deleted, context.events_kept_days)


def official_alerts_job(context: JobContext) -> None:
    """Start polling the sources that are due (each on its own thread: this returns at once), then
    what time alone decides: approvals timed out, alerts expired, phases changed."""
    context.sources.poll_due(context.feeds)
    clock_tick(context.feeds)


def start_scheduler(context: JobContext) -> BackgroundScheduler:
    """The first run happens at once: horizons may have shortened while the controller was down."""
    scheduler = BackgroundScheduler(timezone=PARIS)
    scheduler.add_job(
        refresh_job,
        "interval",
        seconds=REFRESH_EVERY_S,
        args=[context],
        id="refresh",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        prune_events_job, "interval", seconds=PRUNE_EVENTS_EVERY_S, args=[context], id="prune-events"
    )
    scheduler.add_job(
        official_alerts_job,
        "interval",
        seconds=OFFICIAL_ALERTS_EVERY_S,
        args=[context],
        id="official-alerts",
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
