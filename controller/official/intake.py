"""One received CAP document, taken in: read, filtered, placed in the life cycle, matched to a rule.
The single call the polling, the folder pick-up and the demo's feed make; they then store and publish
what it says.

``OfficialAlertError`` from :func:`take_in` is a source error (malformed, entity bomb, not CAP): nothing
is stored, nothing reaches a panel, the source's health shows the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.official.cap import Alert, read_cap, refusal
from controller.official.lifecycle import Action, Decision, Deployment, Key, decide
from controller.official.rules import Rule, first_rule


@dataclass(frozen=True)
class Intake:
    alert: Alert
    decision: Decision
    # The first of the organisation's rules that applies; None: kept and listed, but shown nowhere (a
    # REPLACE without a rule ends what it replaces, as an orange warning lowered to yellow).
    rule: Rule | None

    @property
    def shows(self) -> bool:
        """Whether this document goes (or, by approval, may go) on panels."""
        return self.rule is not None and self.decision.action in (Action.NEW, Action.REPLACE)


def take_in(
    data: bytes,
    *,
    stored: Mapping[Key, Deployment],
    rules: Sequence[Rule],
    now: datetime,
    test_mode: bool = False,
) -> Intake:
    """What to do with a document just received; raises ``OfficialAlertError`` for what is not CAP."""
    alert = read_cap(data)
    refused = refusal(alert, test_mode=test_mode)
    if refused is not None:
        return Intake(alert, Decision(Action.NOTHING, (), refused), None)
    decision = decide(alert, stored, now)
    rule = first_rule(rules, alert) if decision.action in (Action.NEW, Action.REPLACE) else None
    return Intake(alert, decision, rule)
