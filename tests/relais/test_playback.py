"""Playback, shared by both sides: which frame of an item is up at any elapsed time, and when the next change comes."""

from __future__ import annotations

import pytest
from PIL import Image

from relais import wire
from relais.playback import Step, step_at

FRAME = wire.Frame.from_image(Image.new("1", (8, 4), 0))
FLASH = wire.Frame.from_image(Image.new("1", (8, 4), 1))


def page(dwell_ms: int, flash_ms: int | None = None) -> wire.Page:
    if flash_ms is None:
        return wire.Page(FRAME, dwell_ms)
    return wire.Page(FRAME, dwell_ms, FLASH, flash_ms)


def test_two_pages_alternate_over_several_cycles() -> None:
    pages = [page(3000), page(5000)]
    for cycle in range(4):
        start = cycle * 8000
        assert step_at(pages, start) == (Step(0, 0), 3000)
        assert step_at(pages, start + 1) == (Step(0, 0), 2999)
        assert step_at(pages, start + 2999) == (Step(0, 0), 1)
        assert step_at(pages, start + 3000) == (Step(1, 0), 5000)
        assert step_at(pages, start + 7999) == (Step(1, 0), 1)


def test_a_flashing_page_alternates_starting_with_its_frame_each_time_it_comes_up() -> None:
    pages = [page(1000, flash_ms=300), page(500)]
    expected = [
        (0, Step(0, 0), 300),
        (299, Step(0, 0), 1),
        (300, Step(0, 1), 300),
        (600, Step(0, 0), 300),
        (900, Step(0, 1), 100),  # cut short by the end of the dwell
        (1000, Step(1, 0), 500),
        (1500, Step(0, 0), 300),  # the page comes up again with its frame
        (1800, Step(0, 1), 300),
    ]
    for elapsed_ms, step, wait_ms in expected:
        assert step_at(pages, elapsed_ms) == (step, wait_ms), elapsed_ms


def test_a_single_flashing_page_merges_the_frame_across_rounds() -> None:
    # Rounds of 1000 ms: frame 0-400, flash 400-800, frame 800-1000 and on into 0-400 of the next.
    pages = [page(1000, flash_ms=400)]
    assert step_at(pages, 0) == (Step(0, 0), 400)
    assert step_at(pages, 400) == (Step(0, 1), 400)
    assert step_at(pages, 800) == (Step(0, 0), 600)
    assert step_at(pages, 999) == (Step(0, 0), 401)
    assert step_at(pages, 1000) == (Step(0, 0), 400)
    # Ending on the flash frame, the next round's frame is a change.
    assert step_at([page(1000, flash_ms=300)], 900) == (Step(0, 1), 100)


def test_a_single_page_never_changes() -> None:
    for pages in ([page(500)], [page(1000, flash_ms=1000)], [page(1000, flash_ms=5000)]):
        for elapsed_ms in (0, 499, 500, 1000, 10**12):
            assert step_at(pages, elapsed_ms) == (Step(0, 0), None)


def test_large_elapsed_values_land_on_the_right_step() -> None:
    pages = [page(3000), page(5000, flash_ms=200)]
    days = 400 * 24 * 3600 * 1000  # a multiple of the 8000 ms cycle
    assert step_at(pages, days) == (Step(0, 0), 3000)
    assert step_at(pages, days + 3000 + 250) == (Step(1, 1), 150)
    assert step_at(pages, 10**30 + 3200) == (Step(1, 1), 200)  # 10**30 is a multiple of 8000 too


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        step_at([], 0)
    with pytest.raises(ValueError, match="negative"):
        step_at([page(500)], -1)
