"""Where messages go on the broker: topic names under a configurable base, panel ids, the largest payload."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_TOPIC_BASE = "relais/v1"
PANEL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A panel refuses anything larger before parsing it: the biggest real frame (1872x1404, 1 bit) is
# far below this once compressed.
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024


def check_panel_id(panel_id: str) -> str:
    """Panel ids go into topic names, so no MQTT wildcard, slash or upper case may slip in."""
    if not isinstance(panel_id, str) or not PANEL_ID_PATTERN.match(panel_id):
        raise ValueError(
            f"panel id {panel_id!r} must be 1 to 64 characters among a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
    return panel_id


@dataclass(frozen=True)
class Topics:
    """Topic names under one configurable base, so one broker can host several deployments."""

    base: str = DEFAULT_TOPIC_BASE

    def __post_init__(self) -> None:
        if not self.base or self.base.endswith("/") or any(char in self.base for char in "+#\0"):
            raise ValueError(
                f"topic base {self.base!r} must be non-empty, without '+', '#' or NUL, and not end with '/'"
            )

    def desired(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/desired"

    def cmd(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/cmd"

    def state(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/state"

    def events(self, panel_id: str) -> str:
        return f"{self.base}/panels/{check_panel_id(panel_id)}/events"

    def all_states(self) -> str:
        return f"{self.base}/panels/+/state"

    def all_events(self) -> str:
        return f"{self.base}/panels/+/events"

    def parse(self, topic: str) -> tuple[str, str] | None:
        """``(panel_id, leaf)`` for one of our panel topics, else None."""
        prefix = f"{self.base}/panels/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix) :].split("/")
        if len(parts) != 2 or not PANEL_ID_PATTERN.match(parts[0]):
            return None
        return parts[0], parts[1]
