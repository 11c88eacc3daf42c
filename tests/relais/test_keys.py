"""The controller's signing key: made once, private to its owner, the same key on every start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relais.keys import PRIVATE_KEY_NAME, PUBLIC_KEY_NAME, load_or_create_signing_key
from relais.wire import public_key_from_text, public_key_to_text


def test_first_run_makes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "keys")
    assert (tmp_path / "keys" / PRIVATE_KEY_NAME).stat().st_mode & 0o777 == 0o600
    published = (tmp_path / "keys" / PUBLIC_KEY_NAME).read_text().strip()
    assert public_key_to_text(public_key_from_text(published)) == public_key_to_text(key.public_key())


def test_later_runs_load_the_same_key(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path)
    again = load_or_create_signing_key(tmp_path)
    assert public_key_to_text(first.public_key()) == public_key_to_text(again.public_key())


def test_a_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path)
    os.chmod(tmp_path / PRIVATE_KEY_NAME, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_signing_key(tmp_path)
