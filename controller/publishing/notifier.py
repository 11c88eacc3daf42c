"""The notifier: every few seconds, the fleet as the controller knows it goes through each organisation's
rules (``controller.domain.notifications.step``), and what is due goes to its subscribers, by e-mail
through the organisation's SMTP server or by signed webhook, each delivery in the log.

A thread of its own, on its own database connection. Its memory of each panel is in the database, so a
restarted controller neither repeats an offline notice nor forgets one it owes a "back online".
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from controller.domain import subscriptions
from controller.domain.notifications import (
    SOURCE_FAILING,
    Conditions,
    Message,
    Notice,
    PanelCard,
    Seen,
    SourceHealth,
    Watch,
    compose,
    compose_digest,
    compose_source,
    digest_due,
    source_step,
    step,
)
from controller.domain.panels import BrokerWatch
from controller.publishing.destinations import PUBLIC_ONLY, Destinations
from controller.publishing.reports import EVENT_OFFLINE
from controller.publishing.rounds import Rounds
from controller.storage.db import connect, transaction
from relais.webhook_signing import SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)

DEFAULT_EVERY_S = 15.0
DELIVERY_TIMEOUT_S = 10.0
_FLEET_QUERY = """
select p.id, p.name, p.commune_insee, p.commune_name, p.location, s.online, s.last_seen, s.faults,
       coalesce(s.applied_seq, 0) < coalesce(d.seq, 0) as behind
from panels p left join panel_status s on s.panel_id = p.id left join desired d on d.panel_id = p.id
order by p.id
"""
# Running alerts' panels that have not confirmed them yet, with when each alert went on air (its start,
# or its approval if later), as ``controller.publishing.metrics`` counts confirmation times.
_UNCONFIRMED_QUERY = """
select ap.panel_id, a.id, max(a.starts_at, coalesce(a.approved_at, a.created_at))
from alert_panels ap join alerts a on a.id = ap.alert_id
where ap.confirmed_at is null and a.cancelled_at is null and coalesce(a.approval, 'approved') = 'approved'
  and a.starts_at <= ? and a.expires_at > ?
