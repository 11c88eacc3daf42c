"""Messages as stored: their item ids and their content read back exactly as it was rendered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from controller.dates import PARIS
from controller.rendering.engine import MessageContent


def item_id_for(message_id: int) -> str:
    return f"msg-{message_id}"


def content_from_row(fields: dict[str, Any]) -> MessageContent:
    """A queued message's content exactly as it was rendered when queued."""
    return MessageContent(
        body=fields["text"],
        title=fields["title"] or "",
        footer=fields["footer"] or "",
        pictogram=fields["pictogram"],
        qr=fields["qr"],
        image=fields["image"],
        layout=fields["layout"] or "text",
        markup=fields["markup"] or "plain",
        role=fields["role"] or "normal",
        issued_at=datetime.fromtimestamp(fields["created_at"], PARIS),
        paging=bool(fields["paging"]),
    )


def stored_content(db: Database, message_id: int) -> MessageContent | None:
    try:
        return content_from_row(db.table("messages").get(message_id))
    except NotFoundError:
        return None
