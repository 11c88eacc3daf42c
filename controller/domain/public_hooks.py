"""Webhooks for apps and websites: an organisation's subscriptions, the events they get, and each delivery
with its tries, kept in the database.

The events come from what the public sees (``controller.domain.public``), compared round by round with
what it saw before: a message published, changed or ended, an alert started or ended. Never a pending or
rejected message, never who wrote or approved it: an event carries the public item and nothing more.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from sqlite_utils import Database

from controller.dates import iso_utc
from controller.domain.addresses import is_http_url
from controller.domain.caps import refuse_past_cap
from controller.domain.errors import FieldError, translatable
from controller.domain.panels import INSEE_PATTERN
from controller.domain.public import PublicItem, public_communes, public_item
from controller.storage.db import insert_row

MESSAGE_PUBLISHED = "message.published"
MESSAGE_CHANGED = "message.changed"
MESSAGE_ENDED = "message.ended"
ALERT_STARTED = "alert.started"
ALERT_ENDED = "alert.ended"
EVENTS = (MESSAGE_PUBLISHED, MESSAGE_CHANGED, MESSAGE_ENDED, ALERT_STARTED, ALERT_ENDED)
MAX_URL = 2000
MAX_WEBHOOKS_PER_ORGANISATION = 20
# A delivery is tried this many times in all, waiting RETRY_BASE_S, then twice as long each time.
MAX_ATTEMPTS = 6
RETRY_BASE_S = 30.0
PENDING, SENT, FAILED = "pending", "sent", "failed"
# Deliveries done (sent or failed) this long ago leave the log.
DELIVERIES_KEPT_S = 30 * 24 * 3600


@dataclass(frozen=True)
class Seen:
    """A public item as a round saw it: what an event says of it, the communes (INSEE codes) it is
    public in, and a fingerprint of what the public reads (a change of it is « changed »)."""

    key: str
    kind: Literal["message", "alert"]
    item: dict[str, Any]
    communes: tuple[str, ...]
    fingerprint: str


@dataclass(frozen=True)
class Event:
    name: str
    seen: Seen


def _item_json(item: PublicItem, communes: Mapping[str, str], public_url: str) -> dict[str, Any]:
    """What a receiver gets of an item: its words, dates, places and public pages, no person's name."""
    return {
        "key": item.key,
        "kind": item.kind,
        "title": item.headline,
        "text": item.text,
        "priority": item.priority,
        "starts_at": iso_utc(item.starts_at),
        "ends_at": iso_utc(item.ends_at),
        "communes": [{"insee": insee, "name": name} for insee, name in communes.items()],
        "tags": list(item.tags),
        "pages": [f"{public_url}/c/{quote(insee, safe='')}" for insee in communes],
    }


def public_now(
    messages: Iterable[dict[str, Any]], alerts: Iterable[dict[str, Any]], now: float, public_url: str
) -> dict[str, Seen]:
    """Every item the public may see now (on air or to come), by key."""
    found = {}
    kinds: list[tuple[Literal["message", "alert"], Iterable[dict[str, Any]]]] = [
        ("message", messages),
        ("alert", alerts),
    ]
    for kind, rows in kinds:
        for row in rows:
            item = public_item(kind, row, now)
            if item is None:
                continue
            communes = public_communes(row)
            shown = _item_json(item, communes, public_url.rstrip("/"))
            # What the public reads, not where: a controller given a new address changes no item.
            read = {name: value for name, value in shown.items() if name != "pages"}
            fingerprint = hashlib.sha256(json.dumps(read, sort_keys=True).encode()).hexdigest()
            found[item.key] = Seen(item.key, kind, shown, tuple(communes), fingerprint)
    return found


def events(before: Mapping[str, Seen], after: Mapping[str, Seen]) -> list[Event]:
    """What changed between two rounds, in key order: new items, changed messages, items gone."""
    found = []
    for key in sorted(after.keys() | before.keys()):
        old, new = before.get(key), after.get(key)
        if old is None and new is not None:
            found.append(Event(MESSAGE_PUBLISHED if new.kind == "message" else ALERT_STARTED, new))
        elif new is None and old is not None:
            found.append(Event(MESSAGE_ENDED if old.kind == "message" else ALERT_ENDED, old))
        elif (
            new is not None
            and old is not None
            and new.kind == "message"
            and new.fingerprint != old.fingerprint
        ):
            found.append(Event(MESSAGE_CHANGED, new))
    return found


