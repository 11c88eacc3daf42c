"""The panel registry: what each panel is, and what the controller knows of its state."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from typing import Any

from sqlite_utils import Database

from controller.dates import iso_utc
from controller.domain.errors import FieldError, within_length
from controller.rendering.markup import MarkupError
from controller.rendering.markup import parse as markup_parse
from controller.rendering.profiles import PanelProfile, ProfileError, get_profile
from controller.scheduling.brightness import FULL, SUN
from controller.scheduling.model import PanelInfo
from controller.scheduling.recurrence import parse_windows
from controller.storage.db import folded
from relais.wire import check_panel_id

FALLBACKS = ("commune", "blank")
INSEE_PATTERN = re.compile(r"^(\d{5}|2[AB]\d{3})$")
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DEFAULT_NIGHT_BRIGHTNESS = 30
# A few daily windows are plenty, and keep a 48-hour schedule's brightness steps far below the wire's limit.
MAX_BRIGHTNESS_WINDOWS = 12
# Beyond this the sun may stay up or down all day: no sunrise or sunset to dim by.
SUN_MAX_LATITUDE = 60


@dataclass(frozen=True)
class Panel:
    id: str
    name: str
    commune_insee: str
    commune_name: str
    profile_id: str
    location: str
    latitude: float | None
    longitude: float | None
    tags: tuple[str, ...]
    quiet_hours: str = ""  # "23:00-06:00,…": the panel is dark then, alerts excepted
    fallback: str = "commune"  # with nothing scheduled: the commune's name, or "blank"
    brightness: str = ""  # full brightness: always (""), from sunrise to sunset ("sun"), or "07:00-22:00,…"
    night_brightness: int = DEFAULT_NIGHT_BRIGHTNESS  # percent, outside those hours

    @property
    def profile(self) -> PanelProfile:
        return get_profile(self.profile_id)

    @cached_property
    def info(self) -> PanelInfo:
        """What the scheduler needs to know of this panel (kept: a panel is read again for each alert)."""
        profile = self.profile
        return PanelInfo(
            id=self.id,
            commune_insee=self.commune_insee,
            tags=frozenset(self.tags),
            min_refresh_s=profile.min_refresh_s,
            refresh_budget_per_day=profile.refresh_budget_per_day,
            quiet_hours=parse_windows(self.quiet_hours) if self.quiet_hours else (),
        )

    def to_json(self) -> dict[str, Any]:
        profile = self.profile
        data = asdict(self)
        commune = {"insee": data.pop("commune_insee"), "name": data.pop("commune_name")}
        return {
            **data,
            "profile": data.pop("profile_id"),
            "commune": commune,
            "tags": list(self.tags),
            "kind": profile.technology,
            "width": profile.width,
            "height": profile.height,
            "colour_mode": profile.colour_mode,
            "led_colour": profile.led_colour,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Panel:
        return cls(
            id=row["id"],
            name=row["name"],
            commune_insee=row["commune_insee"],
            commune_name=row["commune_name"] or "",
            profile_id=row["profile"],
            location=row["location"] or "",
            latitude=row["latitude"],
            longitude=row["longitude"],
            tags=tuple(json.loads(row["tags"] or "[]")),
            quiet_hours=row.get("quiet_hours") or "",
            fallback=row.get("fallback") or "commune",
            brightness=row.get("brightness") or "",
            night_brightness=row.get("night_brightness") or DEFAULT_NIGHT_BRIGHTNESS,
        )


def _require(data: dict[str, Any], field: str, kind: type) -> Any:
    if field not in data or data[field] is None:
        raise FieldError(field, "is required")
    value = data[field]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FieldError(field, "must be a {kind}", kind=kind.__name__)
    return value


def validate_panel(data: dict[str, Any]) -> Panel:
    """Check a new panel's fields; every error names its field."""
    panel_id = _require(data, "id", str)
    try:
        check_panel_id(panel_id)
    except ValueError:
        raise FieldError(
            "id",
            "panel id {panel_id!r} must be 1 to 64 characters among a-z, 0-9, '-' and '_', starting with a"
            " letter or digit",
            panel_id=panel_id,
        ) from None
    name = _require(data, "name", str).strip()
    if not name:
        raise FieldError("name", "must not be empty")
    insee = _require(data, "commune_insee", str)
    if not INSEE_PATTERN.match(insee):
        raise FieldError(
            "commune_insee", "{insee!r} is not an INSEE commune code (5 characters, e.g. 01053)", insee=insee
        )
    profile_id = _require(data, "profile", str)
    try:
        get_profile(profile_id)
    except ProfileError as exc:
        raise FieldError("profile", str(exc)) from None
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) and TAG_PATTERN.match(tag) for tag in tags):
        raise FieldError("tags", "must be a list of lower-case words such as 'entree-de-ville'")
    coordinates = []
    for field, bound in (("latitude", 90), ("longitude", 180)):
        value = data.get(field)
        if value is not None and (
            not isinstance(value, int | float) or isinstance(value, bool) or abs(value) > bound
        ):
            raise FieldError(field, "must be a number between -{bound} and {bound}", bound=bound)
        coordinates.append(None if value is None else float(value))
    quiet_hours = data.get("quiet_hours") or ""
    if not isinstance(quiet_hours, str):
        raise FieldError("quiet_hours", 'must be windows such as "23:00-06:00"')
    try:
        parse_windows(quiet_hours) if quiet_hours else ()
    except ValueError as exc:
        raise FieldError("quiet_hours", str(exc)) from None
    fallback = data.get("fallback", "commune")
    if fallback not in FALLBACKS:
        raise FieldError("fallback", "must be one of {choices}", choices=", ".join(FALLBACKS))
    brightness, night_brightness = _validate_brightness(data, *coordinates)
    return Panel(
        id=panel_id,
        name=name,
        commune_insee=insee,
        commune_name=str(data.get("commune_name") or ""),
        profile_id=profile_id,
        location=str(data.get("location") or ""),
        latitude=coordinates[0],
        longitude=coordinates[1],
        tags=tuple(dict.fromkeys(tags)),
        quiet_hours=quiet_hours,
        fallback=fallback,
        brightness=brightness,
        night_brightness=night_brightness,
    )


