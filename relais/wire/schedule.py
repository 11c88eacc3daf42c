"""What a panel shows over the next 48 hours, offline if need be: items of pages of frames, segments of
playlists, brightness steps; every check made on construction and again on reading."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from relais.wire.fields import WireError, optional, required
from relais.wire.frames import Frame

MAX_PAGES = 32
MIN_DWELL_MS = 500
MAX_DWELL_MS = 24 * 3600 * 1000
MIN_FLASH_MS = 100
# A schedule covers 48 hours: a few dozen items, and segments for every change of playlist in them.
MAX_ITEMS = 64
MAX_SEGMENTS = 2000
# Brightness changes a few times a day (sunrise, sunset, or a few fixed windows): far fewer steps.
MAX_BRIGHTNESS_STEPS = 200
FULL_BRIGHTNESS = 100


@dataclass(frozen=True)
class Page:
    """One page of an item: a frame shown for ``dwell_ms``; with ``flash_frame`` the two alternate every
    ``flash_ms`` while the page is up (flashing text on LED; e-paper never gets one)."""

    frame: Frame
    dwell_ms: int
    flash_frame: Frame | None = None
    flash_ms: int = 500

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"frame": self.frame.to_json(), "dwell_ms": self.dwell_ms}
        if self.flash_frame is not None:
            data["flash"] = {"frame": self.flash_frame.to_json(), "period_ms": self.flash_ms}
        return data

    @classmethod
    def from_json(cls, data: Any) -> Page:
        frame = Frame.from_json(required(data, "frame", dict))
        dwell_ms = required(data, "dwell_ms", int)
        if not MIN_DWELL_MS <= dwell_ms <= MAX_DWELL_MS:
            raise WireError("malformed", f"dwell_ms must be {MIN_DWELL_MS} to {MAX_DWELL_MS}")
        flash = optional(data, "flash", dict)
        if flash is None:
            return cls(frame, dwell_ms)
        flash_frame = Frame.from_json(required(flash, "frame", dict))
        if (flash_frame.width, flash_frame.height) != (frame.width, frame.height):
            raise WireError("malformed", "a page's flash frame must have the size of its frame")
        flash_ms = required(flash, "period_ms", int)
        if not MIN_FLASH_MS <= flash_ms <= MAX_DWELL_MS:
            raise WireError("malformed", f"flash period_ms must be {MIN_FLASH_MS} to {MAX_DWELL_MS}")
        return cls(frame, dwell_ms, flash_frame, flash_ms)


@dataclass(frozen=True)
class DisplayItem:
    """One thing a panel can show: its pages, in order.

    ``text``, what the pages say, is for people on the controller's side and stays there: a panel only
    shows frames, and a message's text would be a tenth of an LED update.
    """

    item_id: str
    text: str = field(compare=False)
    pages: tuple[Page, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.pages) <= MAX_PAGES:
            raise ValueError(f"an item has 1 to {MAX_PAGES} pages, not {len(self.pages)}")

    @property
    def frame(self) -> Frame:
        """The first page's frame: what a still screenshot of the item shows."""
        return self.pages[0].frame

    @functools.cached_property
    def content_hash(self) -> str:
        """Changes when any page, timing or flash changes: the panel need not redraw otherwise."""
        digest = hashlib.sha256()
        for page in self.pages:
            digest.update(page.frame.content_hash.encode())
            digest.update(f"|{page.dwell_ms}|".encode())
            if page.flash_frame is not None:
                digest.update(f"{page.flash_frame.content_hash}|{page.flash_ms}|".encode())
        return "sha256:" + digest.hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "pages": [page.to_json() for page in self.pages]}

    @classmethod
    def from_json(cls, data: Any) -> DisplayItem:
        pages = required(data, "pages", list)
        if not 1 <= len(pages) <= MAX_PAGES:
            raise WireError("malformed", f"an item has 1 to {MAX_PAGES} pages, not {len(pages)}")
        first = Page.from_json(pages[0])
        rest = [Page.from_json(page) for page in pages[1:]]
        if any(
            (page.frame.width, page.frame.height) != (first.frame.width, first.frame.height) for page in rest
        ):
            raise WireError("malformed", "all pages of an item must have the same size")
        return cls(required(data, "item_id", str), "", (first, *rest))


