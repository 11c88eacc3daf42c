"""The agent's config file: a complete one loads, and every mistake names the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from panel_agent.backends import create_backend
from panel_agent.config import AgentConfig, ConfigError, load_config
from relais import wire


@pytest.fixture
def key_text(signing_key: Ed25519PrivateKey) -> str:
    return wire.public_key_to_text(signing_key.public_key())


def config_text(key_text: str, *, top: str = "", backend: str = "width = 192\nheight = 64\n") -> str:
    return (
        'panel_id = "bourg-mairie"\n'
        'broker_url = "mqtt://127.0.0.1:1883"\n'
        f'controller_public_key = "{key_text}"\n'
        'state_dir = "state"\n'
        f"{top}"
        "[backend]\n"
        f"{backend}"
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "etc" / "agent.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_complete_config_loads_with_defaults_and_paths_beside_the_file(
    tmp_path: Path, key_text: str, signing_key: Ed25519PrivateKey
) -> None:
    path = write(tmp_path, config_text(key_text))
    config = load_config(path)
    assert isinstance(config, AgentConfig)
    assert config.panel_id == "bourg-mairie"
    assert config.broker_url == "mqtt://127.0.0.1:1883"
    assert config.topic_base == wire.DEFAULT_TOPIC_BASE
    assert config.state_dir == tmp_path / "etc" / "state"
    assert config.ca_file is None
    assert config.clock == "system"
    assert config.backend_name == "simulated"
    assert config.backend_settings == {"width": 192, "height": 64, "output_dir": tmp_path / "etc" / "screens"}
    assert wire.public_key_to_text(config.controller_public_key) == key_text
    backend = create_backend(config.backend_name, config.backend_settings, panel_id=config.panel_id)
    assert (backend.width, backend.height) == (192, 64)


def test_optional_keys(tmp_path: Path, key_text: str) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ca.pem").write_text("not checked here\n", encoding="utf-8")
    text = config_text(
        key_text,
        top='topic_base = "prefecture-01/relais/v1"\nca_file = "ca.pem"\nclock = "controller"\n',
        backend='name = "simulated"\noutput_dir = "/var/lib/relais/screens"\nwidth = 296\nheight = 128\n',
    ).replace("mqtt://127.0.0.1:1883", "mqtts://broker.example.fr")
    config = load_config(write(tmp_path, text))
    assert config.topic_base == "prefecture-01/relais/v1"
    assert config.topics.desired("bourg-mairie") == "prefecture-01/relais/v1/panels/bourg-mairie/desired"
    assert config.ca_file == tmp_path / "etc" / "ca.pem"
    assert config.clock == "controller"
    assert config.backend_settings["output_dir"] == Path("/var/lib/relais/screens")


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (lambda t: t.replace('panel_id = "bourg-mairie"\n', ""), "panel_id", "missing"),
        (lambda t: t.replace('panel_id = "bourg-mairie"', "panel_id = 12"), "panel_id", "must be a string"),
        (lambda t: t.replace("bourg-mairie", "Bourg Mairie"), "panel_id", "a-z"),
        (lambda t: t.replace("mqtt://127.0.0.1:1883", "http://127.0.0.1"), "broker_url", "mqtt://"),
        (
            lambda t: t.replace('key = "ed25519:', 'key = "rsa:'),
            "controller_public_key",
            "looks like 'ed25519:",
        ),
        (lambda t: t.replace('state_dir = "state"\n', ""), "state_dir", "missing"),
        (lambda t: "panel_idd = 'x'\n" + t, "panel_idd", "unknown key"),
        (lambda t: "topic_base = 'relais/#'\n" + t, "topic_base", "'#'"),
        (lambda t: "ca_file = 'ca.pem'\n" + t, "ca_file", "mqtts://"),
        (lambda t: "clock = 'ntp'\n" + t, "clock", 'must be "system" or "controller"'),
        (lambda t: "clock = 1\n" + t, "clock", 'must be "system" or "controller"'),
        (lambda t: t.replace("[backend]\n", "[backend]\nname = 'hub75'\n"), "backend.name", "simulated"),
        (lambda t: t.replace("width = 192\n", ""), "backend.width", "missing"),
        (lambda t: t.replace("width = 192", 'width = "192"'), "backend.width", "must be an integer"),
        (lambda t: t.replace("height = 64", "height = 0"), "backend.height", "between 1 and"),
        (lambda t: t.replace("width = 192", "widht = 192"), "backend.widht", "unknown key"),
    ],
)
def test_every_mistake_names_the_file_and_the_key(
    tmp_path: Path, key_text: str, change: Callable[[str], str], key: str, problem: str
) -> None:
    path = write(tmp_path, change(config_text(key_text)))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert str(path) in message
    assert f": {key}: " in message
    assert problem in message


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'panel_id = "unterminated\n')
    with pytest.raises(ConfigError, match="not valid TOML") as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nowhere.toml")