def _validate_brightness(
    data: dict[str, Any], latitude: float | None, longitude: float | None
) -> tuple[str, int]:
    """The brightness setting and the night level; "sun" needs both coordinates, away from the poles."""
    brightness = data.get("brightness")
    if brightness is None:
        brightness = ""
    if not isinstance(brightness, str):
        raise FieldError("brightness", 'must be "", "{sun}" or windows such as "07:00-22:00"', sun=SUN)
    if brightness == SUN:
        if latitude is None or longitude is None:
            raise FieldError("brightness", '"{sun}" needs the panel\'s latitude and longitude', sun=SUN)
        if abs(latitude) > SUN_MAX_LATITUDE:
            raise FieldError(
                "brightness",
                '"{sun}" is for latitudes between -{sun_max_latitude} and {sun_max_latitude}',
                sun=SUN,
                sun_max_latitude=SUN_MAX_LATITUDE,
            )
    elif brightness:
        try:
            windows = parse_windows(brightness)
        except ValueError as exc:
            raise FieldError("brightness", str(exc)) from None
        if len(windows) > MAX_BRIGHTNESS_WINDOWS:
            raise FieldError(
                "brightness",
                "at most {max_brightness_windows} windows a day",
                max_brightness_windows=MAX_BRIGHTNESS_WINDOWS,
            )
    night_brightness = data.get("night_brightness")
    if night_brightness is None:
        return brightness, DEFAULT_NIGHT_BRIGHTNESS
    if (
        not isinstance(night_brightness, int)
        or isinstance(night_brightness, bool)
        or not 1 <= night_brightness <= FULL
    ):
        raise FieldError("night_brightness", "must be an integer from 1 to {full} (percent)", full=FULL)
    return brightness, night_brightness


def register_panel(db: Database, data: dict[str, Any], now: float | None = None) -> Panel:
    panel = validate_panel(data)
    if db["panels"].count_where("id = ?", [panel.id]):
        raise FieldError("id", "a panel {panel_id!r} already exists", status=409, panel_id=panel.id)
    profile = panel.profile
    row = asdict(panel)
    row["profile"] = row.pop("profile_id")
    db.table("panels").insert(
        {
            **row,
            # Kept beside the profile id so that fleet queries can filter by kind and size in SQL.
            "kind": profile.technology,
            "width": profile.width,
            "height": profile.height,
            "colour_mode": profile.colour_mode,
            "tags": json.dumps(list(panel.tags), ensure_ascii=False),
            "folded_name": folded(panel.name),
            "folded_commune": folded(panel.commune_name),
            "created_at": int(now if now is not None else time.time()),
            "last_seq": 0,
        }
    )
    return panel


