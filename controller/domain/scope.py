"""Tenancy and second-person rules, as pure functions over an Actor and the fleet.

Every route asks these same questions, so that no route forgets one: a commune user sees and targets
only their commune's panels and messages; another commune's panel or message is answered as if it
did not exist (404); targets reaching beyond the commune are refused (403) naming the field. Campaign
managers, technicians, viewers and administrators see the whole fleet.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from controller.domain.access import Actor, Permission
from controller.domain.errors import FieldError, translatable
from controller.scheduling.model import PanelInfo, Targets, department_of
from controller.scheduling.targets import resolve_targets


def sees_message(actor: Actor, commune_insee: str | None, reached_communes: Iterable[str]) -> bool:
    """A commune's message is seen by that commune only; any other (prefecture, administrator) by the
    communes whose panels it reaches."""
    if not actor.scoped:
        return True
    if commune_insee is not None:
        return commune_insee == actor.commune_insee
    return actor.commune_insee in set(reached_communes)


def may_change_message(actor: Actor, commune_insee: str | None) -> bool:
    """A commune user changes its own commune's messages only, not the prefecture's that it sees."""
    return not actor.scoped or commune_insee == actor.commune_insee


def sees_campaign(actor: Actor, invited_communes: Collection[str]) -> bool:
    return not actor.scoped or actor.commune_insee in invited_communes


def targets_seen_by(
    actor: Actor | None, targets: Mapping[str, Any], own_panels: Collection[str]
) -> dict[str, Any]:
    """The targets of a message, alert or campaign as the actor may read them (stored as
    ``targets_to_json`` wrote them). A commune user sees, among the panels, communes and departments
    named, only its own (``own_panels``: the ids of its commune's panels): the others would tell which
    other communes the prefecture addressed. Tags stay: they are the fleet's shared vocabulary and
    name no commune."""
    if actor is None or actor.commune_insee is None:
        return dict(targets)
    own = {
        "panels": set(own_panels),
        "communes": {actor.commune_insee},
        "departments": {department_of(actor.commune_insee)},
    }
    return {
        field: [value for value in values if value in own[field]] if field in own else values
        for field, values in targets.items()
    }


def check_targets(commune_insee: str | None, targets: Targets, panels: Sequence[PanelInfo]) -> None:
    """Refuse targets of a commune's user (``commune_insee``) that reach beyond the commune, naming the field.

    Panel ids of another commune are answered as unknown (422), like ids that do not exist; tags,
    communes and departments that reach beyond the commune are refused (403).
    """
    if commune_insee is None:
        return
    by_id = {panel.id: panel for panel in panels}
    foreign = sorted(
        panel_id
        for panel_id in targets.panels
        if panel_id in by_id and by_id[panel_id].commune_insee != commune_insee
    )
    if foreign:
        raise FieldError("panels", "unknown panel(s): {panels}", status=422, panels=", ".join(foreign))
    if targets.communes - {commune_insee}:
        others = ", ".join(sorted(targets.communes - {commune_insee}))
        raise FieldError(
            "communes",
            "commune {commune_insee} may not target commune(s) {others}",
            403,
            commune_insee=commune_insee,
            others=others,
        )
    for field in ("departments", "tags"):
        reached = resolve_targets(Targets(**{field: getattr(targets, field)}), panels)
        if any(by_id[panel_id].commune_insee != commune_insee for panel_id in reached):
            raise FieldError(
                field,
                "reaches panels outside commune {commune_insee}: name your own",
                403,
                commune_insee=commune_insee,
            )


def answering_commune(actor: Actor, given: object) -> str:
    """The commune answering a campaign invitation: a commune user's own, by default and at most."""
    if actor.scoped:
        if given is None or given == actor.commune_insee:
            return str(actor.commune_insee)
        raise FieldError(
            "commune", "you answer for commune {commune} only", status=403, commune=actor.commune_insee
        )
    if not isinstance(given, str):
        raise FieldError("commune", "is required: the INSEE code of the commune answering")
    return given


def check_second_person(actor: Actor, permission: Permission, what: str, item: Mapping[str, Any]) -> None:
    """Approval is a second person of the author's organisation (an administrator may stand in), one who
    neither wrote the item nor last changed it (``changed_by``, where the item can be changed): whoever
    typed the words on air is never their only reader."""
    author, changed_by, organisation = item["created_by"], item.get("changed_by"), item["organisation"]
    if actor.name in (author, changed_by):
        if changed_by in (None, author):
            template = translatable(
                "the author of this {what} cannot approve it: a member of {organisation} other than"
                " {author} (its author) must"
            )
        elif actor.name == author:
            template = translatable(
                "the author of this {what} cannot approve it: a member of {organisation} other than"
                " {author} (its author) and {changed_by} (who last changed it) must"
            )
        else:
            template = translatable(
                "you last changed this {what}, so you cannot approve it: a member of {organisation}"
                " other than {author} (its author) and {changed_by} (who last changed it) must"
            )
        raise FieldError(
            "approved_by",
            template,
            403,
            what=what,
            organisation=organisation or "the author’s organisation",
            author=author,
            changed_by=changed_by,
        )
    if not actor.can_for(permission, organisation):
        raise FieldError(
            "approved_by",
            "only a member of {organisation} may approve it",
            403,
            organisation=organisation or "the author’s organisation",
        )
