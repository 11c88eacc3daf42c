"""The controller's SQLite database, through sqlite-utils, with migrations recorded in the database.

Each migration is a function applied once, in order, inside a transaction; ``_migrations`` records
which ran, so an old database is brought up to date on start and never touched twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlite_utils import Database

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# SQLite gives its -wal and -shm files the database file's own mode.
_DATABASE_SUFFIXES = ("", "-wal", "-shm")


def _0001_initial(db: Database) -> None:
    db.table("panels").create(
        {
            "id": str,
            "name": str,
            "commune_insee": str,
            "commune_name": str,
            "kind": str,
            "width": int,
            "height": int,
            "colour_mode": str,
            "location": str,
            "latitude": float,
            "longitude": float,
            "tags": str,  # JSON array
            "created_at": int,
            "last_seq": int,  # the last sequence number sealed for this panel: it only grows
        },
        pk="id",
        not_null={
            "name",
            "commune_insee",
            "kind",
            "width",
            "height",
            "colour_mode",
            "created_at",
            "last_seq",
        },
        defaults={"last_seq": 0, "tags": "[]", "location": ""},
    )
    db.table("messages").create(
        {"id": int, "text": str, "created_by": str, "created_at": int},
        pk="id",
        not_null={"text", "created_by", "created_at"},
    )
    db.table("message_targets").create(
        {"message_id": int, "panel_id": str},
        pk=("message_id", "panel_id"),
        foreign_keys=[("message_id", "messages", "id"), ("panel_id", "panels", "id")],
    )
    # The outbox: the latest sealed desired state of each panel, kept until the broker acknowledged it
    # (published_at), so neither a controller crash nor a broker outage loses it.
    db.table("desired").create(
        {
            "panel_id": str,
            "seq": int,
            "message_id": int,
            "item_id": str,
            "content_hash": str,
            "payload": bytes,
            "issued_at": int,
            "expires_at": int,
            "published_at": int,
        },
        pk="panel_id",
        not_null={"seq", "payload", "issued_at", "expires_at"},
        foreign_keys=[("panel_id", "panels", "id")],
    )
    db.table("panel_status").create(
        {
            "panel_id": str,
            "online": int,
            "last_seen": int,
            "reported_at": int,
            "item_id": str,
            "content_hash": str,
            "applied_seq": int,
            "agent_version": str,
            "uptime_s": int,
            "screenshot": bytes,
        },
        pk="panel_id",
        foreign_keys=[("panel_id", "panels", "id")],
    )
    db.table("panel_events").create(
        {"id": int, "panel_id": str, "event": str, "at": int, "received_at": int, "details": str},
        pk="id",
        foreign_keys=[("panel_id", "panels", "id")],
    )
    db.table("panel_events").create_index(["panel_id", "id"])
    db.table("api_tokens").create(
        {"id": int, "name": str, "token_hash": str, "created_at": int, "revoked_at": int},
        pk="id",
        not_null={"name", "token_hash", "created_at"},
    )
    db.table("api_tokens").create_index(["token_hash"], unique=True)


def _0002_profiles_and_layouts(db: Database) -> None:
    """Panels point at a shipped profile; messages gain what the layouts use."""
    from controller.rendering.profiles import match_profile

    db.table("panels").add_column("profile", str)
    for row in list(db["panels"].rows):
        profile = match_profile(row["kind"], row["width"], row["height"], row["colour_mode"])
        if profile is None:
            raise RuntimeError(
                f"panel {row['id']} ({row['kind']} {row['width']}x{row['height']} {row['colour_mode']}) matches "
                "no shipped profile: add one to controller/rendering/profiles.toml, then start again"
            )
        db.table("panels").update(row["id"], {"profile": profile.id, "colour_mode": profile.colour_mode})
    for column, kind in (
        ("title", str),
        ("footer", str),
        ("layout", str),
        ("pictogram", str),
        ("qr", str),
        ("markup", str),
        ("role", str),
        ("paging", int),
        ("image", bytes),
    ):
        db.table("messages").add_column(column, kind)
    db.execute(
        "update messages set title = '', footer = '', layout = 'text', markup = 'plain', role = 'normal', paging = 1"
    )


def _0003_scheduling(db: Database) -> None:
    """Schedules, targets beyond panel lists, campaigns with consent, alerts, proof of play."""
    for column, kind in (
        ("starts_at", int),
        ("ends_at", int),
        ("recurrence", str),  # JSON: weekdays, windows, only_during, except_during
        ("priority", str),
        ("dwell_s", float),
        ("campaign_id", int),
        ("targets", str),  # JSON: panels, tags, communes, departments
        ("paused", int),
        ("cancelled_at", int),
    ):
        db.table("messages").add_column(column, kind)
    db.execute(
        """update messages set starts_at = created_at, priority = 'information', paused = 0,
           targets = json_object('panels', (select json_group_array(panel_id) from message_targets t
                                            where t.message_id = messages.id))"""
    )
    db.table("panels").add_column("quiet_hours", str)  # "22:00-06:00" style windows, empty: none
    db.table("panels").add_column(
        "fallback", str
    )  # what to show with nothing scheduled: "commune" or "blank"
    db.execute("update panels set quiet_hours = '', fallback = 'commune'")
    db.table("campaigns").create(
        {
            "id": int,
            "name": str,
            "organisation": str,
            "starts_at": int,
            "ends_at": int,
            "share": float,
            "targets": str,
            "created_by": str,
            "created_at": int,
            "launched_at": int,
            "stopped_at": int,
        },
        pk="id",
        not_null={"name", "starts_at", "ends_at", "share", "targets", "created_by", "created_at"},
    )
    db.table("campaign_consents").create(
        {
            "campaign_id": int,
            "commune_insee": str,
            "status": str,  # pending, accepted, declined
            "hours": str,  # JSON recurrence limiting the campaign in this commune, or null
            "max_share": float,
            "invited_at": int,
            "answered_at": int,
            "answered_by": str,
        },
        pk=("campaign_id", "commune_insee"),
        foreign_keys=[("campaign_id", "campaigns", "id")],
    )
    db.table("alerts").create(
        {
            "id": int,
            "text": str,
            "title": str,
            "targets": str,
            "starts_at": int,
            "expires_at": int,
            "cancelled_at": int,
            "created_by": str,
            "created_at": int,
        },
        pk="id",
        not_null={"text", "targets", "starts_at", "expires_at", "created_by", "created_at"},
    )
    db.table("alert_panels").create(
        {"alert_id": int, "panel_id": str, "confirmed_at": int},
        pk=("alert_id", "panel_id"),
        foreign_keys=[("alert_id", "alerts", "id"), ("panel_id", "panels", "id")],
    )
    db.table("plays").create(
        {
            "id": int,
            "panel_id": str,
            "item_id": str,
            "content_hash": str,
            "started_at": float,
            "ended_at": float,
            "received_at": int,
        },
        pk="id",
        foreign_keys=[("panel_id", "panels", "id")],
    )
    db.table("plays").create_index(["item_id"])
    db.table("plays").create_index(["panel_id", "started_at"])


def _0004_brightness(db: Database) -> None:
    """Each panel's brightness schedule: always full (""), "sun", or daily windows; its night level."""
    db.table("panels").add_column("brightness", str, not_null_default="")
    db.table("panels").add_column("night_brightness", int, not_null_default=30)


