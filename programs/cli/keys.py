"""``relais keys rotate``: a new signing key, staged for the agents to learn, then signing."""

from __future__ import annotations

import argparse
import time

from programs.cli.common import Commands, add_command, add_data_dir, data_dir


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from relais.keys import activate_next_key, stage_next_key
    from relais.wire import public_key_to_text

    keys_dir = data_dir(args) / "keys"
    if not args.activate:
        line = public_key_to_text(stage_next_key(keys_dir).public_key())
        print(
            "Next signing key staged. Add this line to every agent's config and restart the agents:\n"
            f'  next_controller_public_key = "{line}"\n'
            "(relais panel agent-config now includes it.) When every panel runs with it, stop relais serve\n"
            "and run: relais keys rotate --activate"
        )
        return 0
    from controller.publishing.schedules import republish
    from controller.storage.db import open_database
    from relais.keys import load_or_create_signing_key

    retired = activate_next_key(keys_dir)
    key = load_or_create_signing_key(keys_dir)
    seqs = republish(open_database(data_dir(args) / "relais.db"), key, now=time.time())
    print(
        f"Now signing with {public_key_to_text(key.public_key())}; the old key pair is in {retired}.\n"
        f"{len(seqs)} panel schedules re-signed, published when relais serve starts. Once every panel\n"
        "follows them, make the new key each agent's controller_public_key and drop next_controller_public_key."
    )
    return 0


def add_commands(commands: Commands) -> None:
    keys = add_command(commands, "keys", lambda _args: 0, "Manage the controller's signing key.")
    rotate = add_command(
        keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION"),
        "rotate",
        cmd_keys_rotate,
        "Stage a new signing key for the agents to learn, then (--activate) sign with it.",
    )
    add_data_dir(rotate)
    rotate.add_argument(
        "--activate", action="store_true", help="switch to the staged key and re-sign every panel's schedule"
    )