@dataclass(frozen=True)
class PlaylistEntry:
    """One turn of a playlist: every page of ``Schedule.items[item]`` in order.

    With ``dwell_ms`` each page stays up that long instead of its own dwell: an e-paper panel that may
    only refresh every few minutes, a short slot in a busy rotation.
    """

    item: int
    dwell_ms: int | None = None

    def __post_init__(self) -> None:
        if self.item < 0:
            raise WireError("malformed", f"playlist item index {self.item} is negative")
        if self.dwell_ms is not None and not MIN_DWELL_MS <= self.dwell_ms <= MAX_DWELL_MS:
            raise WireError("malformed", f"playlist dwell_ms must be {MIN_DWELL_MS} to {MAX_DWELL_MS}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"item": self.item}
        if self.dwell_ms is not None:
            data["dwell_ms"] = self.dwell_ms
        return data

    @classmethod
    def from_json(cls, data: Any) -> PlaylistEntry:
        return cls(required(data, "item", int), optional(data, "dwell_ms", int))


@dataclass(frozen=True)
class Segment:
    """From ``start`` to ``end`` (epoch seconds UTC, end excluded) the playlist loops from its first entry.

    ``blank`` is quiet hours: the panel is dark. An empty playlist that is not blank shows the fallback.
    """

    start: int
    end: int
    playlist: tuple[PlaylistEntry, ...] = ()
    blank: bool = False

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise WireError("malformed", f"segment starts at {self.start}, not before its end {self.end}")
        if self.blank and self.playlist:
            raise WireError("malformed", "a blank segment has no playlist")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "playlist": [entry.to_json() for entry in self.playlist],
        }
        if self.blank:
            data["blank"] = True
        return data

    @classmethod
    def from_json(cls, data: Any) -> Segment:
        return cls(
            required(data, "start", int),
            required(data, "end", int),
            tuple(PlaylistEntry.from_json(entry) for entry in optional(data, "playlist", list) or ()),
            optional(data, "blank", bool) or False,
        )


@dataclass(frozen=True)
class BrightnessStep:
    """From ``start`` to ``end`` (epoch seconds UTC, end excluded) the panel is at ``level`` percent.

    Dimming is for people living near a panel and for drivers at night; outside every step the
    panel is at full brightness, so a schedule without steps keeps a panel as bright as it can be.
    """

    start: int
    end: int
    level: int

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise WireError(
                "malformed", f"brightness step starts at {self.start}, not before its end {self.end}"
            )
        if not 1 <= self.level <= FULL_BRIGHTNESS:
            raise WireError("malformed", f"brightness level must be 1 to {FULL_BRIGHTNESS}, not {self.level}")

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "level": self.level}

    @classmethod
    def from_json(cls, data: Any) -> BrightnessStep:
        return cls(required(data, "start", int), required(data, "end", int), required(data, "level", int))