def _0005_panel_health(db: Database) -> None:
    """What a technician needs beside online and showing: faults, brightness, disk, temperature."""
    for column, kind in (
        ("faults", str),
        ("brightness", int),
        ("disk_free_mb", int),
        ("cpu_temp_c", float),
        ("backend", str),
        ("link_quality", int),
    ):
        db.table("panel_status").add_column(column, kind)


def _0006_accounts(db: Database) -> None:
    """People with roles, their organisations and tokens, and an audit log nobody can rewrite."""
    db.table("organisations").create(
        {
            "id": str,
            "name": str,
            "commune_insee": str,  # set for a commune's own organisation
            "messages_need_approval": int,
            "alerts_need_approval": int,
            "created_at": int,
        },
        pk="id",
        not_null={"name", "created_at"},
        defaults={"messages_need_approval": 0, "alerts_need_approval": 0},
    )
    db.table("users").create(
        {
            "id": int,
            "name": str,
            "role": str,
            "organisation": str,
            "commune_insee": str,
            "password_hash": str,
            "locale": str,
            "created_at": int,
            "disabled_at": int,
        },
        pk="id",
        not_null={"name", "role", "created_at"},
        defaults={"locale": "fr"},
        foreign_keys=[("organisation", "organisations", "id")],
    )
    db.table("users").create_index(["name"], unique=True)
    db.table("api_tokens").add_column("user_id", int, fk="users", fk_col="id")
    if db.execute("select count(*) from api_tokens").fetchone()[0]:
        # Tokens made before accounts had full rights: they now belong to an administrator of that
        # name, who has no password until someone sets one.
        admin_id = insert_row(db, "users", {"name": "admin", "role": "admin", "created_at": int(time.time())})
        db.execute("update api_tokens set user_id = ?", [admin_id])
    db.table("audit_log").create(
        {
            "id": int,
            "at": float,
            "user_id": int,
            "user_name": str,
            "action": str,  # message.create, campaign.launch, user.create…
            "object_type": str,
            "object_id": str,
            "before": str,  # JSON, or null when the object is new
            "after": str,  # JSON, or null when the object is gone
            "ip": str,
        },
        pk="id",
        not_null={"at", "user_name", "action", "object_type"},
    )
    db.table("audit_log").create_index(["object_type", "object_id"])
    db.table("audit_log").create_index(["user_name"])
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""create trigger audit_log_no_{verb.lower()} before {verb} on audit_log
                begin select raise(abort, 'the audit log is append-only'); end"""
        )


def _0007_approval(db: Database) -> None:
    """Who a message or alert belongs to, and whether a second person approved it before it goes on air."""
    for column, kind in (
        ("organisation", str),  # the author's organisation, whose approval rule applies
        ("commune_insee", str),  # a commune user's message reaches only this commune's panels
        ("approval", str),  # approved, pending, rejected
        ("approved_by", str),
        ("approved_at", int),
        ("rejected_by", str),
        ("rejected_at", int),
        ("rejected_reason", str),
    ):
        db.table("messages").add_column(column, kind)
    for column, kind in (
        ("organisation", str),
        ("approval", str),
        ("approved_by", str),
        ("approved_at", int),
    ):
        db.table("alerts").add_column(column, kind)
    db.execute("update messages set approval = 'approved'")
    db.execute("update alerts set approval = 'approved'")


def _0008_commands(db: Database) -> None:
    """Commands sent to panels, kept so a technician sees whether each was acknowledged."""
    db.table("commands").create(
        {
            "id": int,
            "panel_id": str,
            "seq": int,
            "command": str,
            "args": str,  # JSON
            "sent_at": int,
            "sent_by": str,
        },
        pk="id",
        not_null={"panel_id", "seq", "command", "sent_at", "sent_by"},
        foreign_keys=[("panel_id", "panels", "id")],
    )
    db.table("commands").create_index(["panel_id", "seq"], unique=True)


def _0009_session_epoch(db: Database) -> None:
    """A number in each login session that a password change or a disabling bumps: old cookies die."""
    db.table("users").add_column("session_epoch", int, not_null_default=0)


def _0010_desired_unread_columns(db: Database) -> None:
    """Two columns of the outbox no one read since schedules replaced single messages: the message (always
    null since), and the hash of the panel's whole schedule, whose computing encoded every distinct
    schedule once more at each publish, a sixth of a department's alert call."""
    db.execute("alter table desired drop column message_id")
    db.execute("alter table desired drop column content_hash")


