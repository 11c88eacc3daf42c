"""``deploy/``: the systemd unit runs the agent as the CLI expects, and the example config loads."""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from panel_agent.config import TOP_LEVEL_KEYS, load_config
from programs.cli import build_parser
from programs.cli.agent import cmd_agent
from relais import wire
from tests.support import REPO

ROOT = REPO
UNIT = ROOT / "deploy" / "relais-agent.service"
EXAMPLE = ROOT / "deploy" / "agent.example.toml"
REAL_KEY = wire.public_key_to_text(Ed25519PrivateKey.generate().public_key())


def unit() -> configparser.ConfigParser:
    """The unit file as systemd reads it, near enough: sections, ``Key=value``, # comments."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def filled_example() -> str:
    """The example config with its placeholders filled in, as an installer would."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("ed25519:REPLACE-with-the-controller-public-key", REAL_KEY)
    text = text.replace("REPLACE-broker-host", "broker.example")
    assert "REPLACE-" not in text
    return text


def test_the_unit_is_a_watched_hardened_service_of_its_own_user() -> None:
    service = unit()["Service"]
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "120",
        "Restart": "on-failure",
        "RestartSec": "5",
        "User": "relais",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/relais",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
    }
    assert {key: service.get(key) for key in expected} == expected
    assert {"dialout", "spi", "gpio"} <= set(service["SupplementaryGroups"].split())
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_unit_starts_the_agent_as_the_command_line_expects() -> None:
    command = shlex.split(unit()["Service"]["ExecStart"])
    assert command[0] == "/opt/relais/venv/bin/relais"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts[Path(command[0]).name] == "programs.cli:main"
    args = build_parser().parse_args(command[1:])
    assert args.handler is cmd_agent
    assert args.config == Path("/etc/relais/agent.toml")


def test_the_example_config_loads_once_filled(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(filled_example(), encoding="utf-8")
    config = load_config(path)
    assert wire.public_key_to_text(config.controller_public_key) == REAL_KEY
    assert config.backend_name == "alpha"
    # The unit lets the agent write under ReadWritePaths only: the state must be there.
    writable = Path(unit()["Service"]["ReadWritePaths"])
    assert config.state_dir.is_relative_to(writable)


def test_the_example_documents_every_top_level_key_and_no_other() -> None:
    before_backend = EXAMPLE.read_text(encoding="utf-8").split("\n[backend]", 1)[0]
    named = set(re.findall(r"^(?:# )?([a-z_]+) = ", before_backend, flags=re.MULTILINE))
    assert named == TOP_LEVEL_KEYS - {"backend"}


def commented_backends() -> list[str]:
    """Each commented-out ``[backend]`` table of the example, uncommented."""
    blocks, current = [], None
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line == "# [backend]":
            current = ["[backend]"]
            blocks.append(current)
        elif current is not None and line.startswith("# ") and " = " in line:
            current.append(line[2:])
        else:
            current = None
    return ["\n".join(block) + "\n" for block in blocks]


@pytest.mark.parametrize("table", commented_backends(), ids=lambda table: table.split('"')[1])
def test_every_commented_backend_loads_when_uncommented(table: str, tmp_path: Path) -> None:
    """On the device simulators, since the vendor libraries are only on a Raspberry Pi."""
    top = filled_example().split("\n[backend]", 1)[0]
    table = re.sub(r'driver = "(waveshare|inky|rgbmatrix)', r'driver = "simulated-\1', table)
    path = tmp_path / "agent.toml"
    path.write_text(f"{top}\n{table}", encoding="utf-8")
    config = load_config(path)
    assert config.backend_name == table.split('"')[1]
    assert set(config.backend_settings) >= {key.split(" =")[0] for key in table.splitlines()[2:]}
