"""A time bound on one render, checked by the rendering loops themselves.

``render`` opens a bound; the loops whose work grows with the text (wrapping each word, each line of
a hyphenated word, each fitting attempt) call :func:`check`, which raises
:class:`TimeUp` once the bound is spent. Nothing is interrupted from outside: a render stops between
two steps, leaving no half-drawn state behind. The bound lives in a context variable, so each thread
(a request, the publisher) has its own, and code outside a render is never bounded.

Time is the thread's CPU time, not the clock's: a render is cut off for the work it asks for, not
because other requests or processes had the machine meanwhile, so the same message on the same
profile gets the same answer on a busy controller as on an idle one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ENDS_AT: ContextVar[float | None] = ContextVar("render_ends_at", default=None)


class TimeUp(Exception):
    """The render's bound is spent; ``render`` turns it into a RenderError naming the text."""


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Work inside may take ``seconds`` of this thread's CPU time before :func:`check` raises."""
    token = _ENDS_AT.set(time.thread_time() + seconds)
    try:
        yield
    finally:
        _ENDS_AT.reset(token)


def check() -> None:
    """Raise :class:`TimeUp` if the current bound is spent; free outside a bound."""
    ends_at = _ENDS_AT.get()
    if ends_at is not None and time.thread_time() >= ends_at:
        raise TimeUp
