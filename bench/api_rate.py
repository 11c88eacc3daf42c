"""Messages queued per second through the API with a department of 1,000 panels registered.

Run: ``.venv/bin/python bench/api_rate.py``. The controller's Flask app through its test client, on a
real SQLite file, without a broker (the outbox keeps what it signs): ``POST /api/v1/messages`` to one
commune (about 15 panels: render, check conflicts, sign and store each reached panel's new schedule)
and to the whole department (1,000 schedules signed and stored per message). Prints the machine and
the rates.
"""

from __future__ import annotations

import time
from pathlib import Path

from fleet_setup import machine, scratch_dir

from controller import create_app, shutdown_app
from controller.domain.accounts import token_for
from controller.web import context
from controller.web.context import get_db
from programs.department import COMMUNES, register_fleet

PANELS = 1000
COMMUNE_MESSAGES = 60
DEPARTMENT_MESSAGES = 5


def rate(client: object, bodies: list[dict]) -> float:
    start = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/messages", json=body)  # type: ignore[attr-defined]
        assert response.status_code == 201, response.json
    return len(bodies) / (time.perf_counter() - start)


def main() -> None:
    print(machine())
    with scratch_dir() as scratch:
        app = create_app({"DATA_DIR": Path(scratch) / "data", "TESTING": True})
        try:
            with app.app_context():
                register_fleet(get_db(), context.signing_key(), PANELS)
                token = token_for(get_db(), "bench")
            client = app.test_client()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            commune = rate(
                client,
                [
                    {
                        "text": f"Réunion publique n° {n} mardi à 19 h en mairie",
                        "communes": [COMMUNES[n % 60]],
                    }
                    for n in range(COMMUNE_MESSAGES)
                ],
            )
            department = rate(
                client,
                [
                    {"text": f"Vigilance orange n° {n} : orages en soirée", "departments": ["01"]}
                    for n in range(DEPARTMENT_MESSAGES)
                ],
            )
        finally:
            shutdown_app(app)
    print(f"{PANELS} panels registered, 4 profiles, {len(COMMUNES)} communes")
    print(
        f"  to one commune (~{PANELS // len(COMMUNES)} panels):  {commune:.1f} messages/s ({COMMUNE_MESSAGES} messages)"
    )
    print(
        f"  to the whole department:    {department:.2f} messages/s ({DEPARTMENT_MESSAGES} messages, {PANELS} schedules each)"
    )


if __name__ == "__main__":
    main()
