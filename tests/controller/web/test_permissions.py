"""Every role against every route of the API, with another commune's ids too: one table of expected statuses.

Each row is a request; its columns are the status each role gets. A route added to a blueprint of controller/web/api/
without a row here fails ``test_every_api_route_is_in_the_table``. Requests that change something get
fresh objects, so that one role's change does not decide another role's answer.
"""

from __future__ import annotations

import string
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from controller import create_app, shutdown_app
from controller.domain import accounts, alerts, campaigns, official_alerts
from controller.domain.access import Actor, Role
from controller.domain.panels import register_panel
from controller.publishing.queueing import queue_message
from controller.storage.db import transaction
from controller.web.context import get_db, signing_key
from relais import wire
from relais.brokers.mosquitto import MosquittoBroker
from tests.support import DEMO_EPAPER, DEMO_LED, DEMO_RGB, picture_png, record_report, wait_for
from tests.support.cap_feeds import document

ROLES = ("admin", "campaign-manager", "commune-editor", "commune-approver", "technician", "viewer")
USERS = {  # role: (user name, commune, organisation)
    "admin": ("admin", None, None),
    "campaign-manager": ("prefecture", None, "prefecture-ain"),
    "commune-editor": ("mairie-bourg", "01053", None),
    "commune-approver": ("valideur-bourg", "01053", None),
    "technician": ("technicien", None, None),
    "viewer": ("lecteur", None, None),
    # The authors of another commune's message and of the prefecture's alerts.
    "other-commune-editor": ("mairie-amberieu", "01004", None),
    "other-campaign-manager": ("prefecture-2", None, "prefecture-ain"),
}
# Bourg-en-Bresse (01053) is the commune users' own; Ambérieu-en-Bugey (01004) is another commune.
OWN, OTHER = "bourg-entree-nord", "amberieu-mairie"