order by a.id
"""


class Notifier:
    """``tick`` once, or ``start`` a thread that ticks every ``every_s`` until ``stop``."""

    def __init__(
        self,
        database: Path,
        watch: Callable[[], BrokerWatch],
        public_url: str,
        every_s: float = DEFAULT_EVERY_S,
        ca_file: str | None = None,
        destinations: Destinations = PUBLIC_ONLY,
    ) -> None:
        """``public_url``: where people open the controller, for the links to panels' pages;
        ``ca_file``: the CA that SMTP servers' certificates are checked against (the system's if None);
        ``destinations``: where webhooks may go."""
        self._database = database
        self._watch = watch
        self._public_url = public_url.rstrip("/")
        self._ca_file = ca_file
        self._destinations = destinations
        self._rounds = Rounds("notifier", every_s, self.tick)

    def start(self) -> None:
        self._rounds.start()

    def stop(self) -> None:
        self._rounds.stop()

    def tick(self, now: float) -> int:
        """One round: each organisation's rules over the fleet, then the deliveries; how many were sent."""
        db = connect(self._database)
        try:
            return self._round(db, now)
        finally:
            db.close()

    def _round(self, db: Database, now: float) -> int:
        subscribed = subscriptions.active_subscriptions(db)
        if not subscribed:
            return 0
        fleet = list(db.query(_FLEET_QUERY))
        watch = self._watch()
        broker_down_since = None if watch.connected else watch.since
        cards = {
            row["id"]: PanelCard(
                row["id"],
                row["name"],
                row["commune_name"] or row["commune_insee"],
                row["location"] or "",
                row["last_seen"],
                f"{self._public_url}/parc/{row['id']}",
            )
            for row in fleet
        }
        unconfirmed: dict[str, list[tuple[int, float]]] = {}
        for panel_id, alert_id, on_air_at in db.execute(_UNCONFIRMED_QUERY, [now, now]):
            unconfirmed.setdefault(panel_id, []).append((alert_id, on_air_at))
        sent = 0
        for organisation in sorted({row["organisation"] for row in subscribed}):
            conditions = subscriptions.conditions_of(db, organisation)
            spells = _offline_spells(db, now - conditions.flap_window_s)
            seen = {
                row["id"]: Seen(
                    bool(row["online"]),
                    tuple(json.loads(row["faults"] or "[]")),
                    spells.get(row["id"], 0),
                    bool(row["behind"]),
                    tuple(unconfirmed.get(row["id"], ())),
                )
                for row in fleet
            }
            before = _memory(db, organisation)
            memory, notices = step(conditions, before, seen, now, broker_down_since)
            with transaction(db):
                _remember(db, organisation, before, memory)
            about_sources = self._sources(db, organisation, conditions, now)
            if not notices and not about_sources:
                continue
            smtp = subscriptions.smtp_of(db, organisation)
            for subscription in (row for row in subscribed if row["organisation"] == organisation):
                kinds = set(json.loads(subscription["kinds"]))
                # Sources are the organisation's, not a commune's: for its people of no commune only.
                for_sources = [] if subscription["user_commune"] else about_sources
                for message in [
                    *compose(_for(subscription, notices, fleet), cards, now),
                    *(message for message in for_sources if message.kind in kinds),
                ]:
                    if subscription["digest"]:
                        with transaction(db):
                            subscriptions.log_delivery(db, subscription, message, now, None, queued=True)
                        continue
                    error = self._deliver(subscription, message, cards, smtp, now)
                    with transaction(db):
                        subscriptions.log_delivery(db, subscription, message, now, error)
                    sent += error is None
        return sent + self._digests(db, [row for row in subscribed if row["digest"]], cards, now)

    def _sources(self, db: Database, organisation: str, conditions: Conditions, now: float) -> list[Message]:
        """The organisation's official alert sources due to be reported failing or back, each once."""
        sources = [
            SourceHealth(
                row["id"],
                row["name"],
                row["failures"] or 0,
                row["last_error"],
                row["last_success_at"],
                bool(row["failing_reported"]),
            )
            for row in db.query(
                "select * from alert_sources where coalesce(organisation, '') = ? order by id", [organisation]
            )
        ]
        due = source_step(conditions, sources)
        if due:
            with transaction(db):
                db.conn.executemany(
                    "update alert_sources set failing_reported = ? where id = ?",
                    [(int(kind == SOURCE_FAILING), source.source_id) for kind, source in due],
                )
        link = f"{self._public_url}/alertes-officielles"
        return [compose_source(kind, source, link, now) for kind, source in due]

    def _digests(
        self, db: Database, subscribed: list[dict[str, Any]], cards: dict[str, PanelCard], now: float
    ) -> int:
        """Each digest subscription's day, once it is due, in one message; how many went out."""
        sent = 0
        for subscription in subscribed:
            day = digest_due(subscription["digest_sent_on"], now)
            if day is None:
                continue
            entries = subscriptions.queued_for_digest(db, subscription["id"])
            error = None
            if entries:
                message = compose_digest(
                    [(entry["subject"], entry["text"], json.loads(entry["panels"])) for entry in entries]
                )
                shown = {panel_id: card for panel_id, card in cards.items() if panel_id in message.panel_ids}
                smtp = subscriptions.smtp_of(db, subscription["organisation"])
                error = self._deliver(subscription, message, shown, smtp, now)
                sent += error is None
            with transaction(db):
                subscriptions.digest_sent(
                    db, subscription["id"], [entry["id"] for entry in entries], day, error
                )
        return sent

    def _deliver(
        self,
        subscription: dict[str, Any],
        message: Message,
        cards: dict[str, PanelCard],
        smtp: subscriptions.SmtpSettings | None,
        now: float,
    ) -> str | None:
        """None once delivered, else why not (logged, and kept in the delivery log)."""
        try:
            if subscription["channel"] == "email":
                if smtp is None:
                    return "no SMTP server is set for this organisation"
                send_email(smtp, subscription["address"], message, self._ca_file)
            else:
                post_webhook(
                    subscription["address"], subscription["secret"], message, cards, now, self._destinations
                )
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            log.warning(
                "notification %r to subscription %s not delivered: %s", message.kind, subscription["id"], exc
            )
            return f"{type(exc).__name__}: {exc}"
        log.info("notification %r sent to subscription %s", message.kind, subscription["id"])
        return None


