"""What every route refuses before it can fail: ids and offsets SQLite cannot hold, dates out of range,
bodies too large, too deep, or with text no UTF-8 can carry. Each a 4xx naming the field, never a 500.

The sweeps walk the app's own routes (``url_map``) and its API description (``/openapi.json``), so a
route added later is checked too. The test app propagates exceptions: a 500 fails here as its error.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from controller import MAX_REQUEST_BYTES
from controller.domain import official_alerts
from controller.domain.panels import register_panel
from controller.rendering.images import MAX_IMAGE_BYTES
from controller.storage.db import transaction
from controller.web.api_common import MAX_INTEGER, MAX_JSON_DEPTH
from controller.web.context import get_db
from relais.brokers.mosquitto import MosquittoBroker
from relais.signals import end_processes
from tests.support import DEMO_RGB, wait_for
from tests.support.cap_feeds import document

LED = "bourg-entree-nord"
BEYOND_SQLITE = str(2**64)  # also beyond 2^63, where SQLite's integers end
PATH_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
# What a path takes where it is not an id: a real panel, a campaign action, a file of /static…
SAMPLES = {"panel_id": LED, "action": "launch", "organisation_id": "prefecture-01", "filename": "app.js"}
FAR_DATES = ("9999-12-31T00:00:00Z", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00")


def _in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


# A body each route with a date field accepts: a date sweep changes one field of it. A draft preview
# shares a message's description but reads no date.
IGNORES_DATES = {("post", "/preview.png")}
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/messages"): {"text": "Marché", "panels": [LED], "starts_at": _in(1), "ends_at": _in(2)},
    ("patch", "/messages/{message_id}"): {"starts_at": _in(1), "ends_at": _in(2)},
    ("post", "/preview.png"): {"text": "Marché", "panel": LED},
    ("post", "/alerts"): {"text": "Crue", "panels": [LED], "starts_at": _in(0), "expires_at": _in(1)},
    ("post", "/campaigns"): {
        "name": "Sécurité routière",
        "starts_at": _in(1),
        "ends_at": _in(48),
        "share": 0.5,
        "departments": ["01"],
    },
}


@pytest.fixture
def objects(app: Flask, client: FlaskClient) -> dict[str, int]:
    """One of each thing a path names by id (message, alert, campaign, user, token, audit entry, official
    alert source, rule and document)."""
    with app.app_context():
        register_panel(get_db(), DEMO_RGB)
    made = {
        "message_id": client.post("/api/v1/messages", json=VALID_BODIES[("post", "/messages")]),
        "alert_id": client.post("/api/v1/alerts", json=VALID_BODIES[("post", "/alerts")]),
        "campaign_id": client.post("/api/v1/campaigns", json=VALID_BODIES[("post", "/campaigns")]),
    }
    for name, response in made.items():
        assert response.status_code == 201, (name, response.json)
    me = client.get("/api/v1/me").json
    token = client.post("/api/v1/tokens", json={"label": "pour les tests"})
    assert token.status_code == 201, token.json
    entry = client.get("/api/v1/audit?limit=1").json["entries"][0]
    source = client.post(
        "/api/v1/alert-sources",
        json={"name": "MeteoAlarm", "kind": "cap", "location": "http://127.0.0.1:9/cap"},
    )
    assert source.status_code == 201, source.json
    with app.app_context():  # a document as its poll takes it in
        db = get_db()
        row = next(db.query("select * from alert_sources where id = ?", [source.json["id"]]))
        received = official_alerts.take(
            db, row, document("meteo-france-orange-snow-ice-ain.xml"), time.time()
        )
        with transaction(db):
            official_alerts.record(db, received, time.time())
    return {
        **{name: response.json["id"] for name, response in made.items()},
        "user_id": me["id"],
        "token_id": token.json["id"],
        "entry_id": entry["id"],
        "source_id": source.json["id"],
        "rule_id": client.get("/api/v1/alert-rules").json["alert_rules"][0]["id"],
        "official_id": client.get("/api/v1/official-alerts").json["official_alerts"][0]["id"],
    }


def _routes(app: Flask) -> Iterator[tuple[str, str, list[tuple[str, str]]]]:
    """Every route of the app (pages, API, static) and method, with its path's (converter, name)."""
    for rule in app.url_map.iter_rules():
        arguments = [(converter or "default", name) for converter, name in PATH_ARGUMENT.findall(rule.rule)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, arguments


def _path(rule: str, values: dict[str, str]) -> str:
    return PATH_ARGUMENT.sub(lambda found: values.get(found.group(2), SAMPLES.get(found.group(2), "x")), rule)


def _api_operations(client: FlaskClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every operation the API describes: method, path (``/messages/{message_id}``), the operation."""
    document = client.get("/api/v1/openapi.json").json
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield method, path, operation


def _request(client: FlaskClient, method: str, path: str, **kwargs: Any) -> Any:
    return client.open(path, method=method.upper(), **kwargs)


def _field(response: Any) -> tuple[int, str | None]:
    return response.status_code, response.json["error"].get("field")


def test_an_id_beyond_sqlite_is_a_404_naming_it_on_every_route(app: Flask, client: FlaskClient) -> None:
    checked = []
    for rule, method, arguments in _routes(app):
        ids = [name for converter, name in arguments if converter == "int"]
        if not ids:
            continue
        path = _path(rule, dict.fromkeys(ids, BEYOND_SQLITE))
        response = _request(client, method, path, json={})
        assert response.status_code == 404, (method, path, response.get_data(as_text=True))
        if path.startswith("/api/"):
            assert response.json["error"] == {
                "code": "not-found",
                "field": ids[0],
                "message": f"{ids[0]} {BEYOND_SQLITE} is out of range: ids go up to {MAX_INTEGER}",
            }
        checked.append(f"{method} {rule}")
    assert "GET /api/v1/messages/<int:message_id>" in checked
    assert "GET /campagnes/<int:campaign_id>" in checked  # pages too


def test_an_offset_or_limit_beyond_sqlite_is_a_400_naming_it_on_every_list(
    app: Flask, client: FlaskClient, objects: dict[str, int]
) -> None:
    lists = []
    for method, path, _operation in _api_operations(client):
        if method != "get":
            continue
        url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda found: str(objects.get(found.group(1), LED)), path)
        answer = client.get(url)
        if not (answer.status_code == 200 and answer.is_json and "offset" in answer.json):
            continue
        lists.append(path)
        for name, value in (("offset", 2**63), ("limit", 2**63), ("offset", 10**30), ("limit", -(2**64))):
            refused = client.get(url, query_string={name: value})
            assert _field(refused) == (400, name), (url, name, refused.json)
        (key,) = [key for key, value in answer.json.items() if isinstance(value, list)]
        last = client.get(url, query_string={"offset": MAX_INTEGER})
        assert (last.status_code, last.json[key]) == (200, [])
    assert {"/messages", "/audit", "/users", "/tokens", "/panels/{panel_id}/history"} <= set(lists)


@pytest.mark.parametrize("value", FAR_DATES)
def test_a_date_out_of_range_is_a_400_naming_it_in_every_body(
    client: FlaskClient, objects: dict[str, int], value: str
) -> None:
    with_dates = []
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    for method, path, operation in _api_operations(client):
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        properties = schemas[schema["$ref"].rsplit("/", 1)[1]]["properties"]
        dates = [name for name, spec in properties.items() if spec.get("format") == "date-time"]
        if not dates:
            continue
        assert (method, path) in VALID_BODIES, f"give {method.upper()} {path} a valid body to sweep"
        url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda found: str(objects[found.group(1)]), path)
        for name in dates:
            body = {**VALID_BODIES[(method, path)], name: value}
            refused = _request(client, method, url, json=body)
            if (method, path) in IGNORES_DATES:
                assert refused.status_code == 200
                continue
            assert _field(refused) == (400, name), (method, path, name, refused.json)
            assert "out of range" in refused.json["error"]["message"]
            with_dates.append(f"{path} {name}")
    assert {"/messages starts_at", "/alerts expires_at", "/campaigns ends_at"} <= set(with_dates)


@pytest.mark.parametrize("name", ["at", "from"])
@pytest.mark.parametrize("value", FAR_DATES)
def test_a_date_out_of_range_in_a_panel_s_query_is_a_400_naming_it(
    client: FlaskClient, name: str, value: str
) -> None:
    route = {"at": "playlist", "from": "timeline"}[name]
    refused = client.get(f"/api/v1/panels/{LED}/{route}", query_string={name: value})
    assert _field(refused) == (400, name)
    assert client.get(f"/api/v1/panels/{LED}/{route}", query_string={name: _in(1)}).status_code == 200


def _body_operations(client: FlaskClient, objects: dict[str, int]) -> Iterator[tuple[str, str]]:
    for method, path, operation in _api_operations(client):
        if "requestBody" in operation:
            yield (
                method,
                "/api/v1" + re.sub(r"\{(\w+)\}", lambda found: str(objects.get(found.group(1), LED)), path),
            )


def test_json_nested_a_thousand_deep_is_a_400_on_every_route_with_a_body(
    client: FlaskClient, objects: dict[str, int]
) -> None:
    for depth in (1000, 100_000, MAX_JSON_DEPTH + 1):
        deep = "[" * depth + "]" * depth
        for method, url in _body_operations(client, objects):
            refused = _request(client, method, url, data=deep, content_type="application/json")
            assert _field(refused) == (400, "body"), (method, url, depth, refused.json)
            assert (
                refused.json["error"]["message"]
                == f"is nested too deep: the limit is {MAX_JSON_DEPTH} levels"
            )
    nested = {
        "text": "Marché",
        "panels": [LED],
        "x": json.loads("[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)),
    }
    assert client.post("/api/v1/messages?dry_run=1", json=nested).status_code == 200


def _message(fields: str) -> str:
    """A message's JSON with these fields written as they come (escapes and all)."""
    return '{"panels": ["' + LED + '"], ' + fields + "}"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ('"text": "\\ud800"', "text"),
        ('"text": "Marché", "title": "caf\\udfff"', "title"),
        ('"text": "Marché", "tags": ["ok", "\\ud83d"]', "tags[1]"),
        ('"text": "Marché", "recurrence": {"windows": ["\\udc00"]}', "recurrence.windows[0]"),
        ('"text": "Marché", "campaign": 18446744073709551616', "campaign"),
        ('"text": "Marché", "dwell_s": 1e999', "dwell_s"),
    ],
    ids=["text", "title", "list-item", "nested", "integer", "infinity"],
)
def test_a_lone_surrogate_or_a_number_beyond_sqlite_is_a_400_naming_the_field(
    client: FlaskClient, fields: str, field: str
) -> None:
    refused = client.post("/api/v1/messages", data=_message(fields), content_type="application/json")
    assert _field(refused) == (400, field), refused.json
    assert client.get("/api/v1/messages").json["total"] == 0
    # A pair, as JSON writes an emoji, is good text.
    good = client.post(
        "/api/v1/messages",
        data=_message('"text": "F\\u00eate", "tags": ["\\ud83c\\udf89"]'),
        content_type="application/json",
    )
    assert good.status_code == 201, good.json
    assert client.get("/api/v1/messages").json["messages"][0]["targets"]["tags"] == ["\U0001f389"]


