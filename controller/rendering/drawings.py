"""What the publisher draws, remembered: each (content, profile) drawn once, its failure too.

Apart from the engine because it is the publisher's memory of drawings, not drawing itself: the
engine's ``render`` is looked up on its module at each call, so a test may watch it.
"""

from __future__ import annotations

import functools

from controller.rendering import engine
from controller.rendering.images import ImageError
from controller.rendering.layouts import LayoutError
from controller.rendering.pictograms import UnknownPictogram
from controller.rendering.profiles import PanelProfile
from controller.rendering.qr import QrError


def drawable(content: engine.MessageContent, profile: PanelProfile) -> engine.Rendering | engine.RenderError:
    """``render``'s result, or why it cannot be drawn: failures are remembered like successes, so a
    message that fits nowhere costs its render once, not once per schedule signed for its panels.
    A render cut off by its time bound is the exception: told, not remembered, since a cold start
    (fonts still to load) may have cost the time, and the next try may well fit."""
    try:
        return _drawable(content, profile)
    except engine.RenderTimeUp as exc:
        return engine.RenderError(exc.field, exc.message)


def forget_drawings() -> None:
    """What the publisher drew is forgotten, as just after a start: for tests of a cold controller."""
    _drawable.cache_clear()


@functools.lru_cache(maxsize=2048)
def _drawable(content: engine.MessageContent, profile: PanelProfile) -> engine.Rendering | engine.RenderError:
    try:
        return engine.render(content, profile)
    except engine.RenderTimeUp:
        raise  # an exception: lru_cache keeps nothing
    except engine.RenderError as exc:
        return engine.RenderError(exc.field, exc.message, exc.pages_needed)  # a fresh one: no traceback kept
    except ValueError as exc:
        # Unknown layout or pictogram, missing glyph, unreadable image, QR too long: all say what.
        return engine.RenderError(_field_of(exc), str(exc))


def _field_of(exc: ValueError) -> str:
    fields: tuple[tuple[type[ValueError], str], ...] = (
        (LayoutError, "layout"),
        (UnknownPictogram, "pictogram"),
        (ImageError, "image"),
        (QrError, "qr"),
    )
    return next((field for kind, field in fields if isinstance(exc, kind)), "text")