def soon(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _only(status: int, *roles: str, others: int = 403) -> dict[str, int]:
    return {role: status if role in roles else others for role in ROLES}


def _but(base: dict[str, int], **changes: int) -> dict[str, int]:
    return {**base, **{role.replace("_", "-"): status for role, status in changes.items()}}


ALL = _everyone(200)
CONTENT = _but(ALL, technician=403)  # message content: everyone but the technician
OTHER_COMMUNE = _but(ALL, commune_editor=404, commune_approver=404)
OTHER_CONTENT = _but(CONTENT, commune_editor=404, commune_approver=404)
EDITORS = _only(200, "admin", "commune-editor", "commune-approver")
MANAGERS = _only(200, "admin", "campaign-manager")
FOREIGN = _but(MANAGERS, campaign_manager=404)  # another organisation's: not even seen
FEED_URL = "http://127.0.0.1:9/feeds/meteoalarm-legacy-atom-france"
RULE = {
    "name": "Crues",
    "match": {"events": ["crue"]},
    "targets": {"alert_area": True},
    "deployment": {"mode": "approval", "priority": "emergency"},
    "wording": {"led": "{headline}"},
}


def _new_panel(role: str) -> dict[str, Any]:
    return {"id": f"oyonnax-{role}", "name": "Oyonnax", "commune_insee": "01283", "profile": "led-red-96x16"}


# (method, route as in the url map, path with {objects}, body, expected status per role)
TABLE: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("GET", "/panels", "/panels", None, ALL),
    ("POST", "/panels", "/panels", _new_panel, _only(201, "admin")),
    ("GET", "/panels/<panel_id>", f"/panels/{OWN}", None, ALL),
    ("GET", "/panels/<panel_id>", f"/panels/{OTHER}", None, OTHER_COMMUNE),
    ("GET", "/panels/<panel_id>/screenshot.png", f"/panels/{OWN}/screenshot.png", None, ALL),
    ("GET", "/panels/<panel_id>/screenshot.png", f"/panels/{OTHER}/screenshot.png", None, OTHER_COMMUNE),
    # Without its ?frame=: 400 to whoever may see the panel (tests/controller/publishing/test_on_air.py has the picture).
    ("GET", "/panels/<panel_id>/on-air.png", f"/panels/{OWN}/on-air.png", None, _everyone(400)),
    ("GET", "/panels/<panel_id>/on-air.png", f"/panels/{OTHER}/on-air.png", None,
     _but(_everyone(400), commune_editor=404, commune_approver=404)),
    ("GET", "/panels/<panel_id>/history", f"/panels/{OWN}/history", None, ALL),
    ("GET", "/panels/<panel_id>/history", f"/panels/{OTHER}/history", None, OTHER_COMMUNE),
    ("GET", "/panels/<panel_id>/commands", f"/panels/{OWN}/commands", None, ALL),
    ("GET", "/panels/<panel_id>/commands", f"/panels/{OTHER}/commands", None, OTHER_COMMUNE),
    ("POST", "/panels/<panel_id>/commands", f"/panels/{OWN}/commands", {"command": "refresh"},
     _only(202, "admin", "technician")),
    ("POST", "/panels/<panel_id>/commands", f"/panels/{OTHER}/commands", {"command": "refresh"},
     _only(202, "admin", "technician")),
    ("GET", "/panels/<panel_id>/playlist", f"/panels/{OWN}/playlist", None, ALL),
    ("GET", "/panels/<panel_id>/playlist", f"/panels/{OTHER}/playlist", None, OTHER_COMMUNE),
    ("GET", "/panels/<panel_id>/timeline", f"/panels/{OWN}/timeline?days=2", None, ALL),
    ("GET", "/panels/<panel_id>/timeline", f"/panels/{OTHER}/timeline?days=2", None, OTHER_COMMUNE),
    ("GET", "/messages", "/messages", None, CONTENT),
    ("POST", "/messages", "/messages", {"text": "Marché", "panels": [OWN]}, _but(EDITORS, admin=201,
     commune_editor=201, commune_approver=201)),
    ("POST", "/messages", "/messages", {"text": "Marché", "communes": ["01004"]}, _only(201, "admin")),
    ("POST", "/messages", "/messages", {"text": "Marché", "panels": [OTHER]},
     _but(_only(201, "admin"), commune_editor=422, commune_approver=422)),
    ("GET", "/messages/<int:message_id>", "/messages/{own_message}", None, CONTENT),
    ("GET", "/messages/<int:message_id>", "/messages/{other_message}", None, OTHER_CONTENT),
    ("PATCH", "/messages/<int:message_id>", "/messages/{own_message}", {"paused": True}, EDITORS),
    ("PATCH", "/messages/<int:message_id>", "/messages/{other_message}", {"paused": True},
     _but(EDITORS, commune_editor=404, commune_approver=404)),
    ("DELETE", "/messages/<int:message_id>", "/messages/{own_message}", None, EDITORS),
    ("DELETE", "/messages/<int:message_id>", "/messages/{other_message}", None,
     _but(EDITORS, commune_editor=404, commune_approver=404)),
    ("POST", "/messages/<int:message_id>/approve", "/messages/{own_message}/approve", None,
     _only(200, "admin", "commune-approver")),
    ("POST", "/messages/<int:message_id>/approve", "/messages/{other_message}/approve", None,
     _but(_only(200, "admin"), commune_approver=404)),
    ("POST", "/messages/<int:message_id>/reject", "/messages/{own_message}/reject", {"reason": "Faute"},
     _only(200, "admin", "commune-approver")),
    ("POST", "/messages/<int:message_id>/reject", "/messages/{other_message}/reject", {"reason": "Faute"},
     _but(_only(200, "admin"), commune_approver=404)),
    ("GET", "/messages/<int:message_id>/preview.png", "/messages/{own_message}/preview.png?panel=" + OWN,
     None, CONTENT),
    ("GET", "/messages/<int:message_id>/preview.png", "/messages/{other_message}/preview.png?panel=" + OTHER,
     None, OTHER_CONTENT),
    ("GET", "/messages/<int:message_id>/poster.pdf", "/messages/{own_message}/poster.pdf?size=A3", None, CONTENT),
    ("GET", "/messages/<int:message_id>/poster.pdf", "/messages/{other_message}/poster.pdf", None, OTHER_CONTENT),
    ("POST", "/preview.png", "/preview.png", {"text": "Bonjour", "panel": OWN}, ALL),
    ("POST", "/preview.png", "/preview.png", {"text": "Bonjour", "panel": OTHER},
     _but(ALL, commune_editor=422, commune_approver=422)),
    ("GET", "/alerts", "/alerts", None, CONTENT),
    ("POST", "/alerts", "/alerts", lambda _role: {"text": "Crue", "communes": ["01053"], "expires_at": soon(2)},
     _only(201, "admin", "campaign-manager")),
    ("POST", "/alerts", "/alerts?dry_run=1",
     lambda _role: {"text": "Crue", "communes": ["01053"], "expires_at": soon(2)}, MANAGERS),
    ("GET", "/alerts/<int:alert_id>", "/alerts/{own_alert}", None, CONTENT),
    ("GET", "/alerts/<int:alert_id>", "/alerts/{other_alert}", None, OTHER_CONTENT),
    ("GET", "/alerts/<int:alert_id>/panels", "/alerts/{own_alert}/panels", None, CONTENT),
    ("GET", "/alerts/<int:alert_id>/panels", "/alerts/{other_alert}/panels?commune=01004", None, OTHER_CONTENT),
    ("POST", "/alerts/preview.png", "/alerts/preview.png", {"text": "Crue", "profile": "led-amber-192x64"},
     MANAGERS),
    ("DELETE", "/alerts/<int:alert_id>", "/alerts/{own_alert}", None, MANAGERS),
    ("POST", "/alerts/<int:alert_id>/approve", "/alerts/{own_alert}/approve", None, MANAGERS),
    # Another organisation's alert: its own people or an administrator, not any campaign manager.
    ("DELETE", "/alerts/<int:alert_id>", "/alerts/{foreign_alert}", None, _only(200, "admin")),
    ("POST", "/alerts/<int:alert_id>/approve", "/alerts/{foreign_alert}/approve", None, _only(200, "admin")),
    # Official alerts: the sources, rules and documents of an organisation are its campaign managers' and the
    # administrators'; another organisation's are not even seen (404).
    ("GET", "/alert-sources", "/alert-sources", None, MANAGERS),
    ("POST", "/alert-sources", "/alert-sources", {"name": "MeteoAlarm", "kind": "atom", "location": FEED_URL},
     _but(MANAGERS, admin=201, campaign_manager=201)),
    ("GET", "/alert-sources/<int:source_id>", "/alert-sources/{source}", None, MANAGERS),
    ("GET", "/alert-sources/<int:source_id>", "/alert-sources/{foreign_source}", None, FOREIGN),
    ("PATCH", "/alert-sources/<int:source_id>", "/alert-sources/{source}", {"poll_interval_s": 120}, MANAGERS),
    ("PATCH", "/alert-sources/<int:source_id>", "/alert-sources/{foreign_source}", {"poll_interval_s": 120},
     FOREIGN),
    ("DELETE", "/alert-sources/<int:source_id>", "/alert-sources/{source}", None,
     _but(MANAGERS, admin=204, campaign_manager=204)),
    ("DELETE", "/alert-sources/<int:source_id>", "/alert-sources/{foreign_source}", None,
     _but(FOREIGN, admin=204)),
    ("GET", "/alert-rules", "/alert-rules", None, MANAGERS),
    ("POST", "/alert-rules", "/alert-rules", RULE, _but(MANAGERS, admin=201, campaign_manager=201)),
    ("GET", "/alert-rules/<int:rule_id>", "/alert-rules/{rule}", None, MANAGERS),
    ("GET", "/alert-rules/<int:rule_id>", "/alert-rules/{foreign_rule}", None, FOREIGN),
    ("PATCH", "/alert-rules/<int:rule_id>", "/alert-rules/{rule}", {"position": 1}, MANAGERS),
    ("PATCH", "/alert-rules/<int:rule_id>", "/alert-rules/{foreign_rule}", {"position": 1}, FOREIGN),
    ("DELETE", "/alert-rules/<int:rule_id>", "/alert-rules/{rule}", None,
     _but(MANAGERS, admin=204, campaign_manager=204)),
    ("DELETE", "/alert-rules/<int:rule_id>", "/alert-rules/{foreign_rule}", None, _but(FOREIGN, admin=204)),
    ("GET", "/official-alerts", "/official-alerts", None, MANAGERS),
    ("GET", "/official-alerts/<int:official_id>", "/official-alerts/{official}", None, MANAGERS),
    ("GET", "/official-alerts/<int:official_id>", "/official-alerts/{foreign_official}", None, FOREIGN),
    ("POST", "/official-alerts/<int:official_id>/approve", "/official-alerts/{official}/approve", None, MANAGERS),
    ("POST", "/official-alerts/<int:official_id>/approve", "/official-alerts/{foreign_official}/approve", None,
     FOREIGN),
    ("POST", "/official-alerts/<int:official_id>/reject", "/official-alerts/{official}/reject",
     {"reason": "déjà affiché"}, MANAGERS),
    ("POST", "/official-alerts/<int:official_id>/reject", "/official-alerts/{foreign_official}/reject",
     {"reason": "déjà affiché"}, FOREIGN),
    ("GET", "/campaigns", "/campaigns", None, CONTENT),
    ("POST", "/campaigns", "/campaigns",
     lambda _role: {"name": "Sécurité routière", "starts_at": soon(0), "ends_at": soon(240), "share": 0.3,
                    "departments": ["01"], "messages": [{"text": "Zéro alcool au volant"}]},
     _but(MANAGERS, admin=201, campaign_manager=201)),
    ("GET", "/campaigns/<int:campaign_id>", "/campaigns/{campaign}", None, CONTENT),
    ("GET", "/campaigns/<int:campaign_id>", "/campaigns/{other_campaign}", None, OTHER_CONTENT),
    ("POST", "/campaigns/<int:campaign_id>/invitations", "/campaigns/{other_campaign}/invitations",
     {"communes": ["01053"]}, MANAGERS),
    ("POST", "/campaigns/<int:campaign_id>/answers", "/campaigns/{campaign}/answers",
     {"commune": "01053", "status": "accepted"}, EDITORS),
    ("POST", "/campaigns/<int:campaign_id>/answers", "/campaigns/{campaign}/answers",
     {"commune": "01004", "status": "accepted"}, _but(EDITORS, commune_editor=403, commune_approver=403)),
    ("POST", "/campaigns/<int:campaign_id>/<action>", "/campaigns/{campaign}/launch", None, MANAGERS),
    ("POST", "/campaigns/<int:campaign_id>/<action>", "/campaigns/{campaign}/stop", None, MANAGERS),
    ("GET", "/campaigns/<int:campaign_id>/preview.png", f"/campaigns/{{campaign}}/preview.png?panel={OWN}", None,
     CONTENT),
    ("GET", "/campaigns/<int:campaign_id>/preview.png", f"/campaigns/{{campaign}}/preview.png?panel={OTHER}", None,
     OTHER_CONTENT),
    ("GET", "/campaigns/<int:campaign_id>/preview.png", f"/campaigns/{{other_campaign}}/preview.png?panel={OWN}",
     None, OTHER_CONTENT),
    ("GET", "/campaigns/<int:campaign_id>/report", "/campaigns/{campaign}/report", None, CONTENT),
    ("GET", "/campaigns/<int:campaign_id>/report", "/campaigns/{other_campaign}/report", None, OTHER_CONTENT),
    ("GET", "/indicators", "/indicators", None, MANAGERS),
    ("GET", "/indicators", "/indicators?campaign={campaign}&format=csv", None, MANAGERS),
    ("GET", "/profiles", "/profiles", None, ALL),
    ("GET", "/layouts", "/layouts", None, ALL),
    ("GET", "/pictograms", "/pictograms", None, ALL),
    ("GET", "/targets", "/targets", None, ALL),
    ("GET", "/targets/panels", "/targets/panels?search=bourg", None, ALL),
    ("POST", "/targets/resolve", "/targets/resolve", {"panels": [OWN]}, ALL),
    ("POST", "/targets/resolve", "/targets/resolve", {"panels": [OTHER]},
     _but(ALL, commune_editor=422, commune_approver=422)),
    ("POST", "/targets/resolve", "/targets/resolve", {"communes": ["01004"]},
     _but(ALL, commune_editor=403, commune_approver=403)),
]  # fmt: skip


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory, broker: MosquittoBroker
) -> Iterator[tuple[Flask, dict[str, FlaskClient]]]:
    """Three panels (two in 01053, one in 01004), one user per role, and organisations that want a
    second person for their messages (both communes) and alerts (the prefecture); commands go to the
    real broker."""
    base = f"matrix-{uuid.uuid4().hex[:8]}"
    app = create_app(
        {
            "DATA_DIR": Path(tmp_path_factory.mktemp("matrix")) / "data",
            "BROKER_URL": broker.url,
            "TOPIC_BASE": base,
            "MQTT_CLIENT_ID": f"controller-{base}",
            "TESTING": True,
        }
    )
    wait_for(app.extensions["relais.mqtt_link"].connected.is_set, "controller connected to the broker")
    clients = {}
    with app.app_context():
        db = get_db()
        with transaction(db):
            for spec in (DEMO_LED, DEMO_RGB, DEMO_EPAPER):
                register_panel(db, spec)
            for label, (name, commune, org) in USERS.items():
                role = label.removeprefix("other-")
                user_id = accounts.create_user(db, name, role, None, commune, org)
                token = accounts.create_token(db, user_id, "matrix")[1]
                clients[label] = app.test_client()
                clients[label].environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            db.execute("update organisations set messages_need_approval = 1 where commune_insee is not null")
            accounts.ensure_organisation(db, "sdis-ain")
            db.execute(
                "update organisations set alerts_need_approval = 1 where id in ('prefecture-ain', 'sdis-ain')"
            )
            for panel_id in (OWN, OTHER):
                record_report(
                    db,
                    wire.PanelState(panel_id, True, 1, screenshot_png=picture_png((255, 176, 0))),
                    time.time(),
                )
    yield app, clients
    shutdown_app(app)