def _0011_screenshots_by_content(db: Database) -> None:
    """Each picture a panel shows kept once, however many panels show it: during a department's alert
    a thousand panels show four pictures, and each state rewrote its panel's copy, most of what a
    fan-out wrote to the database."""
    db.table("screenshots").create({"hash": str, "png": bytes}, pk="hash", not_null={"png"})
    db.table("panel_status").add_column("screenshot_hash", str)
    kept = db.execute("select panel_id, screenshot from panel_status where screenshot is not null").fetchall()
    for panel_id, png in kept:
        digest = hashlib.sha256(png).hexdigest()
        db.execute("insert or ignore into screenshots (hash, png) values (?, ?)", [digest, png])
        db.execute("update panel_status set screenshot_hash = ? where panel_id = ?", [digest, panel_id])
    db.execute("alter table panel_status drop column screenshot")


def _0012_idempotency_keys(db: Database) -> None:
    """The answers of POSTs sent with an ``Idempotency-Key``, by user and key, for a day: a retry gets
    the first answer instead of queuing twice (``controller.web.idempotency``)."""
    db.table("idempotency_keys").create(
        {
            "user_id": int,
            "key": str,
            "fingerprint": str,
            "status": int,
            "content_type": str,
            "body": bytes,
            "created_at": int,
        },
        pk=("user_id", "key"),
        not_null={"fingerprint", "status", "content_type", "body", "created_at"},
    )
    db.table("idempotency_keys").create_index(["created_at"])


