"""The audit log: who changed what, when, with the state before and after, append-only.

``record`` is called inside the transaction that makes the change, so a change is never without its
entry nor an entry without its change; the table's triggers refuse any UPDATE or DELETE.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from controller.dates import PARIS, iso_utc
from controller.domain.access import Actor
from controller.domain.errors import FieldError
from controller.domain.spreadsheet import paris_time, spreadsheet_csv

FILTERS = ("user", "action", "object_type", "object_id", "since", "until")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def record(
    db: Database,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str | int | None,
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
) -> None:
    """``actor`` None is the system itself (the command line run by an operator on the server)."""
    db.table("audit_log").insert(
        {
            "at": time.time(),
            "user_id": None if actor is None else actor.user_id,
            "user_name": "système" if actor is None else actor.name,
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "before": None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
            "after": None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True),
            "ip": ip,
        }
    )


def parse_bound(value: str, field: str) -> float:
    """``since``/``until`` from a query string: ISO 8601 with offset, or a date (midnight in Paris).

    A ``+`` typed in a URL arrives as a space, so ``…T08:00:00 01:00`` is read as ``+01:00``.
    """
    if _DATE.match(value):
        return datetime.fromisoformat(value).replace(tzinfo=PARIS).timestamp()
    try:
        moment = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise FieldError(
            field, "{value!r} is not a date (2026-12-21) nor an ISO 8601 date and time", value=value
        ) from None
    if moment.tzinfo is None:
        raise FieldError(field, "needs a UTC offset, e.g. 2026-12-21T08:00:00+01:00 (or Z)")
    return moment.timestamp()


def filter_clause(filters: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The SQL condition for the audit filters given (``action`` without a dot: every ``<object>.*``)."""
    clauses, params = ["1 = 1"], []
    for key in ("user", "action", "object_type", "object_id"):
        value = filters.get(key)
        if not value:
            continue
        if key == "action" and "." not in value:
            clauses.append("substr(action, 1, ?) = ?")
            params += [len(value) + 1, value + "."]
            continue
        clauses.append(f"{'user_name' if key == 'user' else key} = ?")
        params.append(value)
    for key, operator in (("since", ">="), ("until", "<")):
        if filters.get(key):
            clauses.append(f"at {operator} ?")
            params.append(parse_bound(filters[key], key))
    return " and ".join(clauses), params


# Where the name people know an object by lives: « user 8 » reads as the user's name.
NAMED_OBJECTS = {
    "user": "users",
    "campaign": "campaigns",
    "organisation": "organisations",
    "panel": "panels",
}


def object_names(db: Database, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """The current name of each named object these entries are about, by (object type, object id); the
    ids go by the column's own type (SQLite converts '8' for an integer key) and by chunks of 500."""
    names: dict[tuple[str, str], str] = {}
    for object_type, table in NAMED_OBJECTS.items():
        ids = sorted(
            {row["object_id"] for row in rows if row["object_type"] == object_type and row["object_id"]}
        )
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            found = db.execute(f"select id, name from {table} where id in ({marks})", chunk)
            names.update(((object_type, str(object_id)), name) for object_id, name in found)
    return names


def entry_json(row: Mapping[str, Any], object_name: str | None = None) -> dict[str, Any]:
    """An entry as the API shows it: before and after as JSON again, the time in ISO 8601 UTC, and the
    object's name when it has one (null for a message, an alert, a token, or an object since gone)."""
    return {
        "id": row["id"],
        "at": iso_utc(int(row["at"])),
        "user": row["user_name"],
        "user_id": row["user_id"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "object_name": object_name,
        "before": None if row["before"] is None else json.loads(row["before"]),
        "after": None if row["after"] is None else json.loads(row["after"]),
        "ip": row["ip"],
    }


def entries(
    db: Database, filters: Mapping[str, str], limit: int | None = None, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Matching entries, newest first (all of them when ``limit`` is None), and how many match."""
    where, params = filter_clause(filters)
    rows = list(
        db["audit_log"].rows_where(where, params, order_by="id desc", limit=limit, offset=offset or None)
    )
    names = object_names(db, rows)
    found = [entry_json(row, names.get((row["object_type"], row["object_id"]))) for row in rows]
    return found, db["audit_log"].count_where(where, params)


def entry(db: Database, entry_id: int) -> dict[str, Any] | None:
    """One entry as the API shows it, None when there is no such entry."""
    rows = list(db["audit_log"].rows_where("id = ?", [entry_id]))
    if not rows:
        return None
    return entry_json(rows[0], object_names(db, rows).get((rows[0]["object_type"], rows[0]["object_id"])))


CSV_COLUMNS = (
    "numéro",
    "date (UTC)",
    "date (heure de Paris)",
    "utilisateur",
    "action",
    "type d'objet",
    "objet",
    "nom de l'objet",
    "avant",
    "après",
    "adresse IP",
)


def entries_csv(found: list[dict[str, Any]]) -> str:
    """Every entry found, for a spreadsheet (see controller.domain.spreadsheet)."""
    return spreadsheet_csv(
        CSV_COLUMNS,
        (
            (
                entry["id"],
                entry["at"],
                paris_time(entry["at"]),
                entry["user"],
                entry["action"],
                entry["object_type"],
                entry["object_id"],
                entry["object_name"],
                None if entry["before"] is None else json.dumps(entry["before"], ensure_ascii=False),
                None if entry["after"] is None else json.dumps(entry["after"], ensure_ascii=False),
                entry["ip"],
            )
            for entry in found
        ),
    )
