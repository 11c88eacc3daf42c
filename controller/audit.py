"""The audit log: who changed what, when, with the state before and after, append-only.

``record`` is called inside the transaction that makes the change, so a change is never without its
entry nor an entry without its change; the table's triggers refuse any UPDATE or DELETE.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlite_utils import Database

from controller.access import Actor


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
    db["audit_log"].insert(
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
