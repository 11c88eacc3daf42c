"""``relais agent``: run a panel agent, or draw straight on a panel (``relais agent test``). Only
the panel agent's code is imported, and only when run: this is the command of a Raspberry Pi."""

from __future__ import annotations

import argparse
from pathlib import Path

from programs.cli.common import Commands, add_command, add_log_format


def cmd_agent(args: argparse.Namespace) -> int:
    from panel_agent.service import run

    if args.config is None:
        raise SystemExit("relais agent: --config FILE is required (or: relais agent test --help)")
    return run(args.config, args.log_format)


def cmd_agent_test(args: argparse.Namespace) -> int:
    from panel_agent.field_test import run_field_test

    return run_field_test(args.backend, args.set or [], text=args.text, pattern=args.pattern)


def add_commands(commands: Commands) -> None:
    agent = add_command(
        commands, "agent", cmd_agent, "Run a panel agent: receive, verify and show signed content."
    )
    agent.add_argument("--config", type=Path, default=None, help="the agent's TOML config file")
    add_log_format(agent)
    field = add_command(
        agent.add_subparsers(dest="agent_command", metavar="ACTION"),
        "test",
        cmd_agent_test,
        "Draw a text or a test pattern straight on a panel, without a controller.",
    )
    field.add_argument("--backend", required=True, help="backend name, as in the agent config (e.g. alpha)")
    field.add_argument("--set", action="append", metavar="KEY=VALUE", help="a backend setting (repeatable)")
    shown = field.add_mutually_exclusive_group(required=True)
    shown.add_argument("--text", help="a short text to draw")
    shown.add_argument("--pattern", help="checkerboard, border, full or stripes")