@dataclass(frozen=True)
class Schedule:
    """What a panel shows until ``horizon_end``, signed in advance so that it goes on without a network.

    ``segments`` are sorted and do not overlap; in the gaps between them, and from the end of the last
    one on (never beyond ``horizon_end``, so expired content is never shown), the panel shows
    ``items[fallback]`` (the commune's name, say), or nothing when ``fallback`` is None. ``brightness``
    steps are sorted, do not overlap and lie between the first segment's start and ``horizon_end``;
    outside them the panel is at full brightness. Every check is made on construction, so the
    controller cannot even build a schedule that a panel would refuse.
    """

    items: tuple[DisplayItem, ...]
    segments: tuple[Segment, ...]
    horizon_end: int
    fallback: int | None = None
    brightness: tuple[BrightnessStep, ...] = ()

    def __post_init__(self) -> None:
        if len(self.items) > MAX_ITEMS:
            raise WireError("malformed", f"a schedule has at most {MAX_ITEMS} items, not {len(self.items)}")
        if len(self.segments) > MAX_SEGMENTS:
            raise WireError(
                "malformed", f"a schedule has at most {MAX_SEGMENTS} segments, not {len(self.segments)}"
            )
        sizes = {(page.frame.width, page.frame.height) for item in self.items for page in item.pages}
        if len(sizes) > 1:
            raise WireError("malformed", "all items of a schedule must have the same frame size")
        if self.fallback is not None and not 0 <= self.fallback < len(self.items):
            raise WireError(
                "malformed", f"fallback item {self.fallback} is not among {len(self.items)} items"
            )
        previous_end: int | None = None
        for segment in self.segments:
            if previous_end is not None and segment.start < previous_end:
                raise WireError(
                    "malformed", f"segment at {segment.start} overlaps or precedes the one before"
                )
            if segment.end > self.horizon_end:
                raise WireError(
                    "malformed", f"segment ends at {segment.end}, beyond the horizon {self.horizon_end}"
                )
            for entry in segment.playlist:
                if entry.item >= len(self.items):
                    raise WireError(
                        "malformed", f"playlist item {entry.item} is not among {len(self.items)} items"
                    )
            previous_end = segment.end
        self._check_brightness()

    def _check_brightness(self) -> None:
        if len(self.brightness) > MAX_BRIGHTNESS_STEPS:
            raise WireError(
                "malformed",
                f"a schedule has at most {MAX_BRIGHTNESS_STEPS} brightness steps, not {len(self.brightness)}",
            )
        first_start = self.segments[0].start if self.segments else None
        previous_end: int | None = None
        for step in self.brightness:
            if first_start is not None and step.start < first_start:
                raise WireError(
                    "malformed",
                    f"brightness step at {step.start} begins before the first segment at {first_start}",
                )
            if previous_end is not None and step.start < previous_end:
                raise WireError(
                    "malformed", f"brightness step at {step.start} overlaps or precedes the one before"
                )
            if step.end > self.horizon_end:
                raise WireError(
                    "malformed", f"brightness step ends at {step.end}, beyond the horizon {self.horizon_end}"
                )
            previous_end = step.end

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "items": [item.to_json() for item in self.items],
            "segments": [segment.to_json() for segment in self.segments],
            "horizon_end": self.horizon_end,
        }
        if self.fallback is not None:
            data["fallback"] = self.fallback
        if self.brightness:
            data["brightness"] = [step.to_json() for step in self.brightness]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Schedule:
        items = required(data, "items", list)
        segments = required(data, "segments", list)
        brightness = optional(data, "brightness", list) or []
        # Counted before parsing, so an oversized list costs nothing to refuse.
        if len(items) > MAX_ITEMS:
            raise WireError("malformed", f"a schedule has at most {MAX_ITEMS} items, not {len(items)}")
        if len(segments) > MAX_SEGMENTS:
            raise WireError(
                "malformed", f"a schedule has at most {MAX_SEGMENTS} segments, not {len(segments)}"
            )
        if len(brightness) > MAX_BRIGHTNESS_STEPS:
            raise WireError(
                "malformed",
                f"a schedule has at most {MAX_BRIGHTNESS_STEPS} brightness steps, not {len(brightness)}",
            )
        return cls(
            tuple(DisplayItem.from_json(item) for item in items),
            tuple(Segment.from_json(segment) for segment in segments),
            required(data, "horizon_end", int),
            optional(data, "fallback", int),
            tuple(BrightnessStep.from_json(step) for step in brightness),
        )

    def frame(self, frame_hash: str) -> Frame | None:
        """The frame of one of the items with that content hash (what a panel's state names), if any."""
        for item in self.items:
            for page in item.pages:
                for frame in (page.frame, page.flash_frame):
                    if frame is not None and frame.content_hash == frame_hash:
                        return frame
        return None

    @classmethod
    def single(cls, item: DisplayItem | None, *, start: int, horizon_end: int) -> Schedule:
        """``item`` from ``start`` to ``horizon_end`` and nothing around it; None: a blank panel."""
        if item is None:
            return cls((), (), horizon_end)
        return cls((item,), (Segment(start, horizon_end, (PlaylistEntry(0),)),), horizon_end)