def test_a_lone_surrogate_is_a_400_naming_it_on_every_route_with_a_body(
    client: FlaskClient, objects: dict[str, int]
) -> None:
    for method, url in _body_operations(client, objects):
        refused = _request(client, method, url, data='{"name": "\\ud800"}', content_type="application/json")
        assert _field(refused) == (400, "name"), (method, url, refused.json)


def test_a_body_over_the_limit_is_refused_unread_with_a_413_naming_it(
    app: Flask, client: FlaskClient
) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_REQUEST_BYTES
    too_large = b"[" + b" " * MAX_REQUEST_BYTES + b"]"
    refused = client.post("/api/v1/messages", data=too_large, content_type="application/json")
    assert refused.status_code == 413
    assert refused.json["error"] == {
        "code": "request-entity-too-large",
        "field": "body",
        "message": f"the request body is over the limit of {MAX_REQUEST_BYTES} bytes",
    }
    # The pages' forms too (the login form, before any password is read).
    form = app.test_client().post("/login", data={"name": "x" * MAX_REQUEST_BYTES, "password": "y"})
    assert form.status_code == 413
    assert f"over the limit of {MAX_REQUEST_BYTES} bytes" in form.get_data(as_text=True)


def test_the_limit_is_configurable(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    body = {"text": "x" * 990, "panels": [LED]}
    refused = client.post("/api/v1/messages", json=body)
    assert (refused.status_code, refused.json["error"]["message"]) == (
        413,
        "the request body is over the limit of 1000 bytes",
    )


def test_the_limit_admits_a_message_with_the_heaviest_image(client: FlaskClient) -> None:
    """The largest legitimate request: a picture of exactly ``MAX_IMAGE_BYTES`` (a small PNG padded with
    a private chunk), in base64, with the other fields."""
    image = _padded_png(MAX_IMAGE_BYTES)
    body = {
        "text": "Marché de Noël",
        "layout": "image-text",
        "profile": "led-amber-192x64",
        "image": base64.b64encode(image).decode(),
    }
    body["panels"] = [f"panneau-{index:04d}-de-la-commune" for index in range(5000)]  # as a message may
    assert len(json.dumps(body)) < MAX_REQUEST_BYTES
    answer = client.post("/api/v1/preview.png", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "image/png"


def _padded_png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (255, 176, 0)).save(buffer, "PNG")
    small = buffer.getvalue()
    end = small.rindex(b"IEND") - 4
    padding = size - len(small) - 12
    chunk_type = b"prVt"  # ancillary, private: decoders skip it
    data = b"\0" * padding
    chunk = struct.pack(">I", padding) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))
    padded = small[:end] + chunk + small[end:]
    assert len(padded) == size
    return padded


def test_relais_serve_takes_its_body_limit_from_the_command_line(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    """Over real HTTP, from ``relais serve --max-request-bytes``: a login form over it is refused unread."""
    relais = shutil.which("relais", path=str(Path(sys.executable).parent))
    assert relais, "the relais command is installed beside the interpreter"
    log = tmp_path / "serve.log"
    command = [relais, "serve", "--data-dir", str(tmp_path / "data"), "--broker-url", broker.url]
    command += [
        "--topic-base",
        f"test-{uuid.uuid4().hex[:8]}",
        "--http-port",
        "0",
        "--max-request-bytes",
        "4096",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    try:

        def address() -> str | None:
            assert process.poll() is None, log.read_text()
            lines = log.read_text(errors="replace").splitlines()
            return next(
                (line.removeprefix("Relais at ") for line in lines if line.startswith("Relais at ")), None
            )

        url = wait_for(address, "relais serve listening", timeout=30)
        form = urllib.parse.urlencode({"name": "x" * 5000, "password": "y"}).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"{url}/login", data=form), timeout=30)
        assert refused.value.code == 413
        assert "over the limit of 4096 bytes" in refused.value.read().decode()
        assert refused.value.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        end_processes([process], 10)
