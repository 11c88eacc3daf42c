"""The caps on what one account keeps: a user's notification subscriptions, an organisation's webhooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.domain import public_hooks, subscriptions
from controller.domain.errors import FieldError
from controller.storage.db import insert_row, open_database

NOW = 1_800_000_000


def test_a_user_past_their_subscriptions_and_an_organisation_past_its_webhooks_get_a_409(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "relais.db")
    user_id = insert_row(db, "users", {"name": "mairie", "role": "admin", "created_at": NOW})
    other_id = insert_row(db, "users", {"name": "prefecture", "role": "admin", "created_at": NOW})
    for number in range(subscriptions.MAX_SUBSCRIPTIONS_PER_USER):
        address = f"agent{number}@mairie.example.fr"
        subscriptions.add_subscription(db, user_id, {"channel": "email", "address": address}, NOW)
        public_hooks.add_webhook(db, "ain", None, user_id, {"url": f"https://ain.example.fr/{number}"}, NOW)
    with pytest.raises(FieldError) as refused:
        subscriptions.add_subscription(db, user_id, {"channel": "email", "address": "un@de.trop"}, NOW)
    assert (refused.value.field, refused.value.status) == ("channel", 409)
    assert refused.value.message == "20 subscriptions at most per user"
    with pytest.raises(FieldError) as refused:
        public_hooks.add_webhook(db, "ain", None, user_id, {"url": "https://ain.example.fr/trop"}, NOW)
    assert (refused.value.field, refused.value.status) == ("url", 409)
    assert refused.value.message == "20 webhooks at most per organisation"
    # The cap is each owner's own.
    subscriptions.add_subscription(db, other_id, {"channel": "email", "address": "un@de.plus"}, NOW)
    public_hooks.add_webhook(db, "isere", None, user_id, {"url": "https://isere.example.fr/"}, NOW)
