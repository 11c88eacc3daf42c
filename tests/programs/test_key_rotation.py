"""Rotating the controller's signing key without a panel ever refusing genuine content.

The operator stages a next key, agents learn it beside the current one, the controller switches and
re-signs every schedule; agents that never learnt the next key refuse the new signatures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller import create_app, shutdown_app
from controller.domain.panels import register_panel
from controller.publishing.queueing import queue_message
from controller.web.context import get_db, signing_key
from panel_agent.agent import PanelAgent
from panel_agent.config import load_config
from programs.cli import main
from relais import wire
from relais.keys import PUBLIC_KEY_NAME
from tests.support import DEMO_LED

PANEL = DEMO_LED["id"]


def _desired_payload(data_dir: Path) -> bytes:
    from controller.storage.db import open_database

    return open_database(data_dir / "relais.db")["desired"].get(PANEL)["payload"]


def _agent(folder: Path, config_text: str) -> PanelAgent:
    folder.mkdir()
    (folder / "agent.toml").write_text(config_text, encoding="utf-8")
    return PanelAgent(load_config(folder / "agent.toml"))


def _public(data_dir: Path) -> Ed25519PublicKey:
    return wire.public_key_from_text(
        (data_dir / "keys" / PUBLIC_KEY_NAME).read_text(encoding="utf-8").strip()
    )


def test_a_rotation_keeps_agents_that_learnt_the_next_key_showing_genuine_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    app = create_app({"DATA_DIR": data_dir, "TESTING": True})
    with app.app_context():
        register_panel(get_db(), DEMO_LED)
        queue_message(
            get_db(), signing_key(), {"text": "Avant la rotation", "panels": [PANEL]}, created_by="t"
        )
    shutdown_app(app)
    old_key = _public(data_dir)
    data = ["--data-dir", str(data_dir)]
    config_args = ["panel", "agent-config", *data, "--id", PANEL, "--broker-url", "mqtt://127.0.0.1:1"]

    assert main(["panel", "agent-config", *config_args[2:], "--no-credentials"]) == 0
    before_rotation = capsys.readouterr().out
    assert main(["keys", "rotate", *data]) == 0
    assert "next_controller_public_key" in capsys.readouterr().out
    assert main([*config_args, "--no-credentials"]) == 0
    with_next = capsys.readouterr().out
    assert "next_controller_public_key = " in with_next

    learnt = _agent(tmp_path / "learnt", with_next)
    stale = _agent(tmp_path / "stale", before_rotation)
    for agent in (learnt, stale):
        agent.handle_desired(_desired_payload(data_dir))
        assert agent.current_state().item_id is not None, "content signed by the old key is followed"

    assert main(["keys", "rotate", *data, "--activate"]) == 0
    assert "1 panel schedules re-signed" in capsys.readouterr().out
    new_key = _public(data_dir)
    assert wire.public_key_to_text(new_key) != wire.public_key_to_text(old_key)
    resigned = _desired_payload(data_dir)
    wire.unseal(resigned, new_key)
    with pytest.raises(wire.WireError):
        wire.unseal(resigned, old_key)

    learnt_seq = learnt.applied_seq
    learnt.handle_desired(resigned)
    assert learnt.applied_seq > learnt_seq, (
        "the agent that learnt the next key follows the re-signed schedule"
    )
    stale_seq = stale.applied_seq
    stale.handle_desired(resigned)
    assert stale.applied_seq == stale_seq, "an agent that never learnt it refuses and keeps its content"
    assert stale.current_state().item_id is not None

    restarted = PanelAgent(load_config(tmp_path / "learnt" / "agent.toml"))
    assert restarted.store.load() is not None, "its stored copy, signed by the new key, is still trusted"


def test_activate_without_a_staged_key_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate", "--data-dir", str(tmp_path), "--activate"]) == 2
    assert "run relais keys rotate first" in capsys.readouterr().err
