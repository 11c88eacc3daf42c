"""What a panel's agent needs to join: its config file, with the controller's public key in it."""

from __future__ import annotations

import json
from pathlib import Path

from controller.domain.panels import Panel
from relais.wire import DEFAULT_TOPIC_BASE


def _toml_string(value: str) -> str:
    """JSON's string escapes are valid TOML basic-string escapes."""
    return json.dumps(value, ensure_ascii=False)


def agent_config_text(
    panel: Panel,
    *,
    broker_url: str,
    public_key_text: str,
    state_dir: Path | str = "state",
    screens_dir: Path | str = "screens",
    topic_base: str = DEFAULT_TOPIC_BASE,
    ca_file: str | None = None,
    next_public_key_text: str | None = None,
) -> str:
    """A complete config for ``relais agent --config``, with the simulated backend by default.

    ``ca_file`` is the CA certificate the agent trusts for ``mqtts://`` (relative to the config file);
    ``next_public_key_text`` the controller's staged next key while its key is being rotated.
    """
    lines = [
        f"# Relais panel agent: {panel.name} ({panel.commune_name} {panel.commune_insee})",
        f"panel_id = {_toml_string(panel.id)}",
        f"broker_url = {_toml_string(broker_url)}",
        f"topic_base = {_toml_string(topic_base)}",
        f"controller_public_key = {_toml_string(public_key_text)}",
        *(
            [f"next_controller_public_key = {_toml_string(next_public_key_text)}"]
            if next_public_key_text
            else []
        ),
        f"state_dir = {_toml_string(str(state_dir))}",
        *([f"ca_file = {_toml_string(ca_file)}"] if ca_file else []),
        "",
        "[backend]",
        'name = "simulated"',
        f"output_dir = {_toml_string(str(screens_dir))}",
        f"width = {panel.profile.width}",
        f"height = {panel.profile.height}",
    ]
    return "\n".join(lines) + "\n"
