"""Errors that carry the name of the field at fault, for the API's JSON errors and the CLI's messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.rendering.engine import RenderError


class FieldError(ValueError):
    """A refusal naming its field. ``template`` is English with ``{name}`` placeholders filled from
    ``params``, never an f-string: the web layer looks the template up in the client's language (pybabel
    extracts it as ``FieldError:2``) before filling it in; ``message`` is the English, for the CLI."""

    def __init__(self, field: str, template: str, status: int = 400, **params: object) -> None:
        self.field = field
        self.template = template
        self.status = status
        self.params = params
        self.message = template.format(**params) if params else template
        super().__init__(f"{field}: {self.message}")

    def at(self, field: str) -> FieldError:
        """The same refusal about a field named otherwise (``messages[2].text`` for a campaign's)."""
        return FieldError(field, self.template, self.status, **self.params)


def within_length(field: str, text: str, limit: int) -> str:
    """``text`` itself when it has at most ``limit`` characters: every text field says it alike."""
    if len(text) > limit:
        raise FieldError(
            field, "is {length} characters long, the limit is {limit}", length=len(text), limit=limit
        )
    return text


def translatable(template: str) -> str:
    """Mark an error template chosen before its ``FieldError`` is made, so that pybabel extracts it too."""
    return template


def undrawable(refusal: RenderError, where: str) -> FieldError:
    """A rendering's refusal as a 422 on the field it names, saying where (« panneau X »), in the
    renderer's French."""
    return FieldError(refusal.field, "{problem} ({where})", status=422, problem=refusal.message, where=where)
