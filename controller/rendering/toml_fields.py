"""Strict reading of the rendering's TOML files (profiles, layouts): one typed reader, one cache.

Profiles and layouts are edited by hand and a silently ignored typo would only show as a wrong frame
on a public panel, so every read checks type and range, keys never read are refused, and every error
names the file, the table path and the key, in French, as the error class of the caller.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

REPO_ROOT = Path(__file__).resolve().parents[2]
_TYPE_NAMES = {
    str: "un texte",
    int: "un entier",
    float: "un nombre",
    bool: "true ou false",
    list: "une liste",
    dict: "une table",
}

T = TypeVar("T")


def display_path(path: Path) -> str:
    """The path as the team writes it: relative to the repository when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def read_toml(path: Path, error: type[ValueError]) -> dict[str, Any]:
    """Parse a TOML file, turning I/O and syntax errors into ``error`` with file, line and column."""
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{where}: lecture impossible ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        at = f"ligne {match[1]}, colonne {match[2]}" if match else "fin du fichier"
        raise error(f"{where}: {at}: TOML invalide ({exc})") from None


def quote(value: object) -> str:
    """A value as French error messages show it: strings in guillemets, the rest as TOML would."""
    if isinstance(value, str):
        return f"« {value} »"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class Fields:
    """Checked reads from one TOML table; a ``default`` makes a key optional; unread keys are refused.

    Errors are ``error("<file>: <table path>.<key>: <what>")``.
    """

    def __init__(self, data: dict[str, Any], error: type[ValueError], file: str, path: str = "") -> None:
        self.data = data
        self.error = error
        self.file = file
        self.path = path
        self.read: set[str] = set()

    def fail(self, key: str, what: str) -> ValueError:
        return self.error(f"{self.file}: {self._where(key)}: {what}")

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        self.read.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "clé manquante")
            return None
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            names = " ou ".join(_TYPE_NAMES[k] for k in kinds)
            raise self.fail(key, f"doit être {names}, pas {quote(value)}")
        return value

    def text(self, key: str, *, allow_empty: bool = False) -> str:
        value: str = self.get(key, str)
        if not allow_empty and not value.strip():
            raise self.fail(key, "ne doit pas être vide")
        return value

    def _default(self, key: str, default: T | None) -> T:
        """What an absent key reads as; without a default ``get`` has refused it already."""
        if default is None:
            raise self.fail(key, "clé manquante")
        return default

    def choice(self, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value: str | None = self.get(key, str, required=default is None)
        if value is None:
            return self._default(key, default)
        if value not in allowed:
            raise self.fail(key, f"{quote(value)} n'est pas une valeur permise ({', '.join(allowed)})")
        return value

    @overload
    def choices(self, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]: ...
    @overload
    def choices(self, key: str, allowed: tuple[str, ...], *, required: bool) -> tuple[str, ...] | None: ...
    def choices(self, key: str, allowed: tuple[str, ...], *, required: bool = True) -> tuple[str, ...] | None:
        values = self.get(key, list, required=required)
        if values is None:
            return None
        if not values:
            raise self.fail(key, "la liste ne doit pas être vide")
        for index, value in enumerate(values):
            if not isinstance(value, str) or value not in allowed:
                raise self.fail(
                    f"{key}[{index}]", f"{quote(value)} n'est pas une valeur permise ({', '.join(allowed)})"
                )
        if len(set(values)) != len(values):
            raise self.fail(key, "une valeur y figure deux fois")
        return tuple(values)

    @overload
    def integer(self, key: str, low: int, high: int) -> int: ...
    @overload
    def integer(self, key: str, low: int, high: int, *, required: bool) -> int | None: ...
    def integer(self, key: str, low: int, high: int, *, required: bool = True) -> int | None:
        value: int | None = self.get(key, int, required=required)
        if value is not None and not low <= value <= high:
            raise self.fail(key, f"doit être un entier de {low} à {high}, pas {value}")
        return value

    def number(
        self, key: str, high: float, default: float | None = None, *, above_zero: bool = False
    ) -> float:
        value = self.get(key, (int, float), required=default is None)
        if value is None:
            return self._default(key, default)
        if not ((value > 0 if above_zero else value >= 0) and value <= high):
            low = "0 (exclu)" if above_zero else "0"
            raise self.fail(key, f"doit être un nombre de {low} à {high}, pas {value}")
        return float(value)

    def flag(self, key: str, default: bool | None = None) -> bool:
        value: bool | None = self.get(key, bool, required=default is None)
        if value is None:
            return self._default(key, default)
        return value

    def table(self, key: str) -> Fields:
        return Fields(self.get(key, dict), self.error, self.file, self._where(key))

    def refuse(self, key: str, why: str) -> None:
        """Refuse a key that this table's other values rule out."""
        if key in self.data:
            raise self.fail(key, why)
        self.read.add(key)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.fail(unknown[0], f"clé inconnue (permises : {', '.join(sorted(self.read))})")


class ReadOnce(Generic[T]):
    """Loads ``read(path)``; the shipped ``default`` path is read once per process and shared."""

    def __init__(self, read: Callable[[Path], dict[str, T]], default: Path) -> None:
        self._read = read
        self.default = default

    @cached_property
    def shipped(self) -> dict[str, T]:
        """The default path's entries; callers must not change this dict."""
        return self._read(self.default)

    def load(self, path: Path) -> dict[str, T]:
        """The entries of ``path``, a copy the caller may change."""
        return dict(self.shipped) if path == self.default else self._read(path)
