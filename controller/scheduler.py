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

log = logging.getLogger(__name__)

RESEAL_EVERY_S = 3600


def reseal_job(app: Flask) -> None:
    """Re-sign desired states in their last half-life, then hand them to the broker."""
    ttl_s = app.config["DESIRED_TTL_S"]
    db = connect(Path(app.config["DATABASE"]))
    try:
        resealed = outbox.reseal_expiring(
            db, app.extensions["relais.signing_key"], now=time.time(), ttl_s=ttl_s, margin_s=ttl_s // 2
        )
    finally:
        db.close()
    if resealed:
        log.info("re-signed the desired state of %d panel(s)", len(resealed))
        link = app.extensions.get("relais.mqtt_link")
        if link is not None:
            link.flush()


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """The first run happens at once: states may have aged while the controller was down."""
    scheduler = BackgroundScheduler(timezone="Europe/Paris")
    scheduler.add_job(
        reseal_job,
        "interval",
        seconds=RESEAL_EVERY_S,
        args=[app],
        id="reseal",
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