MAKERS: dict[str, Callable[[Any], int]] = {
    "own_message": lambda db: _message(db, "mairie-bourg", "01053", OWN),
    "other_message": lambda db: _message(db, "mairie-amberieu", "01004", OTHER),
    "own_alert": lambda db: _alert(db, "01053"),
    "other_alert": lambda db: _alert(db, "01004"),
    "foreign_alert": lambda db: _alert(db, "01053", organisation="sdis-ain"),
    "campaign": lambda db: _campaign(db, {"departments": ["01"]}),
    "other_campaign": lambda db: _campaign(db, {"communes": ["01004"]}),
    "source": lambda db: _source(db, "prefecture-ain"),
    "foreign_source": lambda db: _source(db, "sdis-ain"),
    "rule": lambda db: official_alerts.create_rule(db, RULE, _member("prefecture-ain"), time.time()),
    "foreign_rule": lambda db: official_alerts.create_rule(db, RULE, _member("sdis-ain"), time.time()),
    "official": lambda db: _official(db, "prefecture-ain"),
    "foreign_official": lambda db: _official(db, "sdis-ain"),
}


def _member(organisation: str) -> Actor:
    return Actor(0, f"{organisation}-2", Role.CAMPAIGN_MANAGER, organisation)


def _source(db: Any, organisation: str) -> int:
    """An organisation's source: its first brings Météo-France's default rules (approval)."""
    data = {"name": "MeteoAlarm", "kind": "atom", "location": FEED_URL}
    return official_alerts.create_source(db, data, _member(organisation), time.time())


