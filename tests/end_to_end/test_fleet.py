"""A department on one machine: simulated panels, each a real agent with its own connection, in more than
one fleet process; the broker's own connection count proves they are all there. A thousand panels and
more: tests/end_to_end/test_chaos_fleet.py (a thousand real agents reconnecting after a broker restart),
tests/browser/test_department_roles.py (a controller of 1,000 panels); descriptors past 1,024 in one
process: tests/relais/test_netloop.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from panel_agent.fleet import DEFAULT_PROFILES
from programs.department import COMMUNES
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import wait_for
from tests.support.department import department

pytestmark = [pytest.mark.e2e, pytest.mark.fleet]
# Two fleet processes (250 panels at most in each), two pages of the API's list (200 a page), every
# commune with every profile (65 communes and 4 profiles dealt out in turn): 260 panels and more.
PANELS = 300


@pytest.mark.timeout(120)
def test_a_department_of_300_panels_comes_online_and_shows_what_is_queued(
    own_broker: MosquittoBroker, tmp_path: Path
) -> None:
    with department(own_broker, tmp_path, PANELS) as ain:
        assert len(ain.fleet.pids) == 2  # 150 panels a process
        wait_for(lambda: own_broker.client_connections() == PANELS + 1, "300 panels and the controller")
        statuses = ain.statuses()
        assert len(statuses) == PANELS
        # Each commune's name drawn on each kind of panel: every panel shows its commune first.
        assert {(s["commune"]["insee"], s["profile"]) for s in statuses} == {
            (commune, profile) for commune in COMMUNES for profile in DEFAULT_PROFILES
        }
        assert all(s["showing"]["item_id"] == f"commune-{s['commune']['insee']}" for s in statuses)

        text = "Vigilance orange neige et verglas"
        response = ain.client.post("/api/v1/messages", json={"text": text, "departments": ["01"]})
        assert response.status_code == 201, response.json
        assert len(response.json["panels"]) == PANELS
        item_id = response.json["item_id"]
        ain.wait_all("every panel applies the message", lambda s: s["up_to_date"] and s["published"])
        ain.wait_all("every panel reports it on air", lambda s: s["showing"]["item_id"] == item_id)
        ain.wait_screens(text)
        assert own_broker.client_connections() == PANELS + 1
