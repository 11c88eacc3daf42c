"""The ``relais`` command, assembled from one module per family of subcommands. Building the parser
imports nothing heavy (no Flask, Pillow or paho): each handler imports what it needs when run, so that
``relais agent`` works on a Raspberry Pi where Flask, APScheduler and sqlite-utils are absent, and
``relais --help`` answers at once."""

from __future__ import annotations

import argparse
import sys

from programs.cli import accounts, agent, backup, broker, keys, panels, rendering, serve, simulation
from relais import __version__

CONTROLLER_MODULES = {
    "flask",
    "sqlite_utils",
    "apscheduler",
    "werkzeug",
    "flask_login",
    "flask_wtf",
    "wtforms",
}
CONTROLLER_MISSING = (
    "relais: this command needs the controller's dependencies: pip install 'relais[controller]'"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relais",
        description="Relais: signed messages from a commune or prefecture desk to public LED and e-paper panels.",
    )
    parser.add_argument("--version", action="version", version=f"relais {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for family in (simulation, serve, agent, panels, broker, rendering, backup, keys, accounts):
        family.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ModuleNotFoundError as exc:
        if exc.name in CONTROLLER_MODULES:
            print(CONTROLLER_MISSING, file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not _for_a_person(exc):
            raise
        print(f"relais {args.command}: {exc}", file=sys.stderr)
        return 2


def _for_a_person(exc: Exception) -> bool:
    """FieldError, render and config errors, unreadable files, a broker that cannot start: a message
    for a person, not a traceback. A BrokerError can only come from relais.brokers.mosquitto once imported; it is
    looked up there, not imported, because relais.brokers.mosquitto pulls Pillow."""
    if isinstance(exc, ValueError | OSError):
        return True
    raised_by = sys.modules.get("relais.brokers.mosquitto")
    return raised_by is not None and isinstance(exc, raised_by.BrokerError)