def _official(db: Any, organisation: str) -> int:
    """An orange warning received from the organisation's source, pending approval."""
    source = db.execute("select id from alert_sources where organisation = ?", [organisation]).fetchone()
    source_id = source[0] if source else _source(db, organisation)
    raw = document("meteo-france-orange-snow-ice-ain.xml").replace(
        b"20261207060000.100001", uuid.uuid4().hex.encode()
    )
    row = next(db.query("select * from alert_sources where id = ?", [source_id]))
    official_alerts.record(db, official_alerts.take(db, row, raw, time.time()), time.time())
    return int(db.execute("select max(id) from official_alerts").fetchone()[0])


def _message(db: Any, author: str, commune: str, panel: str) -> int:
    """A message of a commune that wants a second person: it waits for approval."""
    return queue_message(
        db, signing_key(), {"text": "Fête", "panels": [panel]}, created_by=author,
        organisation=f"commune-{commune}", commune_insee=commune,
    ).id  # fmt: skip


def _alert(db: Any, commune: str, organisation: str = "prefecture-ain") -> int:
    """An alert waiting for approval, by a colleague of the campaign manager unless another
    ``organisation`` (the fire service's) sends it."""
    data = {"text": "Crue", "communes": [commune], "expires_at": soon(2)}
    author = "prefecture-2" if organisation == "prefecture-ain" else organisation
    checked = alerts.check_alert(db, data, now=time.time())
    with transaction(db):
        return alerts.record_alert(db, checked, created_by=author, organisation=organisation, now=time.time())