def event_body(event: Event, delivery_id: int, at: float) -> dict[str, Any]:
    """The JSON a receiver gets; ``id`` is the delivery's, the same at each retry (to drop duplicates)."""
    return {"id": delivery_id, "event": event.name, "at": iso_utc(int(at)), "item": event.seen.item}


def retry_after_s(attempts: int, base_s: float = RETRY_BASE_S) -> float:
    """The wait before the next try, after ``attempts`` tries: ``base_s``, then twice as long each time."""
    return base_s * 2 ** max(0, attempts - 1)


# Memory ----------------------------------------------------------------------------------------------


def remembered(db: Database) -> dict[str, Seen]:
    return {
        row["key"]: Seen(
            row["key"],
            row["kind"],
            json.loads(row["item"]),
            tuple(commune["insee"] for commune in json.loads(row["item"])["communes"]),
            row["fingerprint"],
        )
        for row in db.query("select * from public_hook_memory")
    }


def remember(db: Database, before: Mapping[str, Seen], after: Mapping[str, Seen]) -> None:
    """Only what changed. The caller owns the transaction."""
    db.conn.executemany(
        "delete from public_hook_memory where key = ?", [(key,) for key in before.keys() - after.keys()]
    )
    db.conn.executemany(
        "insert or replace into public_hook_memory (key, kind, item, fingerprint) values (?, ?, ?, ?)",
        [
            (seen.key, seen.kind, json.dumps(seen.item, ensure_ascii=False), seen.fingerprint)
            for seen in after.values()
            if before.get(seen.key) != seen
        ],
    )


# Subscriptions ---------------------------------------------------------------------------------------