_PANEL_FIELDS = [
    "id",
    "name",
    "commune_insee",
    "commune_name",
    "profile",
    "location",
    "latitude",
    "longitude",
    "tags",
    "quiet_hours",
    "fallback",
    "brightness",
    "night_brightness",
]
_PANEL_COLUMNS = ", ".join(_PANEL_FIELDS)


def get_panels(db: Database, panel_ids: list[str] | None = None) -> dict[str, Panel]:
    """Panels by id, in id order; only the given ids when ``panel_ids`` is not None."""
    if panel_ids is None:
        rows = db.execute(f"select {_PANEL_COLUMNS} from panels order by id")
    else:
        marks = ",".join("?" for _ in panel_ids)
        rows = db.execute(f"select {_PANEL_COLUMNS} from panels where id in ({marks}) order by id", panel_ids)
    return {row[0]: _panel(row) for row in rows}


@lru_cache(maxsize=16_384)
def _panel(row: tuple[Any, ...]) -> Panel:
    """A panel from its row, the same object while the row is unchanged: an alert to a region reads
    10,000 panels three times (its check, its drawing, its schedules), and each ``Panel.info`` once.
    A fleet larger than the cache reads them as before."""
    return Panel.from_row(dict(zip(_PANEL_FIELDS, row, strict=True)))


def commune_names(db: Database, insees: list[str]) -> dict[str, str]:
    """The name of each commune given, as its panels were registered with it (a commune without a named
    panel is left out): people read « Bourg-en-Bresse », not 01053."""
    marks = ",".join("?" for _ in insees)
    rows = db.execute(
        f"""select commune_insee, min(commune_name) from panels
            where commune_insee in ({marks}) and commune_name != '' group by commune_insee""",
        insees,
    )
    return {insee: name for insee, name in rows}


# An item on air is read by its title, or by the start of its text when it has none.
LABEL_LENGTH = 60


def _opening(title: str | None, text: str | None, markup: str = "plain") -> str:
    """The title, else the text's words without their markup (« [np] », « {b} » are not read out)."""
    words = (title or "").strip() or " ".join(_words(text or "", markup).split())
    return words if len(words) <= LABEL_LENGTH else words[: LABEL_LENGTH - 1].rstrip() + "…"


def _words(text: str, markup: str) -> str:
    try:
        return markup_parse(text, markup).plain_text
    except MarkupError:  # stored before a stricter parser: shown as typed rather than not at all
        return text


