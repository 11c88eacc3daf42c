"""APScheduler only triggers work; what to do is decided by pure functions elsewhere."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from controller import outbox
from controller.db import connect
from controller.publishing import HORIZON, draw_ahead, republish
from controller.status import events_cutoff, prune_events

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 3600
PRUNE_EVENTS_EVERY_S = 3600


def refresh_job(app: Flask) -> None:
    """Give a fresh 48-hour horizon to panels whose signed schedule has less than a day left.

    Panels rotate through window boundaries on their own; the controller only re-signs ahead of
    the horizon, and for panels registered without a schedule yet.
    """
    db = connect(Path(app.config["DATABASE"]))
    try:
        now = time.time()
        stale = outbox.expiring(db, before=now + HORIZON.total_seconds() / 2)
        stale += [
            row[0]
            for row in db.execute("select id from panels where id not in (select panel_id from desired)")
        ]
        if stale:
            draw_ahead(db, stale, now)  # at start-up nothing is drawn yet: not under the write lock
            republish(db, app.extensions["relais.signing_key"], now=now, panel_ids=stale)
            log.info("signed a fresh 48-hour schedule for %d panel(s)", len(stale))
    finally:
        db.close()
    link = app.extensions.get("relais.mqtt_link")
    if stale and link is not None:
        link.flush()


def prune_events_job(app: Flask) -> None:
    """Delete the panel events received more than EVENTS_KEPT_DAYS ago, a bounded batch at a time."""
    db = connect(Path(app.config["DATABASE"]))
    try:
        deleted = prune_events(db, events_cutoff(time.time(), app.config["EVENTS_KEPT_DAYS"]))
    finally:
        db.close()
    if deleted:
        log.info("deleted %d panel events older than %d days", deleted, app.config["EVENTS_KEPT_DAYS"])


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """The first run happens at once: horizons may have shortened while the controller was down."""
    scheduler = BackgroundScheduler(timezone="Europe/Paris")
    scheduler.add_job(
        refresh_job,
        "interval",
        seconds=REFRESH_EVERY_S,
        args=[app],
        id="refresh",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        prune_events_job, "interval", seconds=PRUNE_EVENTS_EVERY_S, args=[app], id="prune-events"
    )
    scheduler.start()
    return scheduler
