"""The life cycle of official alerts as pure functions: given what is stored and a new document (or the
clock), what to do. Storage and publishing carry the decision out.

- a message already received (same sender and identifier) does nothing, however often it comes;
- an Alert is new; an Update replaces the deployments it ``references``;
- a Cancel ends what it references, and so does Météo-France's way of ending a warning: an Update whose
  ``responseType`` is AllClear and whose ``expires`` equals its ``effective``;
- a past ``expires`` ends a deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from controller.official.cap import Alert, Info

Key = tuple[str, str]  # (sender, identifier)


class Action(StrEnum):
    NEW = "new"
    REPLACE = "replace"
    END = "end"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Deployment:
    """A received official alert as the life cycle needs it: still shown (or pending), or ended."""

    key: Key
    expires: datetime | None
    ended: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    # What this document ends or replaces (for REPLACE and END): live deployments it references.
    previous: tuple[Key, ...]
    reason: str


def decide(alert: Alert, stored: Mapping[Key, Deployment], now: datetime) -> Decision:
    """What a newly received document does to the stored deployments."""
    if alert.key in stored:
        return Decision(Action.NOTHING, (), "already received")
    live = tuple(
        reference.key
        for reference in alert.references
        if reference.key in stored and not stored[reference.key].ended
    )
    if alert.msg_type == "Cancel":
        if live:
            return Decision(Action.END, live, "cancelled by its sender")
        return Decision(Action.NOTHING, (), "cancels nothing that is shown")
    info = alert.info
    if info is not None and ends_warning(info):
        if live:
            return Decision(Action.END, live, "all clear")
        return Decision(Action.NOTHING, (), "an all clear for nothing that is shown")
    if info is not None and info.expires is not None and info.expires <= now:
        if live:
            return Decision(Action.END, live, "updated to an end already past")
        return Decision(Action.NOTHING, (), "expired before it arrived")
    if alert.msg_type == "Update" and live:
        return Decision(Action.REPLACE, live, "updated by its sender")
    # An Update of something never received (the source was added since) is shown as it stands now.
    return Decision(
        Action.NEW, (), "new alert" if alert.msg_type == "Alert" else "update of an unknown alert"
    )


def ends_warning(info: Info) -> bool:
    """Météo-France's end of a warning: AllClear, with ``expires`` equal to ``effective``."""
    return (
        "AllClear" in info.response_types
        and info.expires is not None
        and info.effective is not None
        and info.expires == info.effective
    )


def expired(stored: Mapping[Key, Deployment], now: datetime) -> list[Key]:
    """The live deployments whose ``expires`` is past: to end, whatever their source says next."""
    return [
        key
        for key, deployment in stored.items()
        if not deployment.ended and deployment.expires is not None and deployment.expires <= now
    ]
