"""Who is told what, kept in the database: each organisation's conditions and SMTP server, each user's
subscriptions (e-mail or webhook, which kinds, which communes), and the log of what was sent."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlite_utils import Database

from controller.domain.addresses import is_http_url
from controller.domain.caps import refuse_past_cap
from controller.domain.errors import FieldError, translatable
from controller.domain.notifications import KINDS, Conditions, Message, last_digest_day
from controller.domain.panels import INSEE_PATTERN
from controller.storage.db import insert_row

CHANNELS = ("email", "webhook")
# An address a mail server takes: something, an at sign, a domain with a dot; no spaces nor angle brackets.
EMAIL_PATTERN = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
MAX_ADDRESS = 320
MAX_SUBSCRIPTIONS_PER_USER = 20


@dataclass(frozen=True)
class SmtpSettings:
    """An organisation's mail server: STARTTLS unless told otherwise, a login when it needs one."""

    host: str
    sender: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_json(cls, data: Any, base: SmtpSettings | None) -> SmtpSettings:
        """``base`` changed by ``data`` (a password left out is kept); a wrong field is refused, named."""
        if not isinstance(data, dict):
            raise FieldError("smtp", "must be an object: host, port, starttls, username, password, sender")
        known = {"host", "sender", "port", "starttls", "username", "password"}
        for name in data:
            if name not in known:
                raise FieldError(
                    f"smtp.{name}",
                    "unknown field: the SMTP settings are {names}",
                    names=", ".join(sorted(known)),
                )
        merged = {**(asdict(base) if base else {}), **data}
        for name in ("host", "sender"):
            if not isinstance(merged.get(name), str) or not merged[name].strip():
                raise FieldError(f"smtp.{name}", "is required")
        if not EMAIL_PATTERN.fullmatch(merged["sender"]):
            raise FieldError("smtp.sender", "{address!r} is not an e-mail address", address=merged["sender"])
        port = merged.get("port", 587)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise FieldError(
                "smtp.port", "must be a whole number from {least} to {most}", least=1, most=65535
            )
        if not isinstance(merged.get("starttls", True), bool):
            raise FieldError("smtp.starttls", "must be true or false")
        for name in ("username", "password"):
            if merged.get(name) is not None and not isinstance(merged[name], str):
                raise FieldError(f"smtp.{name}", "must be a string or null")
        return cls(**{**merged, "host": merged["host"].strip(), "sender": merged["sender"].strip()})

    def to_json(self) -> dict[str, Any]:
        """As the API shows it: never the password, only whether there is one."""
        shown = asdict(self)
        del shown["password"]
        return {**shown, "password_set": bool(self.password)}


def _settings_row(db: Database, organisation: str) -> dict[str, Any] | None:
    return next(db.query("select * from notification_settings where organisation = ?", [organisation]), None)


def conditions_of(db: Database, organisation: str) -> Conditions:
    row = _settings_row(db, organisation)
    return Conditions() if row is None else Conditions.from_json(json.loads(row["conditions"]))


def smtp_of(db: Database, organisation: str) -> SmtpSettings | None:
    row = _settings_row(db, organisation)
    found = None if row is None else json.loads(row["smtp"])
    return None if not found else SmtpSettings(**found)


def settings_json(db: Database, organisation: str) -> dict[str, Any]:
    smtp = smtp_of(db, organisation)
    return {
        "organisation": organisation,
        "conditions": conditions_of(db, organisation).to_json(),
        "smtp": None if smtp is None else smtp.to_json(),
    }


