"""Errors that carry the name of the field at fault, for the API's JSON errors and the CLI's messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.rendering.engine import RenderError


class FieldError(ValueError):
    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def undrawable(error: RenderError, where: str) -> FieldError:
    """A rendering's refusal as a 422 on the field it names, saying where (« panneau X »), in the
    renderer's French."""
    return FieldError(error.field, f"{error.message} ({where})", status=422)
