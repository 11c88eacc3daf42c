"""``relais backup``: the database (copied online), the keys and the broker's users, into a new folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from programs.cli.common import Commands, add_command, add_data_dir, data_dir


def cmd_backup(args: argparse.Namespace) -> int:
    from controller.storage.backup import backup

    print(f"backup written to {backup(data_dir(args), args.out)}")
    return 0


def add_commands(commands: Commands) -> None:
    backup = add_command(
        commands,
        "backup",
        cmd_backup,
        "Copy the database (online), the keys and the broker's users into a new folder.",
    )
    add_data_dir(backup)
    backup.add_argument("--out", type=Path, required=True, help="folder that receives relais-<UTC time>/")
