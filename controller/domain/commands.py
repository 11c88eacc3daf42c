"""Commands sent to panels, and whether each panel acknowledged them.

The agent acknowledges a command on its events topic (``ack`` with the command's ``seq``); those
events are recorded as they come (``controller.publishing.reports``), and matched here when a technician looks,
so an acknowledgement arriving before the command's row is written is never lost.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from controller.dates import iso_utc
from controller.storage.db import insert_row
from relais.wire import EVENT_ACK, Command

COMMAND_LOG = f"""
select c.id, c.seq, c.command, c.args, c.sent_at, c.sent_by, e.received_at as acked_at, e.details as ack
from commands c
left join panel_events e on e.id = (
    select min(id) from panel_events where panel_id = c.panel_id and event = '{EVENT_ACK}'
    and json_extract(details, '$.seq') = c.seq)
where c.panel_id = ? order by c.id desc limit ? offset ?
"""


def record_command(db: Database, panel_id: str, seq: int, command: Command, sent_by: str, now: float) -> int:
    return insert_row(
        db,
        "commands",
        {
            "panel_id": panel_id,
            "seq": seq,
            "command": command.name,
            "args": json.dumps(command.args, ensure_ascii=False),
            "sent_at": int(now),
            "sent_by": sent_by,
        },
    )


def command_log(db: Database, panel_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A panel's commands, newest first, each with its acknowledgement: ``result`` is null until the panel
    answers, then ``{"ok", "reason"?, "field"?, "detail"?}``."""
    total = db["commands"].count_where("panel_id = ?", [panel_id])
    found = []
    for row in db.query(COMMAND_LOG, [panel_id, limit, offset]):
        ack = json.loads(row["ack"]) if row["ack"] else None
        found.append(
            {
                "id": row["id"],
                "seq": row["seq"],
                "command": row["command"],
                "args": json.loads(row["args"] or "{}"),
                "sent_at": iso_utc(row["sent_at"]),
                "sent_by": row["sent_by"],
                "acked_at": iso_utc(row["acked_at"]),
                "result": None
                if ack is None
                else {key: value for key, value in ack.items() if key not in ("command", "seq")},
            }
        )
    return found, total