def _for(
    subscription: dict[str, Any], notices: Sequence[Notice], fleet: Sequence[dict[str, Any]]
) -> list[Notice]:
    """The notices this subscription asked for, of panels its user sees, in the communes it chose."""
    communes = {row["id"]: row["commune_insee"] for row in fleet}
    kinds = set(json.loads(subscription["kinds"]))
    chosen = set(json.loads(subscription["communes"]))
    own = subscription["user_commune"]
    return [
        notice
        for notice in notices
        if notice.kind in kinds
        and (own is None or communes.get(notice.panel_id) == own)
        and (not chosen or communes.get(notice.panel_id) in chosen)
    ]


def _offline_spells(db: Database, since: float) -> dict[str, int]:
    return dict(
        db.execute(
            "select panel_id, count(*) from panel_events where event = ? and received_at >= ? group by panel_id",
            [EVENT_OFFLINE, int(since)],
        ).fetchall()
    )


def _memory(db: Database, organisation: str) -> dict[str, Watch]:
    rows = db.execute("select panel_id, watch from notification_watch where organisation = ?", [organisation])
    memory = {}
    for panel_id, text in rows:
        fields = json.loads(text)
        fields.update(
            faults=tuple(fields["faults"]), reported_alerts=tuple(fields.get("reported_alerts", ()))
        )
        memory[panel_id] = Watch(**fields)
    return memory


def _remember(db: Database, organisation: str, before: dict[str, Watch], after: dict[str, Watch]) -> None:
    """Only what changed: a quiet fleet of a thousand panels costs no write at each round."""
    db.conn.executemany(
        "delete from notification_watch where organisation = ? and panel_id = ?",
        [(organisation, panel_id) for panel_id in before.keys() - after.keys()],
    )
    db.conn.executemany(
        "insert or replace into notification_watch (organisation, panel_id, watch) values (?, ?, ?)",
        [
            (organisation, panel_id, json.dumps(asdict(watch)))
            for panel_id, watch in after.items()
            if before.get(panel_id) != watch
        ],
    )


def send_email(
    smtp: subscriptions.SmtpSettings, to: str, message: Message, ca_file: str | None = None
) -> None:
    """Through the organisation's server: STARTTLS (the certificate checked) before any login."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = smtp.sender, to, message.subject
    mail.set_content(message.text)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=DELIVERY_TIMEOUT_S) as server:
        if smtp.starttls:
            server.starttls(context=ssl.create_default_context(cafile=ca_file))
        if smtp.username:
            server.login(smtp.username, smtp.password or "")
        server.send_message(mail)


def webhook_body(message: Message, cards: dict[str, PanelCard], now: float) -> bytes:
    return json.dumps(
        {
            "kind": message.kind,
            "subject": message.subject,
            "text": message.text,
            "broker_down": message.broker_down,
            "panels": [asdict(cards[panel_id]) for panel_id in message.panel_ids if panel_id in cards],
            "sent_at": int(now),
        },
        ensure_ascii=False,
    ).encode()


def post_webhook(
    url: str,
    secret: str,
    message: Message,
    cards: dict[str, PanelCard],
    now: float,
    destinations: Destinations,
) -> None:
    """POST the message as JSON, signed (``relais.webhook_signing``); any answer but 2xx is a failure."""
    post_signed(url, secret, webhook_body(message, cards, now), now, "Relais notifications", destinations)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook is delivered where it was checked to go, never redirected elsewhere."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


_WEBHOOK_OPENER = urllib.request.build_opener(_NoRedirect())


def post_signed(
    url: str,
    secret: str,
    body: bytes,
    now: float,
    user_agent: str,
    destinations: Destinations,
    timeout_s: float = DELIVERY_TIMEOUT_S,
) -> None:
    """POST a JSON body signed with ``secret`` at ``now``: what every webhook Relais sends goes through,
    to an address ``destinations`` allows, with no redirect followed. Any answer but 2xx, or none within
    ``timeout_s``, raises (``OSError`` or ``ValueError``, ``DestinationRefused`` among them)."""
    destinations.check(url)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": user_agent,
            SIGNATURE_HEADER: signature_header(secret.encode(), body, int(now)),
        },
    )
    with _WEBHOOK_OPENER.open(request, timeout=timeout_s) as answer:
        if not 200 <= answer.status < 300:
            raise ValueError(f"the webhook answered {answer.status}")
