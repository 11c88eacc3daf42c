"""CSV exports a French spreadsheet opens as is, and never runs: every export of the controller goes here.

UTF-8 with a byte order mark, ``;`` between cells, CRLF lines. A cell that starts like a formula
(``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``, as OWASP advises
against CSV injection: a commune's name or a user's name typed as ``=HYPERLINK(…)`` stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from controller.dates import PARIS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """Text for a spreadsheet cell; one starting like a formula is quoted so that it is never run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def paris_time(iso: str | None) -> str:
    """An API time (ISO 8601 UTC) as a French spreadsheet shows it, in Paris time: 21/12/2026 18:05:00."""
    return "" if not iso else datetime.fromisoformat(iso).astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


def spreadsheet_csv(columns: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """The header then one line per row, every cell neutralised."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(cell(name) for name in columns)
    writer.writerows((cell(value) for value in row) for row in rows)
    return buffer.getvalue()