def item_labels(db: Database, item_ids: list[str | None]) -> dict[str, dict[str, str]]:
    """What people call each item a panel shows, by item id: ``{"kind", "text"}`` with kind message, alert
    or fallback (the commune's name); the page words it (« Alerte : … », « … (repli) »). Unknown ids are
    left out: the page then shows the id itself."""
    ids = {item for item in item_ids if item}
    labels: dict[str, dict[str, str]] = {}
    for kind, prefix, table, markup in (
        ("message", "msg-", "messages", "markup"),
        ("alert", "alert-", "alerts", "'plain'"),
    ):
        numbers = [
            item[len(prefix) :] for item in ids if item.startswith(prefix) and item[len(prefix) :].isdigit()
        ]
        for start in range(0, len(numbers), 500):
            chunk = numbers[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            for number, title, text, syntax in db.execute(
                f"select id, title, text, {markup} from {table} where id in ({marks})", chunk
            ):
                labels[f"{prefix}{number}"] = {"kind": kind, "text": _opening(title, text, syntax)}
    insees = [item.removeprefix("commune-") for item in ids if item.startswith("commune-")]
    for start in range(0, len(insees), 500):
        for insee, name in commune_names(db, insees[start : start + 500]).items():
            labels[f"commune-{insee}"] = {"kind": "fallback", "text": name}
    for insee in insees:
        labels.setdefault(f"commune-{insee}", {"kind": "fallback", "text": insee})
    return labels


STATUS_QUERY = """
select p.*, d.seq as desired_seq, d.item_id as desired_item_id, d.published_at,
       s.online, s.last_seen, s.reported_at, s.item_id as shown_item_id, s.content_hash as shown_content_hash,
       s.applied_seq, s.agent_version, s.uptime_s, s.screenshot_hash is not null as has_screenshot,
       s.faults, s.brightness as shown_brightness, s.disk_free_mb, s.cpu_temp_c, s.backend, s.link_quality
from panels p
left join desired d on d.panel_id = p.id
left join panel_status s on s.panel_id = p.id
{where}
order by {order}
"""
# What a list of panels may be sorted by (the fleet page's columns), as SQL; ties go by name, then id.
SORTS = {
    "name": "p.folded_name",
    "online": "coalesce(s.online, 0)",
    "last_seen": "s.last_seen",
    "agent_version": "s.agent_version",
    "faults": "json_array_length(coalesce(s.faults, '[]'))",
    "brightness_now": "s.brightness",
}
MAX_SEARCH = 100


@dataclass(frozen=True)
class PanelFilter:
    """Which panels a list holds, every condition in SQL: one panel, some panels, those (not) online, of a
    commune, of a kind (led, epaper…), whose name or commune holds ``search`` (accents and case aside);
    never beyond ``within_commune``, a commune user's own."""

    panel_id: str | None = None
    panel_ids: Sequence[str] | None = None
    online: bool | None = None
    commune: str | None = None
    kind: str | None = None
    search: str = ""
    within_commune: str | None = None

    def where(self) -> tuple[str, list[str | int]]:
        clauses: list[str] = []
        params: list[str | int] = []
        for clause, value in (
            ("p.id = ?", self.panel_id),
            ("p.commune_insee = ?", self.commune),
            ("p.commune_insee = ?", self.within_commune),
            ("p.kind = ?", self.kind),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if self.panel_ids is not None:
            clauses.append(f"p.id in ({','.join('?' for _ in self.panel_ids)})")
            params.extend(self.panel_ids)
        if self.online is not None:
            clauses.append("coalesce(s.online, 0) = ?")
            params.append(int(self.online))
        wanted = folded(self.search.strip())
        if wanted:
            clauses.append("(instr(p.folded_name, ?) > 0 or instr(p.folded_commune, ?) > 0)")
            params.extend((wanted, wanted))
        return (f"where {' and '.join(clauses)}" if clauses else ""), params


def check_search(search: str) -> str:
    """A search as typed, refused when longer than any name: it is compared with every panel."""
    return within_length("search", search, MAX_SEARCH)


@dataclass(frozen=True)
class BrokerWatch:
    """Whether the controller hears its panels now: connected to the broker, or not since ``since`` (None:
    never, or no broker configured). While it is not, what it says of a panel is the last it knew."""

    connected: bool
    since: float | None = None


CONNECTED = BrokerWatch(True)


def panel_statuses(
    db: Database,
    panel_id: str | None = None,
    *,
    panel_ids: Sequence[str] | None = None,
    online: bool | None = None,
    commune: str | None = None,
    kind: str | None = None,
    watch: BrokerWatch = CONNECTED,
) -> list[dict[str, Any]]:
    """Each panel with what a technician asks first: online, last seen, showing what, up to date;
    one panel, some panels, or those that are (not) online, of a commune, of a kind (led, epaper…).
    ``showing`` is the panel's own report, as of ``reported_at``. ``state_known``
    is false while the controller is not connected to its broker (``watch``): ``online`` is then the
    last known value, since ``unknown_since``."""
    chosen = PanelFilter(panel_id=panel_id, panel_ids=panel_ids, online=online, commune=commune, kind=kind)
    where, params = chosen.where()
    return _statuses(db, where, params, "p.id", watch)


def panel_page(
    db: Database,
    chosen: PanelFilter,
    limit: int,
    offset: int,
    *,
    sort: str | None = None,
    descending: bool = False,
    watch: BrokerWatch = CONNECTED,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the panels ``chosen`` picks, as ``panel_statuses`` gives them, and how many it picks:
    counted, sorted and cut by the database, so a page of 10,000 panels costs a page. In id order, or by
    ``sort`` (one of ``SORTS``), ties by name."""
    where, params = chosen.where()
    narrow = f"from panels p left join panel_status s on s.panel_id = p.id {where}"
    (total,) = db.execute(f"select count(*) {narrow}", params).fetchone()
    if sort is None:
        order = "p.id"
    else:
        order = f"{SORTS[sort]} {'desc' if descending else 'asc'}, p.folded_name, p.id"
    # The page's ids first, without the sealed states' payloads beside them: skipping 9,900 rows then reads
    # 9,900 ids, not 9,900 schedules.
    page = f"where p.id in (select p.id {narrow} order by {order} limit ? offset ?)"
    return _statuses(db, page, [*params, limit, offset], order, watch), total


def _statuses(
    db: Database, where: str, params: Sequence[str | int], order: str, watch: BrokerWatch
) -> list[dict[str, Any]]:
    rows = list(db.query(STATUS_QUERY.format(where=where, order=order), params))
    labels = item_labels(db, [row["shown_item_id"] for row in rows])
    return [_status(row, labels, watch) for row in rows]


def _status(row: dict[str, Any], labels: dict[str, dict[str, str]], watch: BrokerWatch) -> dict[str, Any]:
    panel = Panel.from_row(row)
    desired_seq = row["desired_seq"] or 0
    applied_seq = row["applied_seq"] or 0
    return {
        **panel.to_json(),
        "online": bool(row["online"]),
        "state_known": watch.connected,
        "unknown_since": None if watch.connected or watch.since is None else iso_utc(int(watch.since)),
        "last_seen": iso_utc(row["last_seen"]),
        "showing": {
            "item_id": row["shown_item_id"],
            "content_hash": row["shown_content_hash"],
            "label": labels.get(row["shown_item_id"] or ""),
            "reported_at": iso_utc(row["reported_at"]),
        },
        "desired_item_id": row["desired_item_id"],
        "desired_seq": desired_seq,
        "applied_seq": applied_seq,
        "up_to_date": applied_seq >= desired_seq,
        "published": row["desired_seq"] is None or row["published_at"] is not None,
        "agent_version": row["agent_version"],
        "uptime_s": row["uptime_s"],
        "faults": json.loads(row["faults"] or "[]"),
        "brightness_now": row["shown_brightness"],
        "disk_free_mb": row["disk_free_mb"],
        "cpu_temp_c": row["cpu_temp_c"],
        "backend": row["backend"],
        "link_quality": row["link_quality"],
        "has_screenshot": bool(row["has_screenshot"]),
    }


def fleet_summary(db: Database, within_commune: str | None, watch: BrokerWatch = CONNECTED) -> dict[str, int]:
    """The whole fleet a person sees at a glance, whatever a page shows: how many panels, online, offline,
    with a fault, not up to date; while the controller is cut off from its broker, all of unknown state."""
    # Three narrow counts rather than one over the three tables joined, the panels joined only for a commune.
    params = [within_commune] if within_commune is not None else []
    scope = "join panels p on p.id = {key} and p.commune_insee = ?" if within_commune is not None else ""
    (total,) = db.execute(
        f"select count(*) from panels {'where commune_insee = ?' if params else ''}", params
    ).fetchone()
    online, faulty = db.execute(
        f"""select coalesce(sum(s.online), 0), coalesce(sum(s.faults is not null and s.faults != '[]'), 0)
            from panel_status s {scope.format(key="s.panel_id")}""",
        params,
    ).fetchone()
    (late,) = db.execute(
        f"""select count(*) from desired d {scope.format(key="d.panel_id")}
            left join panel_status s on s.panel_id = d.panel_id where coalesce(s.applied_seq, 0) < d.seq""",
        params,
    ).fetchone()
    if not watch.connected:
        return {"total": total, "unknown": total, "online": 0, "offline": 0, "faulty": faulty, "late": late}
    return {
        "total": total,
        "unknown": 0,
        "online": online,
        "offline": total - online,
        "faulty": faulty,
        "late": late,
    }


def latest_change(db: Database) -> int:
    """The version of the last change to any panel (0 before any): where a live page starts from."""
    (version,) = db.execute("select coalesce(max(version), 0) from panel_changes").fetchone()
    return int(version)


def changed_between(
    db: Database, after: int, upto: int, within_commune: str | None, limit: int
) -> list[str] | None:
    """The ids of the panels (of ``within_commune`` only, when given) last changed after version ``after``
    and up to ``upto``; None when more than ``limit`` did: a page then asks its rows again rather than be
    sent a fleet."""
    scope = "and p.commune_insee = ?" if within_commune is not None else ""
    ids = [
        panel_id
        for (panel_id,) in db.execute(
            f"""select c.panel_id from panel_changes c join panels p on p.id = c.panel_id
                where c.version > ? and c.version <= ? {scope} order by c.version limit ?""",
            [after, upto, *([within_commune] if within_commune is not None else []), limit + 1],
        )
    ]
    return None if len(ids) > limit else ids


def commune_list(db: Database, within_commune: str | None) -> list[tuple[str, str]]:
    """The communes with panels (INSEE code and name as registered), by name: what filters offer."""
    scope = "where commune_insee = ?" if within_commune is not None else ""
    rows = db.execute(
        f"select distinct commune_insee, coalesce(commune_name, '') from panels {scope}",
        [within_commune] if within_commune is not None else [],
    ).fetchall()
    return sorted(((insee, name) for insee, name in rows), key=lambda commune: commune[1])