def _campaign(db: Any, targets: dict[str, list[str]]) -> int:
    """A campaign with its message, which the communes invited see drawn on their panels."""
    data = {"name": "Campagne", "starts_at": soon(0), "ends_at": soon(240), "share": 0.3, **targets}
    campaign_id = campaigns.create_campaign(db, data, created_by="admin", now=time.time())
    queue_message(
        db, signing_key(), {"text": "Campagne", "campaign": campaign_id, **targets}, created_by="admin"
    )
    return campaign_id


def _objects(app: Flask, path: str) -> dict[str, int]:
    names = [name for _, name, _, _ in string.Formatter().parse(path) if name]
    with app.app_context():
        db = get_db()
        with transaction(db):
            return {name: MAKERS[name](db) for name in names}


@pytest.fixture(scope="module")
def shared_objects(fleet: tuple[Flask, dict[str, FlaskClient]]) -> dict[str, int]:
    """Objects that reads look at; changes get their own."""
    return _objects(fleet[0], "".join(f"{{{name}}}" for name in MAKERS))


def _row_id(row: tuple[str, str, str, Any, dict[str, int]]) -> str:
    return f"{row[0]} {row[2]}" + (
        " (another commune's)" if "other" in row[2] or OTHER in str(row[3]) else ""
    )


