"""Errors that carry the name of the field at fault, for the API's JSON errors and the CLI's messages."""

from __future__ import annotations


class FieldError(ValueError):
    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status
