"""One-off commands (controller -> panel): their names and arguments, checked by the same rules on both
sides before anything is signed or done."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from relais.wire.fields import WireError
from relais.wire.schedule import FULL_BRIGHTNESS

COMMAND_REFRESH = "refresh"  # back to the schedule, redrawn, at the level it sets
COMMAND_SCREENSHOT = "screenshot"  # publish the state, with what is on the panel now
COMMAND_BRIGHTNESS = "brightness"  # {level}: until the schedule's level changes next
COMMAND_BLANK = "blank"  # {seconds}: black, then the schedule again
COMMAND_TEST_PATTERN = "test_pattern"  # {pattern, seconds}: a field-test pattern, then the schedule
COMMAND_IDENTIFY = "identify"  # {seconds}: white and black in turn at 1 Hz, then the schedule
# The arguments each command takes, all required: a misspelt one is refused rather than ignored.
COMMAND_ARGS: dict[str, tuple[str, ...]] = {
    COMMAND_REFRESH: (),
    COMMAND_SCREENSHOT: (),
    COMMAND_BRIGHTNESS: ("level",),
    COMMAND_BLANK: ("seconds",),
    COMMAND_TEST_PATTERN: ("pattern", "seconds"),
    COMMAND_IDENTIFY: ("seconds",),
}
# A timed override lasts an hour at most: a forgotten test pattern must not hide the news for a day.
MAX_OVERRIDE_S = 3600
_WHOLE_ARGS = {"level": (1, FULL_BRIGHTNESS), "seconds": (1, MAX_OVERRIDE_S)}

# The test patterns a technician may ask a panel to show (``test_pattern`` command).
TEST_PATTERNS = ("checkerboard", "border", "full", "stripes")


class CommandError(WireError):
    """A command the panel does not know, or arguments it cannot take; ``field`` is e.g. ``args.level``.
    ``template`` is the English ``problem`` before its ``params`` are filled in: the controller's API
    answers it in the client's language."""

    def __init__(self, reason: str, field: str, template: str, **params: object) -> None:
        self.field = field
        self.template = template
        self.params = params
        self.problem = template.format(**params) if params else template
        super().__init__(reason, f"{field}: {self.problem}")


@dataclass(frozen=True)
class Command:
    """A technician's one-off command and its checked arguments, the same rules on both sides.

    ``patterns`` are the names of the field-test patterns: ``TEST_PATTERNS``, which the controller
    checks before signing anything, and the agent the ones it can draw (the same, a test sees to it).
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def to_content(self) -> dict[str, Any]:
        """``{"command", "args"}``, without ``args`` when there are none, as older agents expect."""
        content: dict[str, Any] = {"command": self.name}
        if self.args:
            content["args"] = dict(self.args)
        return content

    @classmethod
    def from_content(cls, content: Any, *, patterns: Collection[str]) -> Command:
        """Check the name and every argument; raise CommandError naming the field at fault."""
        name = content.get("command") if isinstance(content, dict) else None
        if not isinstance(name, str) or name not in COMMAND_ARGS:
            raise CommandError(
                "unknown-command", "command", "must be one of {choices}", choices=", ".join(COMMAND_ARGS)
            )
        args = content.get("args", {})
        if not isinstance(args, dict):
            raise CommandError("bad-args", "args", "must be an object")
        expected = COMMAND_ARGS[name]
        for key in args:
            if key not in expected:
                if not expected:
                    raise CommandError(
                        "bad-args", f"args.{key}", "{command} takes no arguments", command=name
                    )
                raise CommandError(
                    "bad-args",
                    f"args.{key}",
                    "{command} takes {takes}",
                    command=name,
                    takes=", ".join(expected),
                )
        for key in expected:
            if key not in args:
                raise CommandError("bad-args", f"args.{key}", "missing")
            value = args[key]
            if key == "pattern":
                if not isinstance(value, str) or value not in patterns:
                    raise CommandError(
                        "bad-args", "args.pattern", "must be one of {choices}", choices=", ".join(patterns)
                    )
                continue
            low, high = _WHOLE_ARGS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise CommandError(
                    "bad-args",
                    f"args.{key}",
                    "must be a whole number from {low} to {high}",
                    low=low,
                    high=high,
                )
        return cls(name, dict(args))
