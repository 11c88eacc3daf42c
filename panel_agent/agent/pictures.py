"""What the panel can put up: every frame of a schedule decoded once, and a technician's timed frames.

Pure data and decoding, no thread and no network: the rotation (``panel_agent.agent.rotation``) picks
among these pictures, the backend shows them.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

from PIL import Image

from relais import wire
from relais.playback import Showing


@dataclass(frozen=True)
class Picture:
    """A frame decoded once per schedule, with the hash that tells whether it is already on the panel."""

    content_hash: str
    image: Image.Image


@dataclass(frozen=True)
class Applied:
    """The schedule in force, the genuine message it came from, and every frame of it decoded."""

    sealed: wire.Sealed
    schedule: wire.Schedule
    pictures: tuple[tuple[tuple[Picture, ...], ...], ...]  # [item][page][flash_phase], as in Showing
    blank: Picture  # a black frame of the panel's size

    def picture(self, showing: Showing) -> Picture:
        if showing.item is None:
            return self.blank
        return self.pictures[showing.item][showing.page][showing.flash_phase]


@dataclass(frozen=True)
class Override:
    """A timed command on the panel instead of the schedule: ``frames`` in turn, each for ``period_s``,
    from ``since`` until ``until`` (the agent's monotonic time: a wall clock step neither cuts it short
    nor stretches it)."""

    command: str
    frames: tuple[Picture, ...]
    since: float
    until: float
    period_s: float = math.inf

    def at(self, t: float) -> tuple[Picture, float]:
        """The frame up at monotonic time ``t``, and when the next change is (the next frame, or the end)."""
        turn = int(max(t - self.since, 0.0) // self.period_s)
        return self.frames[turn % len(self.frames)], min(self.since + (turn + 1) * self.period_s, self.until)


# Frames decoded by any agent of this process, by content hash, for as long as one of them holds the
# picture: a board's single agent gains nothing and keeps nothing more, but the hundreds of simulated
# panels of a fleet worker decode a department's alert once instead of once each. Pictures are never
# changed once decoded (backends only read them), so sharing them is safe.
_decoded: weakref.WeakValueDictionary[str, Picture] = weakref.WeakValueDictionary()


def picture_of(image: Image.Image) -> Picture:
    """A frame made on the panel (commands), keyed by its pixels rather than by a PNG it never had."""
    return Picture(wire.content_hash(image.tobytes()), image)


def decode(sealed: wire.Sealed, size: tuple[int, int], blank: Picture, held: Applied | None) -> Applied:
    """Decode every frame of a desired schedule, each of exactly the panel's ``size``, or raise.

    All at once, before anything is shown: a schedule with one bad page is refused whole rather than
    failing hours later in the rotation, and the rotation never decodes a PNG on its schedule. A
    frame used several times (by several items, say), held by the schedule in force (``held``: its
    fallback, the items that stay) or by another agent of the process, is decoded once.
    """
    schedule = sealed.desired_schedule()
    kept = held.pictures if held is not None else ()
    decoded = {picture.content_hash: picture for item in kept for page in item for picture in page}

    def picture(item: int, page: int, frame: wire.Frame) -> Picture:
        if (frame.width, frame.height) != size:
            raise wire.WireError(
                "wrong-size",
                f"item {item} page {page} frame is {frame.width}x{frame.height}, "
                f"the panel is {size[0]}x{size[1]}",
            )
        found = decoded.get(frame.content_hash)
        if found is None:
            found = _decoded.get(frame.content_hash)
            if found is None or found.image.size != size:
                # image() refuses data whose size is not the declared one.
                found = _decoded[frame.content_hash] = Picture(frame.content_hash, frame.image())
            decoded[frame.content_hash] = found
        return found

    pictures = tuple(
        tuple(
            tuple(
                picture(item, number, frame) for frame in (page.frame, page.flash_frame) if frame is not None
            )
            for number, page in enumerate(display_item.pages, start=1)
        )
        for item, display_item in enumerate(schedule.items)
    )
    return Applied(sealed, schedule, pictures, blank)
