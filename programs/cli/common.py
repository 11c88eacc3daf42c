"""What the commands share: adding a command, the data folder, the database, logging, whole-number
options. Imported to build the parser, so it imports nothing heavy: each handler imports what it needs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

Handler: TypeAlias = Callable[[argparse.Namespace], int]
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(commands: Commands, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    """A subcommand whose help is also its description, run by ``handler``."""
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the controller's data folder (default: $RELAIS_DATA_DIR, else ./relais-data)",
    )


def data_dir(args: argparse.Namespace) -> Path:
    """The data folder, made (or tightened to) 0700 before any command writes a key or token in it."""
    from controller import default_data_dir
    from controller.storage.db import private_data_dir

    return private_data_dir(args.data_dir or default_data_dir())


def open_db(args: argparse.Namespace) -> Any:
    from controller.storage.db import open_database

    return open_database(data_dir(args) / "relais.db")


def setup_logging(verbose: bool, log_format: str = "text") -> None:
    from relais.logs import setup_logging as to_stderr

    to_stderr(log_format, verbose=verbose)


def add_log_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text lines (default), or one JSON object a line for a log collector",
    )


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number, ``minimum`` or more."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return whole_number
