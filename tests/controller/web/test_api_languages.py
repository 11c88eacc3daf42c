"""The API's errors in the client's language: French unless it asks for English (Accept-Language), the
code, field and status the same in both, for scripts; and every error template has its French."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from controller.domain import accounts
from controller.web.context import get_db
from tests.support import DEMO_LED, REPO

CATALOGUE = REPO / "controller" / "web" / "translations" / "fr" / "LC_MESSAGES"
# Where an error's English template is an argument, by the keyword pybabel extracts it with.
TEMPLATE_ARGUMENT = {
    "FieldError": 1,
    "Forbidden": 0,
    "error": 2,
    "CommandError": 2,
    "RuleError": 1,
    "OfficialAlertError": 0,
    "SourceError": 0,
    "DestinationRefused": 0,
    "translatable": 0,
}
SOURCES = [*sorted((REPO / "controller").rglob("*.py")), REPO / "relais" / "wire" / "commands.py"]
LED = str(DEMO_LED["id"])

# The common mistakes: what is sent, the field at fault, the French, the English.
MISTAKES: dict[str, tuple[str, str, Any, str, str, str]] = {
    "empty text": (
        "POST",
        "/api/v1/messages",
        {"text": "   ", "panels": [LED]},
        "text",
        "Le texte est vide.",
        "is required and must not be empty",
    ),
    "end before start": (
        "POST",
        "/api/v1/messages",
        {
            "text": "Marché",
            "panels": [LED],
            "starts_at": "2030-01-02T08:00:00+01:00",
            "ends_at": "2030-01-01T08:00:00+01:00",
        },
        "ends_at",
        "La fin doit venir après le début (starts_at).",
        "must come after starts_at",
    ),
    "past end": (
        "POST",
        "/api/v1/messages",
        {"text": "Marché", "panels": [LED], "ends_at": "2020-01-01T08:00:00+01:00"},
        "ends_at",
        "La fin est déjà passée : le message ne serait jamais affiché.",
        "is in the past: the message would never be shown",
    ),
    "no target": (
        "POST",
        "/api/v1/messages",
        {"text": "Marché", "panels": []},
        "panels",
        "Choisissez au moins une cible : panneaux, étiquettes, communes ou départements.",
        "name at least one target: panels, tags, communes or departments",
    ),
    "short password": (
        "POST",
        "/api/v1/users",
        {"name": "agent-voirie", "role": "viewer", "password": "court"},
        "password",
        "Le mot de passe doit compter au moins 12 caractères.",
        "must have at least 12 characters",
    ),
    "no reject reason": (
        "POST",
        "/api/v1/messages/1/reject",
        {"reason": "  "},
        "reason",
        "Le motif est obligatoire : dites à l’auteur pourquoi vous rejetez son message.",
        "is required: tell the author why",
    ),
    "brightness": (
        "POST",
        f"/api/v1/panels/{LED}/commands",
        {"command": "brightness", "args": {"level": 150}},
        "args.level",
        "Doit être un nombre entier de 1 à 100.",
        "must be a whole number from 1 to 100",
    ),
    "official alert rule": (
        "POST",
        "/api/v1/alert-rules",
        {
            "name": "Vigilance orange",
            "deployment": {"mode": "sometimes", "priority": "urgent"},
            "wording": {"led": "{event}"},
        },
        "deployment.mode",
        "Valeurs possibles : automatic, approval, approval_timeout.",
        "must be one of automatic, approval, approval_timeout",
    ),
    "last administrator": (
        "PATCH",
        "/api/v1/users/{me}",
        {"role": "viewer"},
        "role",
        "C’est le dernier administrateur actif : nommez-en un autre d’abord.",
        "this is the last enabled administrator: make another one first",
    ),
}


def _ask(app: Flask, token: str, mistake: str, language: str | None) -> tuple[int, dict[str, str]]:
    method, path, body, *_ = MISTAKES[mistake]
    with app.app_context():
        me = accounts.user_by_name(get_db(), "tests")["id"]
    headers = {"Authorization": f"Bearer {token}"} | ({"Accept-Language": language} if language else {})
    client: FlaskClient = app.test_client()
    response = client.open(path.format(me=me), method=method, json=body, headers=headers)
    return response.status_code, response.json["error"]


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_is_told_in_french_unless_english_is_asked(app: Flask, token: str, mistake: str) -> None:
    *_, field, french, english = MISTAKES[mistake]
    status, unasked = _ask(app, token, mistake, None)
    assert 400 <= status < 500
    assert unasked == {"code": unasked["code"], "field": field, "message": french}
    assert _ask(app, token, mistake, "fr-FR,fr;q=0.9") == (status, unasked)
    assert _ask(app, token, mistake, "de") == (status, unasked)  # a language we do not speak: French
    for asked in ("en", "en-GB,en;q=0.8,fr;q=0.5"):
        assert _ask(app, token, mistake, asked) == (status, unasked | {"message": english})


def test_the_other_refusals_speak_french_too(app: Flask, token: str) -> None:
    client = app.test_client()
    unauthorized = client.get("/api/v1/panels")
    assert unauthorized.json["error"]["code"] == "unauthorized"
    assert (
        unauthorized.json["error"]["message"]
        == "Un jeton valide est nécessaire : Authorization: Bearer <jeton>."
    )
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    nowhere = client.get("/api/v1/nulle-part", headers={"Accept-Language": "fr"})
    assert nowhere.json["error"]["code"] == "not-found"
    assert nowhere.json["error"]["message"].startswith("Cette adresse n’existe pas")
    with app.app_context():
        viewer = accounts.token_for(get_db(), "lecteur", "viewer", None, label="tests")
    forbidden = client.post(
        "/api/v1/messages", json={"text": "x"}, headers={"Authorization": f"Bearer {viewer}"}
    )
    assert forbidden.status_code == 403
    assert forbidden.json["error"]["message"].startswith("Le rôle viewer ne permet pas de faire cela")
    english = client.post(
        "/api/v1/messages",
        json={"text": "x"},
        headers={"Authorization": f"Bearer {viewer}", "Accept-Language": "en"},
    )
    assert english.json["error"]["message"].startswith("the role viewer may not do this")


def _templates() -> dict[str, str]:
    """Every literal error template in the code, with where it is."""
    found = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = TEMPLATE_ARGUMENT.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            template = node.args[position]
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            assert not isinstance(template, ast.JoinedStr), f"{where}: a template, not an f-string"
            if isinstance(template, ast.Constant) and isinstance(template.value, str):
                found[template.value] = where
    return found


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"(?<!\{)\{(\w+)", text))


def test_every_error_template_has_its_french() -> None:
    with (CATALOGUE / "errors.po").open("rb") as po:
        french = {message.id: message.string for message in read_po(po) if message.id and not message.fuzzy}
    templates = _templates()
    assert len(templates) > 100
    untranslated = [f"{where}: {text}" for text, where in templates.items() if not french.get(text)]
    assert not untranslated, "run the extraction in docs/development.md and translate:\n" + "\n".join(
        untranslated
    )
    for text, translation in french.items():
        assert _placeholders(translation) <= _placeholders(text), (text, translation)
