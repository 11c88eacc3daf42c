"""The APScheduler job: new panels get a schedule, and horizons are renewed before they run out."""

from __future__ import annotations

from flask import Flask

from controller.publishing.jobs import refresh_job
from controller.web.context import get_db


def seqs(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {row["panel_id"]: row["seq"] for row in get_db().query("select panel_id, seq from desired")}


def test_panels_without_a_schedule_get_one_and_fresh_ones_are_left_alone(app: Flask) -> None:
    assert seqs(app) == {}
    refresh_job(app.extensions["relais.jobs"])
    first = seqs(app)
    assert set(first) == {"bourg-entree-nord", "amberieu-mairie"}
    refresh_job(app.extensions["relais.jobs"])
    assert seqs(app) == first  # a whole horizon left: nothing re-signed


def test_a_schedule_with_less_than_a_day_left_is_renewed(app: Flask) -> None:
    refresh_job(app.extensions["relais.jobs"])
    first = seqs(app)
    with app.app_context():
        db = get_db()
        db.execute(
            "update desired set expires_at = expires_at - 30 * 3600 where panel_id = 'amberieu-mairie'"
        )
        db.conn.commit()
    refresh_job(app.extensions["relais.jobs"])
    renewed = seqs(app)
    assert renewed["amberieu-mairie"] > first["amberieu-mairie"]
    assert renewed["bourg-entree-nord"] == first["bourg-entree-nord"]