def save_settings(db: Database, organisation: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    """``{"conditions"?: {...}, "smtp"?: {...} | null}``, each changed field by field; the caller owns
    the transaction and checks who may."""
    unknown = sorted(set(data) - {"conditions", "smtp"})
    if unknown:
        raise FieldError(unknown[0], "unknown field: give conditions, smtp or both")
    conditions = conditions_of(db, organisation)
    if "conditions" in data:
        if not isinstance(data["conditions"], dict):
            raise FieldError("conditions", "must be an object")
        conditions = Conditions.from_json(data["conditions"], conditions)
    smtp = smtp_of(db, organisation)
    if "smtp" in data:
        smtp = None if data["smtp"] is None else SmtpSettings.from_json(data["smtp"], smtp)
    db.table("notification_settings").upsert(
        {
            "organisation": organisation,
            "conditions": json.dumps(conditions.to_json()),
            "smtp": json.dumps(None if smtp is None else asdict(smtp)),
            "updated_at": int(now),
        },
        pk="organisation",
    )
    return settings_json(db, organisation)


def _string_list(data: dict[str, Any], field: str, allowed: Any, default: list[str]) -> list[str]:
    value = data.get(field, default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldError(field, "must be a list of strings")
    for item in value:
        if not allowed(item):
            raise FieldError(field, "{value!r} is not one of them", value=item)
    return sorted(set(value))


def add_subscription(
    db: Database, user_id: int, data: dict[str, Any], now: float | None = None
) -> dict[str, Any]:
    """``{"channel", "address", "kinds"?, "communes"?}``, made and read back; a webhook gets a fresh
    signing secret."""
    channel, address = data.get("channel"), data.get("address")
    if channel not in CHANNELS:
        raise FieldError("channel", "must be one of {channels}", channels=", ".join(CHANNELS))
    if not isinstance(address, str) or not address or len(address) > MAX_ADDRESS:
        raise FieldError("address", "is required, {most} characters at most", most=MAX_ADDRESS)
    if channel == "email" and not EMAIL_PATTERN.fullmatch(address):
        raise FieldError("address", "{address!r} is not an e-mail address", address=address)
    if channel == "webhook" and not is_http_url(address):
        raise FieldError("address", "a webhook's address is an http:// or https:// URL")
    kinds = _string_list(data, "kinds", lambda kind: kind in KINDS, list(KINDS))
    digest = data.get("digest", False)
    if not isinstance(digest, bool):
        raise FieldError("digest", "must be true or false")
    communes = _string_list(data, "communes", INSEE_PATTERN.fullmatch, [])
    refuse_past_cap(
        db,
        "notification_subscriptions",
        "user_id",
        user_id,
        MAX_SUBSCRIPTIONS_PER_USER,
        "channel",
        translatable("{most} subscriptions at most per user"),
    )
    made = insert_row(
        db,
        "notification_subscriptions",
        {
            "user_id": user_id,
            "channel": channel,
            "address": address,
            "secret": secrets.token_urlsafe(32) if channel == "webhook" else None,
            "kinds": json.dumps(kinds),
            "communes": json.dumps(communes),
            "digest": int(digest),
            "digest_sent_on": last_digest_day(time.time() if now is None else now),
            "created_at": int(time.time() if now is None else now),
        },
    )
    return db.table("notification_subscriptions").get(made)


def subscription_json(row: dict[str, Any]) -> dict[str, Any]:
    """A subscription as the API shows it, without the webhook's secret (shown once, when made)."""
    return {
        "id": row["id"],
        "channel": row["channel"],
        "address": row["address"],
        "kinds": json.loads(row["kinds"]),
        "communes": json.loads(row["communes"]),
        "digest": bool(row["digest"]),
        "created_at": row["created_at"],
    }


def find_subscription(db: Database, subscription_id: int) -> dict[str, Any] | None:
    return next(db.query("select * from notification_subscriptions where id = ?", [subscription_id]), None)


def list_subscriptions(db: Database, user_id: int) -> list[dict[str, Any]]:
    return list(db.query("select * from notification_subscriptions where user_id = ? order by id", [user_id]))


def active_subscriptions(db: Database) -> list[dict[str, Any]]:
    """Every subscription of an enabled user, with the user's organisation ("" for none) and commune."""
    return list(
        db.query(
            "select s.*, coalesce(u.organisation, '') as organisation, u.commune_insee as user_commune"
            " from notification_subscriptions s join users u on u.id = s.user_id"
            " where u.disabled_at is null order by s.id"
        )
    )


QUEUED = "queued"


def log_delivery(
    db: Database,
    subscription: dict[str, Any],
    message: Message,
    at: float,
    error: str | None,
    *,
    queued: bool = False,
) -> None:
    """One message sent (or not, ``error`` says why) to one subscription, or ``queued`` for its digest.
    The caller owns the transaction."""
    insert_row(
        db,
        "notification_log",
        {
            "at": int(at),
            "user_id": subscription["user_id"],
            "subscription_id": subscription["id"],
            "channel": subscription["channel"],
            "recipient": subscription["address"],
            "kind": message.kind,
            "subject": message.subject,
            "panels": json.dumps(list(message.panel_ids)),
            "text": message.text,
            "result": QUEUED if queued else "failed" if error else "sent",
            "error": error,
        },
    )


def queued_for_digest(db: Database, subscription_id: int) -> list[dict[str, Any]]:
    """What waits for a subscription's digest, oldest first."""
    return list(
        db.query(
            "select id, subject, text, panels from notification_log where subscription_id = ? and result = ?"
            " order by id",
            [subscription_id, QUEUED],
        )
    )


def digest_sent(
    db: Database, subscription_id: int, entry_ids: Sequence[int], day: str, error: str | None
) -> None:
    """The day's digest went out (or not, ``error`` says why) with these entries. The caller owns the transaction."""
    db.conn.executemany(
        "update notification_log set result = ?, error = ? where id = ?",
        [("failed" if error else "sent", error, entry_id) for entry_id in entry_ids],
    )
    db.execute(
        "update notification_subscriptions set digest_sent_on = ? where id = ?", [day, subscription_id]
    )


def delivery_log(
    db: Database, user_id: int | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Newest first, without the texts: one user's, or everyone's (None)."""
    where, params = ("where user_id = ?", [user_id]) if user_id is not None else ("", [])
    total = db.execute(f"select count(*) from notification_log {where}", params).fetchone()[0]
    rows = db.query(
        f"select * from notification_log {where} order by id desc limit ? offset ?", [*params, limit, offset]
    )
    return [{**row, "panels": json.loads(row["panels"]), "text": None} for row in rows], total