def add_webhook(
    db: Database, organisation: str, commune: str | None, user_id: int, data: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """``{"url", "events"?}`` for ``commune`` (None: every commune), with a fresh signing secret. The
    caller decides the organisation and commune the person may choose."""
    unknown = sorted(set(data) - {"url", "events", "commune"})
    if unknown:
        raise FieldError(unknown[0], "unknown field: a webhook has url, events and commune")
    url = data.get("url")
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise FieldError("url", "is required, {most} characters at most", most=MAX_URL)
    if not is_http_url(url):
        raise FieldError("url", "a webhook's address is an http:// or https:// URL")
    wanted = data.get("events", list(EVENTS))
    if not isinstance(wanted, list) or not wanted or not all(isinstance(name, str) for name in wanted):
        raise FieldError("events", "must be a list of one or more of {events}", events=", ".join(EVENTS))
    for name in wanted:
        if name not in EVENTS:
            raise FieldError(
                "events", "{value!r} is not one of {events}", value=name, events=", ".join(EVENTS)
            )
    refuse_past_cap(
        db,
        "public_webhooks",
        "organisation",
        organisation,
        MAX_WEBHOOKS_PER_ORGANISATION,
        "url",
        translatable("{most} webhooks at most per organisation"),
    )
    made = insert_row(
        db,
        "public_webhooks",
        {
            "organisation": organisation,
            "commune_insee": commune,
            "url": url,
            "secret": secrets.token_urlsafe(32),
            "events": json.dumps([name for name in EVENTS if name in wanted]),
            "created_by": user_id,
            "created_at": int(now),
        },
    )
    return db.table("public_webhooks").get(made)


def valid_commune(value: Any) -> str | None:
    """A webhook's ``commune``: an INSEE code, or null for every commune."""
    if value is None:
        return None
    if not isinstance(value, str) or not INSEE_PATTERN.fullmatch(value):
        raise FieldError("commune", "must be an INSEE code (01053) or null for every commune")
    return value


def webhook_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """As the API shows it: never the secret (shown once, when made)."""
    return {
        "id": row["id"],
        "organisation": row["organisation"],
        "commune": row["commune_insee"],
        "url": row["url"],
        "events": json.loads(row["events"]),
        "created_at": iso_utc(row["created_at"]),
    }


def list_webhooks(db: Database, organisation: str | None, commune: str | None) -> list[dict[str, Any]]:
    """An organisation's (None: every one), of one commune only when ``commune`` is given."""
    where, params = [], []
    if organisation is not None:
        where.append("organisation = ?")
        params.append(organisation)
    if commune is not None:
        where.append("commune_insee = ?")
        params.append(commune)
    clause = f"where {' and '.join(where)}" if where else ""
    return list(db.query(f"select * from public_webhooks {clause} order by id", params))


def find_webhook(db: Database, webhook_id: int) -> dict[str, Any] | None:
    return next(db.query("select * from public_webhooks where id = ?", [webhook_id]), None)


def remove_webhook(db: Database, webhook_id: int) -> None:
    """The webhook and its deliveries. The caller owns the transaction."""
    db.execute("delete from public_hook_deliveries where webhook_id = ?", [webhook_id])
    db.execute("delete from public_webhooks where id = ?", [webhook_id])


# Deliveries ------------------------------------------------------------------------------------------


def queue(db: Database, found: Sequence[Event], now: float) -> int:
    """A delivery for each event to each webhook that wants it, for its commune; how many. The caller
    owns the transaction."""
    queued = 0
    for webhook in db.query("select id, commune_insee, events from public_webhooks order by id"):
        wanted = set(json.loads(webhook["events"]))
        for event in found:
            if event.name not in wanted:
                continue
            if webhook["commune_insee"] is not None and webhook["commune_insee"] not in event.seen.communes:
                continue
            delivery_id = insert_row(
                db,
                "public_hook_deliveries",
                {
                    "webhook_id": webhook["id"],
                    "event": event.name,
                    "item_key": event.seen.key,
                    "body": "{}",
                    "created_at": int(now),
                    "attempts": 0,
                    "next_try_at": int(now),
                    "result": PENDING,
                },
            )
            body = json.dumps(event_body(event, delivery_id, now), ensure_ascii=False)
            db.execute("update public_hook_deliveries set body = ? where id = ?", [body, delivery_id])
            queued += 1
    return queued


def due_deliveries(db: Database, now: float, limit: int = 100) -> list[dict[str, Any]]:
    """Pending deliveries whose try is due, oldest first, with their webhook's URL and secret."""
    return list(
        db.query(
            """select d.id, d.body, d.attempts, w.url, w.secret from public_hook_deliveries d
               join public_webhooks w on w.id = d.webhook_id
               where d.result = ? and d.next_try_at <= ? order by d.id limit ?""",
            [PENDING, now, limit],
        )
    )


def record_try(
    db: Database,
    delivery: Mapping[str, Any],
    now: float,
    error: str | None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    retry_base_s: float = RETRY_BASE_S,
) -> None:
    """A try's outcome: sent, or retried later with backoff, or failed for good after ``max_attempts``."""
    attempts = delivery["attempts"] + 1
    if error is None:
        changes = {"result": SENT, "error": None, "done_at": int(now)}
    elif attempts >= max_attempts:
        changes = {"result": FAILED, "error": error, "done_at": int(now)}
    else:
        changes = {"error": error, "next_try_at": int(now + retry_after_s(attempts, retry_base_s))}
    db.table("public_hook_deliveries").update(delivery["id"], {**changes, "attempts": attempts})


def forget_old_deliveries(db: Database, now: float, kept_s: float = DELIVERIES_KEPT_S) -> None:
    """Deliveries done more than ``kept_s`` ago. The caller owns the transaction."""
    db.execute(
        "delete from public_hook_deliveries where result != ? and done_at < ?", [PENDING, int(now - kept_s)]
    )


def deliveries_of(db: Database, webhook_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A webhook's deliveries, newest first, as the API shows them."""
    total = db.execute(
        "select count(*) from public_hook_deliveries where webhook_id = ?", [webhook_id]
    ).fetchone()[0]
    rows = db.query(
        """select id, event, item_key, body, created_at, attempts, next_try_at, result, error, done_at
           from public_hook_deliveries where webhook_id = ? order by id desc limit ? offset ?""",
        [webhook_id, limit, offset],
    )
    shown = []
    for row in rows:
        item = json.loads(row.pop("body"))["item"]
        shown.append(
            {
                **row,
                "title": item["title"],
                "created_at": iso_utc(row["created_at"]),
                "next_try_at": iso_utc(row["next_try_at"]) if row["result"] == PENDING else None,
                "done_at": iso_utc(row["done_at"]),
            }
        )
    return shown, total
