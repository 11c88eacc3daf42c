"""How the controller and the agent log: text lines for a person (the default), or one JSON object a line
for a machine (``--log-format json``), with the HTTP request's id when there is one."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Set by the web layer for the length of a request: every line logged meanwhile names it.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# What ``logging.LogRecord`` holds of its own: anything else on a record came through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    set(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the request id, what the
    call gave through ``extra=``, and the traceback as text. Never raises on a value JSON cannot hold."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        line.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Text lines name the request too, at their end: ``… [request 3f2a…]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        record.request_suffix = f" [request {request_id}]" if request_id else ""
        return True


def setup_logging(log_format: str = "text", *, verbose: bool = False) -> None:
    """Log to standard error in ``log_format`` (``LOG_FORMATS``), replacing any handler set before."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(logging.Formatter(TEXT_FORMAT + "%(request_suffix)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
