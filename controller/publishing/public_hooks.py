"""Telling apps and websites what the public sees as it changes: every few seconds, what the public may
see now is compared with what it saw at the last round (``controller.domain.public_hooks``), each event
is queued for the webhooks that want it, and the deliveries due are posted, signed, with retries.

A thread of its own, on its own database connection, apart from publishing: a message or an alert
reaches its panels whatever the receivers do. Posts go out on a few threads with a timeout each, so a
slow receiver delays only its own deliveries, by the timeout at most.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from controller.domain import public_hooks
from controller.publishing.destinations import PUBLIC_ONLY, Destinations
from controller.publishing.notifier import post_signed
from controller.publishing.rounds import Rounds
from controller.storage.db import connect, transaction
from controller.storage.public_store import recent_alerts, recent_messages

log = logging.getLogger(__name__)

DEFAULT_EVERY_S = 5.0
DELIVERY_TIMEOUT_S = 5.0
SENDERS = 4
USER_AGENT = "Relais webhooks"


class PublicHooks:
    """``tick`` once, or ``start`` a thread that ticks every ``every_s`` until ``stop``."""

    def __init__(
        self,
        database: Path,
        public_url: str | Callable[[], str],
        every_s: float = DEFAULT_EVERY_S,
        *,
        retry_base_s: float = public_hooks.RETRY_BASE_S,
        max_attempts: int = public_hooks.MAX_ATTEMPTS,
        timeout_s: float = DELIVERY_TIMEOUT_S,
        destinations: Destinations = PUBLIC_ONLY,
    ) -> None:
        """``public_url``: where the public pages are, for the items' links (or what says it at each
        round: a controller on a port chosen when it starts learns its address late)."""
        self._database = database
        self._public_url = public_url if callable(public_url) else lambda: public_url
        self._retry_base_s = retry_base_s
        self._max_attempts = max_attempts
        self._timeout_s = timeout_s
        self._destinations = destinations
        self._senders = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="webhook-sender")
        self._rounds = Rounds("public-webhooks", every_s, self.tick)

    def start(self) -> None:
        self._rounds.start()

    def stop(self) -> None:
        self._rounds.stop()
        self._senders.shutdown(wait=False, cancel_futures=True)

    def tick(self, now: float) -> int:
        """One round: the events since the last one queued, then the deliveries due; how many were sent."""
        db = connect(self._database)
        try:
            self._queue_events(db, now)
            return self._deliver(db, now)
        finally:
            db.close()

    def _queue_events(self, db: Database, now: float) -> None:
        after = public_hooks.public_now(
            recent_messages(db, now), recent_alerts(db, now), now, self._public_url()
        )
        with transaction(db):
            before = public_hooks.remembered(db)
            found = public_hooks.events(before, after)
            public_hooks.remember(db, before, after)
            if found:
                public_hooks.queue(db, found, now)
            public_hooks.forget_old_deliveries(db, now)

    def _deliver(self, db: Database, now: float) -> int:
        due = public_hooks.due_deliveries(db, now)
        errors = list(self._senders.map(lambda delivery: self._post(delivery, now), due))
        with transaction(db):
            for delivery, error in zip(due, errors, strict=True):
                public_hooks.record_try(
                    db,
                    delivery,
                    now,
                    error,
                    max_attempts=self._max_attempts,
                    retry_base_s=self._retry_base_s,
                )
        return errors.count(None)

    def _post(self, delivery: dict[str, Any], now: float) -> str | None:
        """None once delivered, else why not (kept in the delivery's log)."""
        try:
            post_signed(
                delivery["url"],
                delivery["secret"],
                delivery["body"].encode(),
                now,
                USER_AGENT,
                self._destinations,
                self._timeout_s,
            )
        except (OSError, ValueError) as exc:  # urllib's errors are OSErrors
            log.warning("webhook delivery %s not delivered: %s", delivery["id"], exc)
            return f"{type(exc).__name__}: {exc}"
        return None