@pytest.mark.parametrize("row", TABLE, ids=[_row_id(row) for row in TABLE])
def test_each_role_gets_the_expected_status(
    fleet: tuple[Flask, dict[str, FlaskClient]],
    shared_objects: dict[str, int],
    row: tuple[str, str, str, Any, dict[str, int]],
) -> None:
    app, clients = fleet
    method, _route, path, body, expected = row
    got = {}
    for role in ROLES:
        objects = shared_objects if method == "GET" else _objects(app, path)
        response = clients[role].open(
            "/api/v1" + path.format(**objects), method=method, json=body(role) if callable(body) else body
        )
        got[role] = response.status_code
        if response.status_code >= 400:
            assert response.is_json and response.json["error"]["message"], (role, response.data[:200])
    assert got == expected


def test_every_api_route_is_in_the_table(fleet: tuple[Flask, dict[str, FlaskClient]]) -> None:
    app, _ = fleet
    routes = {
        (method, rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert routes == {(method, route) for method, route, *_ in TABLE}


def test_commune_users_list_only_their_communes_panels_and_messages(
    fleet: tuple[Flask, dict[str, FlaskClient]], shared_objects: dict[str, int]
) -> None:
    _, clients = fleet
    panels = clients["commune-editor"].get("/api/v1/panels").json
    assert {panel["commune"]["insee"] for panel in panels["panels"]} == {"01053"} and panels["total"] == 2
    assert {"01053", "01004"} <= {
        p["commune"]["insee"] for p in clients["viewer"].get("/api/v1/panels").json["panels"]
    }
    listed = clients["commune-approver"].get("/api/v1/messages?limit=200").json["messages"]
    assert shared_objects["own_message"] in {message["id"] for message in listed}
    assert shared_objects["other_message"] not in {message["id"] for message in listed}
    assert {message["commune"] for message in listed} <= {
        "01053",
        None,
    }  # None: the prefecture's, reaching 01053
    assert {panel for message in listed for panel in message["panels"]} <= {OWN, "bourg-place-bernard"}
    assert shared_objects["other_alert"] not in {
        a["id"] for a in clients["commune-editor"].get("/api/v1/alerts").json["alerts"]
    }
    invited = clients["commune-editor"].get("/api/v1/campaigns").json["campaigns"]
    assert shared_objects["other_campaign"] not in {campaign["id"] for campaign in invited}
    assert all({c["insee"] for c in campaign["communes"]} == {"01053"} for campaign in invited)


def test_commune_users_read_only_their_own_panels_and_commune_among_the_targets(
    fleet: tuple[Flask, dict[str, FlaskClient]],
) -> None:
    """A prefecture's message, alert and campaign naming both communes' panels: a commune user reads its
    own panels, commune and department among the targets, and the tags (which name no commune)."""
    _, clients = fleet
    targets = {
        "panels": [OTHER, OWN],
        "communes": ["01004", "01053"],
        "departments": ["01", "38"],
        "tags": ["entree-de-ville"],
    }
    admin = clients["admin"]
    created = {
        "messages": admin.post("/api/v1/messages", json={"text": "Vigilance orange", **targets}),
        "alerts": admin.post("/api/v1/alerts", json={"text": "Crue", "expires_at": soon(2), **targets}),
        "campaigns": admin.post(
            "/api/v1/campaigns",
            json={"name": "Prévention", "starts_at": soon(0), "ends_at": soon(240), "share": 0.3, **targets},
        ),
    }
    own = {"panels": [OWN], "communes": ["01053"], "departments": ["01"], "tags": ["entree-de-ville"]}
    for kind, answer in created.items():
        assert answer.status_code == 201, answer.json
        path = f"/api/v1/{kind}/{answer.json['id']}"
        assert clients["viewer"].get(path).json["targets"] == targets, kind
        assert clients["commune-editor"].get(path).json["targets"] == own, kind
        listed = clients["commune-approver"].get(f"/api/v1/{kind}?limit=200").json[kind]
        assert next(item for item in listed if item["id"] == answer.json["id"])["targets"] == own, kind
