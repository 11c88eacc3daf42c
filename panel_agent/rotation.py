"""Which frame of an item is up when: a pure schedule, so the timing is tested without threads or clocks.

An item's pages loop forever in order, each up for its ``dwell_ms``. A page with a flash frame shows
its frame and its flash frame in turn, each for ``flash_ms``, starting with the frame every time the
page comes up; the end of the dwell cuts the last of them short. A flash period as long as the dwell
or longer therefore never shows the flash frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from relais import wire


@dataclass(frozen=True)
class Step:
    """One frame of an item: ``pages[page_index].frame`` (phase 0) or its ``flash_frame`` (phase 1)."""

    page_index: int
    flash_phase: int


def step_at(pages: Sequence[wire.Page], elapsed_ms: int) -> tuple[Step, int | None]:
    """The step up ``elapsed_ms`` after the item started, and how many ms until a different step is up.

    The wait is None when nothing ever changes (a single page that does not flash): the caller then
    sleeps until something else wakes it, instead of polling an arbitrary horizon. The schedule is a
    function of the elapsed time alone, never of the steps already shown, so a caller that slept
    through many cycles (a suspended board, a slow e-paper refresh) lands on the right step at once
    instead of replaying the ones it missed.
    """
    if not pages:
        raise ValueError("an item has at least one page")
    if elapsed_ms < 0:
        raise ValueError(f"elapsed_ms must not be negative, not {elapsed_ms}")
    position = elapsed_ms % sum(page.dwell_ms for page in pages)
    index = 0
    while position >= pages[index].dwell_ms:
        position -= pages[index].dwell_ms
        index += 1
    page = pages[index]
    phase, wait_ms = _phase_at(page, position)
    step = Step(index, phase)
    if len(pages) > 1 or phase == 1 or position + wait_ms < page.dwell_ms:
        return step, wait_ms
    # A single page whose round ends on its frame starts the next round on that same frame: the
    # next change is the flash after it, if the page flashes at all.
    if page.flash_frame is None or page.flash_ms >= page.dwell_ms:
        return step, None
    return step, wait_ms + page.flash_ms


def _phase_at(page: wire.Page, position: int) -> tuple[int, int]:
    """The flash phase ``position`` ms into ``page``, and the ms until that phase or the page ends."""
    if page.flash_frame is None:
        return 0, page.dwell_ms - position
    period = position // page.flash_ms
    return period % 2, min((period + 1) * page.flash_ms, page.dwell_ms) - position
