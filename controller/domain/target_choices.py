"""What a person may target, and what a choice of targets reaches: the answers behind the pages' target
picker, so that a department of 1,000 panels is chosen by department, commune or tag, not box by box.

A commune's user is offered its own commune, the tags only its commune's panels carry, and its own
panels: the same limits ``scope.check_targets`` enforces when the message is queued.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from controller.domain.errors import FieldError
from controller.domain.panels import Panel, check_search
from controller.domain.schedule_fields import parse_targets
from controller.domain.scope import check_targets
from controller.scheduling.model import Targets, department_of
from controller.scheduling.targets import resolve_targets
from controller.storage.db import folded

MAX_TARGETS = 5000


def targeted_panels(
    panels: Mapping[str, Panel], data: dict[str, Any], commune_insee: str | None
) -> tuple[Targets, list[str]]:
    """The targets in ``data`` and the ids of the panels they reach, sorted; a commune's user (``commune_insee``)
    reaches its own commune only. Unknown panel ids are a 422 on ``panels``, as are another commune's."""
    if isinstance(data.get("panels"), list) and len(data["panels"]) > MAX_TARGETS:
        raise FieldError(
            "panels",
            "targets {count} panels, the limit is {max_targets}",
            count=len(data["panels"]),
            max_targets=MAX_TARGETS,
        )
    targets = parse_targets(data)
    unknown = sorted(targets.panels - set(panels))
    if unknown:
        raise FieldError("panels", "unknown panel(s): {panels}", status=422, panels=", ".join(unknown))
    infos = [panel.info for panel in panels.values()]
    check_targets(commune_insee, targets, infos)
    return targets, resolve_targets(replace(targets, within_commune=commune_insee), infos)


def target_choices(db: Database, commune_insee: str | None) -> dict[str, Any]:
    """Departments, communes and tags this person may target, each with the number of panels it reaches:
    counted by the database, a region's 10,000 panels never read one by one."""
    scope, params = ("where p.commune_insee = ?", [commune_insee]) if commune_insee is not None else ("", [])
    # A commune's name as its panel of the greatest id was registered with it (SQLite's max() row).
    per_commune = db.execute(
        f"select commune_insee, commune_name, max(id), count(*) from panels p {scope} group by commune_insee",
        params,
    ).fetchall()
    per_department: Counter[str] = Counter()
    for insee, _name, _last, count in per_commune:
        per_department[department_of(insee)] += count
    per_tag = dict(
        db.execute(
            f"select tag.value, count(*) from panels p, json_each(p.tags) tag {scope} group by tag.value",
            params,
        ).fetchall()
    )
    if commune_insee is not None:  # a tag another commune's panel carries would reach beyond the commune
        shared = db.execute(
            "select distinct tag.value from panels p, json_each(p.tags) tag where p.commune_insee != ?",
            params,
        ).fetchall()
        for (tag,) in shared:
            per_tag.pop(tag, None)
        per_department.clear()
    return {
        "departments": [{"code": code, "panels": count} for code, count in sorted(per_department.items())],
        "communes": sorted(
            (
                {"insee": insee, "name": name or insee, "panels": count}
                for insee, name, _last, count in per_commune
            ),
            key=lambda commune: (folded(commune["name"]), commune["insee"]),
        ),
        "tags": [{"name": tag, "panels": count} for tag, count in sorted(per_tag.items())],
        "panels": sum(count for *_commune, count in per_commune),
    }


def search_panels(
    db: Database, commune_insee: str | None, search: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the panels this person may target whose name, id, commune or INSEE code holds ``search``
    (accents and case aside), by commune then name, and how many there are: found by the database, so a
    region's 10,000 panels answer as fast as a commune's."""
    wanted = folded(check_search(search).strip())
    clauses, params = [], []
    if commune_insee is not None:
        clauses.append("commune_insee = ?")
        params.append(commune_insee)
    if wanted:
        clauses.append(
            "instr(folded_name || ' ' || id || ' ' || folded_commune || ' ' || lower(commune_insee), ?) > 0"
        )
        params.append(wanted)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    (total,) = db.execute(f"select count(*) from panels {where}", params).fetchone()
    rows = db.query(
        f"select * from panels {where} order by folded_commune, folded_name, id limit ? offset ?",
        [*params, limit, offset],
    )
    return [_panel_choice(Panel.from_row(row)) for row in rows], total


def resolve_choice(panels: Mapping[str, Panel], data: Any, commune_insee: str | None) -> dict[str, Any]:
    """How many panels, in how many communes and of which kinds a choice of targets reaches, with one
    panel of each profile to preview on, and the panels it names by id (to show their names)."""
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object with panels, tags, communes or departments")
    targets, reached = targeted_panels(panels, data, commune_insee)
    per_profile: dict[str, list[Panel]] = {}
    for panel_id in reached:
        per_profile.setdefault(panels[panel_id].profile_id, []).append(panels[panel_id])
    kinds = Counter(panels[panel_id].profile.technology for panel_id in reached)
    return {
        "panels": len(reached),
        "communes": len({panels[panel_id].commune_insee for panel_id in reached}),
        "kinds": dict(sorted(kinds.items())),
        "profiles": [
            {**_profile(group[0]), "panels": len(group), "example": _panel_choice(group[0])}
            for _, group in sorted(per_profile.items())
        ],
        "named": [_panel_choice(panels[panel_id]) for panel_id in sorted(targets.panels)],
    }


def _profile(panel: Panel) -> dict[str, Any]:
    profile = panel.profile
    return {
        "profile": panel.profile_id,
        "kind": profile.technology,
        "width": profile.width,
        "height": profile.height,
    }


def _panel_choice(panel: Panel) -> dict[str, Any]:
    return {
        "id": panel.id,
        "name": panel.name,
        "commune": {"insee": panel.commune_insee, "name": panel.commune_name},
        **{key: value for key, value in _profile(panel).items() if key != "profile"},
    }