def _0013_message_changed_by(db: Database) -> None:
    """Who last changed a message's content, schedule or targets, and when: that person may not approve
    it, as its author may not, so that four eyes are two people."""
    db.table("messages").add_column("changed_by", str)
    db.table("messages").add_column("changed_at", int)


def _0014_events_by_reception(db: Database) -> None:
    """Events found by when they came, for the retention job (``controller.publishing.reports.prune_events``), which
    would otherwise read the whole table for the few rows past their time."""
    db.table("panel_events").create_index(["received_at"])


def _0015_public_counts(db: Database) -> None:
    """How often each public channel is opened, per day, commune (or department, tag) and channel: a
    counter, no row per visit, nothing about the visitor (no address, no browser), for the reach
    indicators."""
    db.table("public_counts").create(
        {"day": str, "place": str, "channel": str, "count": int},
        pk=("day", "place", "channel"),
        not_null={"count"},
    )


def _0016_notifications(db: Database) -> None:
    """Who is told what when panels go dark: each organisation's conditions and SMTP server, each user's
    subscriptions, the notifier's memory of each panel, and every notification sent, with its result."""
    db.table("notification_settings").create(
        {"organisation": str, "conditions": str, "smtp": str, "updated_at": int},
        pk="organisation",  # "" for people of no organisation
        not_null={"conditions", "smtp", "updated_at"},
    )
    db.table("notification_subscriptions").create(
        {
            "id": int,
            "user_id": int,
            "channel": str,  # email, webhook
            "address": str,  # an e-mail address or a URL
            "secret": str,  # a webhook's signing secret
            "kinds": str,  # JSON list, of controller.domain.notifications.KINDS
            "communes": str,  # JSON list of INSEE codes; empty: every commune the user sees
            "digest": int,  # 1: once a day, all together, rather than as they come
            "digest_sent_on": str,  # the Paris day of the last digest sent
            "created_at": int,
        },
        pk="id",
        not_null={"user_id", "channel", "address", "kinds", "communes", "digest", "created_at"},
        defaults={"digest": 0},
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("notification_watch").create(
        {"organisation": str, "panel_id": str, "watch": str},
        pk=("organisation", "panel_id"),
        not_null={"watch"},
    )
    db.table("notification_log").create(
        {
            "id": int,
            "at": int,
            "user_id": int,
            "subscription_id": int,
            "channel": str,
            "recipient": str,
            "kind": str,
            "subject": str,
            "panels": str,  # JSON list of panel ids
            "text": str,  # what a digest will say of it
            "result": str,  # sent, failed, queued (for the day's digest)
            "error": str,
        },
        pk="id",
        not_null={"at", "channel", "recipient", "kind", "subject", "panels", "result"},
    )
    db.table("notification_log").create_index(["user_id", "id"])


def _0017_official_alerts(db: Database) -> None:
    """Official alerts from CAP feeds: each organisation's sources with their health, its rules as data,
    and every document received, once per sender and identifier, with its raw CAP and what it became.
    An alert gains its text per panel profile: an official alert is worded for each kind of panel."""
    db.table("alert_sources").create(
        {
            "id": int,
            "organisation": str,
            "name": str,
            "kind": str,  # atom (MeteoAlarm's feed), cap (one document's URL), folder
            "location": str,  # the URL, or the folder's path
            "poll_interval_s": int,
            "test_mode": int,
            "created_by": str,
            "created_at": int,
            "last_success_at": int,
            "last_error": str,
            "last_error_at": int,
            "failures": int,  # errors in a row, for the backoff
            "next_try_at": int,
            "etag": str,
            "last_modified": str,
        },
        pk="id",
        not_null={"name", "kind", "location", "poll_interval_s", "test_mode", "created_by", "created_at"},
        defaults={"poll_interval_s": 60, "test_mode": 0, "failures": 0, "next_try_at": 0},
    )
    db.table("alert_rules").create(
        {
            "id": int,
            "organisation": str,
            "position": int,  # the first rule that applies, in this order, decides
            "rule": str,  # JSON, as controller.official.rules.rule_from_mapping reads it
            "created_by": str,
            "created_at": int,
            "changed_at": int,
        },
        pk="id",
        not_null={"position", "rule", "created_by", "created_at"},
    )
    db.table("official_alerts").create(
        {
            "id": int,
            "organisation": str,
            "source_id": int,
            "sender": str,
            "identifier": str,
            "sent": str,
            "msg_type": str,
            "event": str,
            "headline": str,
            "status": str,  # received, matched, pending, deployed, rejected, ended
            "reason": str,
            "rule": str,  # JSON of the rule that applied, as it stood then
            "panels": str,  # JSON list of the panels it reaches
            "texts": str,  # JSON: panel profile → wording
            "worded_by": str,  # the approver who edited the wording; null: the rule's, following the phases
            "expires_at": int,
            "deploys_at": int,  # approval with a timeout: deployed then if nobody acted
            "alert_id": int,  # the alert it became on the panels
            "raw": str,
            "received_at": int,
            "decided_by": str,
            "decided_at": int,
        },
        pk="id",
        not_null={"sender", "identifier", "msg_type", "status", "raw", "received_at"},
        foreign_keys=[("source_id", "alert_sources", "id"), ("alert_id", "alerts", "id")],
    )
    db.execute(
        "create unique index official_alerts_once on official_alerts "
        "(coalesce(organisation, ''), sender, identifier)"
    )
    db.table("official_alerts").create_index(["status"])
    db.table("alerts").add_column("texts", str)  # JSON: panel profile → text, over ``text``


def _0018_official_alert_summary(db: Database) -> None:
    """What the official alerts' page lists of each document without reading its raw CAP: who sent it
    by name, its awareness level and type (or CAP's severity), its area in words and its onset
    (documents received before show none of these); and a source's last error as its template and
    values, said in the page's language."""
    db.table("alert_sources").add_column("last_error_detail", str)  # JSON: template, params, where
    table = db.table("official_alerts")
    for column, kind in (
        ("sender_name", str),
        ("awareness_level", int),
        ("awareness_type", int),
        ("severity", str),
        ("area", str),
        ("onset_at", int),
    ):
        table.add_column(column, kind)


def _0019_public_webhooks(db: Database) -> None:
    """Webhooks for apps and websites: each organisation's subscriptions (a URL, its signing secret,
    the events it wants, a commune or every one), what the public saw at the last round (so that a
    restarted controller neither repeats an event nor misses one), and each delivery with its tries.
    And whether the notifier told an official alert source's organisation that it keeps failing."""
    db.table("public_webhooks").create(
        {
            "id": int,
            "organisation": str,  # "" for people of no organisation
            "commune_insee": str,  # null: every commune
            "url": str,
            "secret": str,
            "events": str,  # JSON list, of controller.domain.public_hooks.EVENTS
            "created_by": int,
            "created_at": int,
        },
        pk="id",
        not_null={"organisation", "url", "secret", "events", "created_by", "created_at"},
    )
    db.table("public_hook_memory").create(
        {"key": str, "kind": str, "item": str, "fingerprint": str}, pk="key", not_null={"item", "fingerprint"}
    )
    db.table("public_hook_deliveries").create(
        {
            "id": int,
            "webhook_id": int,
            "event": str,
            "item_key": str,
            "body": str,  # the JSON sent, the same at every try
            "created_at": int,
            "attempts": int,
            "next_try_at": int,
            "result": str,  # pending, sent, failed (no more tries)
            "error": str,  # the last try's
            "done_at": int,
        },
        pk="id",
        not_null={
            "webhook_id",
            "event",
            "item_key",
            "body",
            "created_at",
            "attempts",
            "next_try_at",
            "result",
        },
        defaults={"attempts": 0, "result": "pending"},
        foreign_keys=[("webhook_id", "public_webhooks", "id")],
    )
    db.table("public_hook_deliveries").create_index(["result", "next_try_at"])
    db.table("public_hook_deliveries").create_index(["webhook_id", "id"])
    db.table("alert_sources").add_column("failing_reported", int)  # 1 once the notifier said it fails


def _0020_public_pages_by_place(db: Database) -> None:
    """A public page reads its place's rows only: panels by commune, the messages and alerts that reach
    a panel, and each object's last change in the audit log without reading its rows. Another change may
    have made the commune's index already."""
    db.table("panels").create_index(["commune_insee"], if_not_exists=True)
    db.table("message_targets").create_index(["panel_id", "message_id"], if_not_exists=True)
    db.table("alert_panels").create_index(["panel_id", "alert_id"], if_not_exists=True)
    db.table("audit_log").create_index(["object_type", "object_id", "at"], if_not_exists=True)


def folded(text: str) -> str:
    """Lower case without accents, as searches compare: « amberieu » finds « Ambérieu »."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# Each write of a panel (its sealed state's sequence included) or of its reported status gives it the next
# version: the fleet page is sent the panels changed since the version it last had, not the whole fleet.
_PANEL_CHANGE_TRIGGER = """
create trigger {table}_{event}_changes after {event} on {table} begin
  insert into panel_changes (panel_id, version)
  values (new.{column}, (select coalesce(max(version), 0) + 1 from panel_changes))
  on conflict (panel_id) do update set version = excluded.version;
end
"""


def _0021_fleet_pages(db: Database) -> None:
    """The fleet a page at a time in SQL at 10,000 panels: names and communes folded to search and sort
    them (panels by commune: 0020's index), and a version per panel for the live fleet page."""
    db.table("panels").add_column("folded_name", str, not_null_default="")
    db.table("panels").add_column("folded_commune", str, not_null_default="")
    db.conn.executemany(
        "update panels set folded_name = ?, folded_commune = ? where id = ?",
        [
            (folded(name), folded(commune or ""), panel_id)
            for panel_id, name, commune in db.execute("select id, name, commune_name from panels").fetchall()
        ],
    )
    db.table("panels").create_index(["folded_name", "id"])
    db.table("panel_changes").create({"panel_id": str, "version": int}, pk="panel_id", not_null={"version"})
    db.table("panel_changes").create_index(["version"])
    # Not desired: each sealing writes the panel's last_seq in the same transaction.
    for table, column in (("panels", "id"), ("panel_status", "panel_id")):
        for event in ("insert", "update"):
            db.execute(_PANEL_CHANGE_TRIGGER.format(table=table, event=event, column=column))


def _0022_play_hours(db: Database) -> None:
    """Proof of play summed on the panel per item, content hash and hour (``play_hours`` events): one row
    per sum, kept for good as ``plays`` is, and read with it by the reports. A sum sent again updates its
    row, never adds one: the key is the panel, item, content hash ("" for none) and hour."""
    db.table("play_hours").create(
        {
            "panel_id": str,
            "item_id": str,
            "content_hash": str,
            "hour": int,  # epoch seconds, a whole UTC hour
            "displays": int,
            "seconds_on_air": float,
            "first_start": float,
            "last_end": float,
            "received_at": int,
        },
        pk=("panel_id", "item_id", "content_hash", "hour"),
        not_null={"displays", "seconds_on_air", "first_start", "last_end", "received_at"},
        foreign_keys=[("panel_id", "panels", "id")],
    )
    db.table("play_hours").create_index(["item_id"])


MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("0001_initial", _0001_initial),
    ("0002_profiles_and_layouts", _0002_profiles_and_layouts),
    ("0003_scheduling", _0003_scheduling),
    ("0004_brightness", _0004_brightness),
    ("0005_panel_health", _0005_panel_health),
    ("0006_accounts", _0006_accounts),
    ("0007_approval", _0007_approval),
    ("0008_commands", _0008_commands),
    ("0009_session_epoch", _0009_session_epoch),
    ("0010_desired_unread_columns", _0010_desired_unread_columns),
    ("0011_screenshots_by_content", _0011_screenshots_by_content),
    ("0012_idempotency_keys", _0012_idempotency_keys),
    ("0013_message_changed_by", _0013_message_changed_by),
    ("0014_events_by_reception", _0014_events_by_reception),
    ("0015_public_counts", _0015_public_counts),
    ("0016_notifications", _0016_notifications),
    ("0017_official_alerts", _0017_official_alerts),
    ("0018_official_alert_summary", _0018_official_alert_summary),
    ("0019_public_webhooks", _0019_public_webhooks),
    ("0020_public_pages_by_place", _0020_public_pages_by_place),
    ("0021_fleet_pages", _0021_fleet_pages),
    ("0022_play_hours", _0022_play_hours),
]


def connect(path: Path) -> Database:
    """A connection for one thread; WAL lets the web threads read while the MQTT thread writes."""
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    db = Database(conn)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 30000")
    return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock first (BEGIN IMMEDIATE).

    sqlite-utils reads the schema before it writes; in a deferred transaction, another connection
    committing in between makes the write fail at once with "database is locked", which no busy
    timeout retries. Taking the lock up front lets the timeout do its job. Nested use is a savepoint.
    """
    conn = db.conn
    if conn.in_transaction:
        callbacks = _AFTER_COMMIT.get(id(conn))
        mark = 0 if callbacks is None else len(callbacks)
        try:
            with db.atomic():
                yield db
        except BaseException:
            if callbacks is not None:
                del callbacks[mark:]  # what the savepoint rolled back will never commit
            raise
        return
    db.execute("BEGIN IMMEDIATE")
    _AFTER_COMMIT[id(conn)] = []
    try:
        yield db
    except BaseException:
        _AFTER_COMMIT.pop(id(conn), None)
        conn.rollback()
        raise
    if id(conn) not in _HELD.get():
        _commit(conn)


_HELD: ContextVar[frozenset[int]] = ContextVar("held_commits", default=frozenset())
# Per connection in a write transaction: what to run once it commits (``after_commit``).
_AFTER_COMMIT: dict[int, list[Callable[[], None]]] = {}


def _commit(conn: sqlite3.Connection) -> None:
    conn.commit()
    for callback in _AFTER_COMMIT.pop(id(conn), []):
        callback()


def after_commit(db: Database, callback: Callable[[], None]) -> bool:
    """Run ``callback`` once the write transaction ``db`` is in has committed; never if it, or the
    savepoint it was registered in, rolls back. False (and nothing run) outside a ``transaction``."""
    callbacks = _AFTER_COMMIT.get(id(db.conn))
    if callbacks is None or not db.conn.in_transaction:
        return False
    callbacks.append(callback)
    return True


@contextmanager
def held_commit(db: Database) -> Iterator[None]:
    """Write transactions opened inside commit here, at the end, all together, instead of when they end.

    For a request that records something beside what its route wrote (an idempotency key and the
    answer): both are kept or neither, and the route still takes the write lock only at its own
    ``transaction``, after its slow checks and drawing, not for the whole request."""
    token = _HELD.set(_HELD.get() | {id(db.conn)})
    try:
        yield
    except BaseException:
        _AFTER_COMMIT.pop(id(db.conn), None)
        if db.conn.in_transaction:
            db.conn.rollback()
        raise
    finally:
        _HELD.reset(token)
    if db.conn.in_transaction:
        _commit(db.conn)


def insert_row(db: Database, table: str, row: dict[str, Any]) -> int:
    """Insert one row into a table keyed by an integer id, and return that id."""
    row_id = db.table(table).insert(row).last_pk
    if not isinstance(row_id, int):
        raise TypeError(f"{table} is not keyed by an integer id (got {row_id!r})")
    return row_id


# Well below SQLite's limit of host parameters in one statement.
_IDS_PER_QUERY = 500


def rows_for_ids(db: Database, sql: str, ids: Sequence[Any], params: Sequence[Any] = ()) -> Iterator[Any]:
    """The rows of ``sql`` (``... in ({marks})`` last, after ``params``) for these ids, in chunks SQLite
    takes: a department's thousand panels in two statements rather than a thousand."""
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = list(ids[start : start + _IDS_PER_QUERY])
        yield from db.conn.execute(sql.format(marks=",".join("?" for _ in chunk)), [*params, *chunk])


def pairs_for_ids(db: Database, sql: str, ids: Sequence[str]) -> dict[Any, Any]:
    """``sql`` (two columns, ``... in ({marks})``) for these ids, as a dict."""
    return dict(rows_for_ids(db, sql, ids))


def migrate(db: Database) -> list[str]:
    """Apply the migrations this database has not had yet; return their names."""
    if db.journal_mode != "wal" and not db.memory:
        db.enable_wal()
    if "_migrations" not in db.table_names():
        db.table("_migrations").create({"name": str, "applied_at": int}, pk="name")
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        with transaction(db):
            migration(db)
            db.table("_migrations").insert({"name": name, "applied_at": int(time.time())})
        applied.append(name)
    return applied


def private_data_dir(path: Path) -> Path:
    """The controller's data folder (database, signing key, tokens, broker users, backups), made 0700:
    run outside the systemd units, whose UMask covers it, a usual umask leaves it open to every local
    user. A folder found open to others is tightened, with a warning."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    _tighten(path, PRIVATE_DIR_MODE, "the data folder")
    return path


def _tighten(path: Path, mode: int, what: str) -> None:
    found = path.stat().st_mode & 0o777
    if found & 0o077:
        path.chmod(mode)
        log.warning("%s %s was open to other users (mode %o): now %o", what, path, found, mode)


def _private_database_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (whose files follow the umask), or tighten it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for suffix in _DATABASE_SUFFIXES:
        part = path.with_name(path.name + suffix)
        if part.exists():
            _tighten(part, PRIVATE_FILE_MODE, "the database file")


def open_database(path: Path) -> Database:
    """Open (creating if needed, private to its user) and bring the schema up to date."""
    private_data_dir(path.parent)
    _private_database_file(path)
    db = connect(path)
    migrate(db)
    return db
