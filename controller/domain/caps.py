"""How many of a thing one person or organisation may keep: notification subscriptions per user,
public webhooks per organisation. Each is delivered at every change, so the caps bound what one
account makes the controller send."""

from __future__ import annotations

from sqlite_utils import Database

from controller.domain.errors import FieldError


def refuse_past_cap(
    db: Database, table: str, owner_column: str, owner: object, most: int, field: str, template: str
) -> None:
    """A 409 on ``field`` (``template``, marked ``translatable``, with ``{most}``) when ``owner`` has
    ``most`` rows of ``table`` already; ``table`` and ``owner_column`` are the code's, never input."""
    count = db.execute(f"select count(*) from {table} where {owner_column} = ?", [owner]).fetchone()[0]
    if count >= most:
        raise FieldError(field, template, status=409, most=most)
