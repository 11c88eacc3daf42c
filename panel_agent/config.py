"""The agent's TOML config file, checked in full at start so a typo is reported, not run with.

Every problem is a ``ConfigError`` naming the file and the key; unknown keys are refused because a
misspelt optional key would otherwise be silently ignored.

``clock`` says which time the agent trusts for expiry checks and for its schedule: ``"system"`` (the
default) for a board whose clock is kept right (a real-time clock, NTP); ``"controller"`` for a board
without a real-time clock, which boots in 1970 until NTP answers, if it ever does: the agent's time is
then never behind the controller's signed time, i.e. the later of the system time and the last
verified payload's ``issued_at`` plus the (monotonic) time elapsed since it was received.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from panel_agent.backends import BackendSettingError, backend_class
from relais import wire
from relais.mqtt import BrokerUrl

TOP_LEVEL_KEYS = {
    "panel_id",
    "broker_url",
    "topic_base",
    "controller_public_key",
    "next_controller_public_key",
    "state_dir",
    "ca_file",
    "clock",
    "backend",
}
DEFAULT_BACKEND = "simulated"
CLOCK_SYSTEM = "system"
CLOCK_CONTROLLER = "controller"


class ConfigError(ValueError):
    """The config file is missing, unreadable, not TOML, or has a wrong, missing or unknown key."""


@dataclass(frozen=True)
class AgentConfig:
    """A checked config: paths are absolute (relative ones are taken from the config file's folder)."""

    path: Path
    panel_id: str
    broker_url: str
    controller_public_key: Ed25519PublicKey = field(repr=False)
    state_dir: Path
    # During a key rotation: the key the controller is about to sign with, trusted as well.
    next_controller_public_key: Ed25519PublicKey | None = field(default=None, repr=False)
    topic_base: str = wire.DEFAULT_TOPIC_BASE
    ca_file: Path | None = None
    clock: str = CLOCK_SYSTEM
    backend_name: str = DEFAULT_BACKEND
    backend_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def trusted_keys(self) -> tuple[Ed25519PublicKey, ...]:
        """The keys a controller payload may be signed with: one, or two while the key is rotated."""
        if self.next_controller_public_key is None:
            return (self.controller_public_key,)
        return (self.controller_public_key, self.next_controller_public_key)

    @property
    def topics(self) -> wire.Topics:
        return wire.Topics(self.topic_base)


def load_config(path: Path | str) -> AgentConfig:
    """Read and check the agent's config file; raise ConfigError saying which key is wrong and why."""
    path = Path(path).absolute()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    base_dir = path.parent

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {problem}")

    def take(key: str, kind: type) -> Any:
        if key not in data:
            raise fail(key, "missing (required)")
        value = data[key]
        if not isinstance(value, kind):
            raise fail(key, f"must be a {_toml_type(kind)}, not a {_toml_type(type(value))}")
        return value

    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known keys: {', '.join(sorted(TOP_LEVEL_KEYS))})")

    def checked(key: str, value: Any, check: Callable[[Any], Any]) -> Any:
        """``check(value)``, with its ValueError turned into an error naming the file and the key."""
        try:
            return check(value)
        except ValueError as exc:
            raise fail(key, str(exc)) from None

    panel_id = take("panel_id", str)
    checked("panel_id", panel_id, wire.check_panel_id)
    broker_url = take("broker_url", str)
    broker = checked("broker_url", broker_url, BrokerUrl.parse)

    topic_base = data.get("topic_base", wire.DEFAULT_TOPIC_BASE)
    if not isinstance(topic_base, str):
        raise fail("topic_base", f"must be a string, not a {_toml_type(type(topic_base))}")
    checked("topic_base", topic_base, wire.Topics)
    public_key = checked(
        "controller_public_key", take("controller_public_key", str), wire.public_key_from_text
    )
    next_key = None
    if "next_controller_public_key" in data:
        next_key = checked(
            "next_controller_public_key", take("next_controller_public_key", str), wire.public_key_from_text
        )

    state_dir = base_dir / take("state_dir", str)

    ca_file: Path | None = None
    if "ca_file" in data:
        ca_file = base_dir / take("ca_file", str)
        if not broker.tls:
            raise fail("ca_file", "only used with an mqtts:// broker_url")
        if not ca_file.is_file():
            raise fail("ca_file", f"{ca_file} is not a file")

    clock = data.get("clock", CLOCK_SYSTEM)
    if clock not in (CLOCK_SYSTEM, CLOCK_CONTROLLER):
        raise fail("clock", f'must be "{CLOCK_SYSTEM}" or "{CLOCK_CONTROLLER}", not {clock!r}')

    backend_table = data.get("backend", {})
    if not isinstance(backend_table, dict):
        raise fail("backend", "must be a table ([backend])")
    backend_table = dict(backend_table)
    backend_name = backend_table.pop("name", DEFAULT_BACKEND)
    if not isinstance(backend_name, str):
        raise fail("backend.name", f"must be a string, not a {_toml_type(type(backend_name))}")
    try:
        cls = backend_class(backend_name)
    except ValueError as exc:
        raise fail("backend.name", str(exc)) from None
    try:
        backend_settings = cls.check_settings(backend_table, base_dir=base_dir)
    except BackendSettingError as exc:
        raise fail(f"backend.{exc.key}", exc.problem) from None

    return AgentConfig(
        path=path,
        panel_id=panel_id,
        broker_url=broker_url,
        controller_public_key=public_key,
        next_controller_public_key=next_key,
        state_dir=state_dir,
        topic_base=topic_base,
        ca_file=ca_file,
        clock=clock,
        backend_name=backend_name,
        backend_settings=backend_settings,
    )


def _toml_type(kind: type) -> str:
    names = {str: "string", int: "integer", float: "float", bool: "boolean", dict: "table", list: "array"}
    return names.get(kind, kind.__name__)
