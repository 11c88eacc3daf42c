"""Which panels a message, campaign or alert reaches."""

from __future__ import annotations

from collections.abc import Sequence

from controller.scheduling.model import PanelInfo, Targets


def matches(targets: Targets, panel: PanelInfo) -> bool:
    """Whether the panel is in the union of the targets' panels, tags, communes and departments."""
    if targets.within_commune is not None and panel.commune_insee != targets.within_commune:
        return False
    return (
        panel.id in targets.panels
        or not targets.tags.isdisjoint(panel.tags)
        or panel.commune_insee in targets.communes
        or panel.department in targets.departments
    )


def resolve_targets(targets: Targets, panels: Sequence[PanelInfo]) -> list[str]:
    """Ids of the known panels the targets reach, sorted; unknown panel ids are ignored."""
    return sorted(panel.id for panel in panels if matches(targets, panel))
