"""``relais user`` and ``relais token``: the people who use the web app and API, and their API tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from programs.cli.common import Commands, add_command, add_data_dir, open_db


def cmd_user_add(args: argparse.Namespace) -> int:
    from controller.domain import accounts, audit
    from controller.storage.db import transaction

    db = open_db(args)
    if args.password_stdin:
        password, shown = sys.stdin.readline().rstrip("\n"), False
    else:
        password, shown = accounts.new_password(), True
    with transaction(db):
        user_id = accounts.create_user(db, args.name, args.role, password, args.commune, args.org)
        audit.record(db, None, "user.create", "user", user_id, after=_user_summary(db, user_id))
    print(f"user {args.name} created ({args.role}{', commune ' + args.commune if args.commune else ''})")
    if shown:
        print(f"password (shown only once): {password}")
    return 0


def _user_summary(db: Any, user_id: int) -> dict[str, Any]:
    row = db.table("users").get(user_id)
    return {key: row[key] for key in ("name", "role", "organisation", "commune_insee")}


def cmd_user_list(args: argparse.Namespace) -> int:
    for row in open_db(args)["users"].rows_where(order_by="name"):
        state = " (disabled)" if row["disabled_at"] else ""
        print(
            f"{row['name']}\t{row['role']}\t{row['commune_insee'] or '-'}\t{row['organisation'] or '-'}{state}"
        )
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from controller.domain import accounts, audit
    from controller.storage.db import transaction

    db = open_db(args)
    user = accounts.user_by_name(db, args.user)
    if user is None:
        raise ValueError(f"no user named {args.user!r}: create one with relais user add")
    with transaction(db):
        token_id, token = accounts.create_token(db, user["id"], args.label or "command line")
        audit.record(
            db, None, "token.create", "token", token_id, after={"user": args.user, "label": args.label}
        )
    print(token)
    return 0


def add_commands(commands: Commands) -> None:
    user = add_command(commands, "user", lambda _args: 0, "Manage the people who use the web app and API.")
    user_actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    user_add = add_command(
        user_actions,
        "add",
        cmd_user_add,
        "Create a user (the first administrator too); prints a new password unless --password-stdin.",
    )
    add_data_dir(user_add)
    user_add.add_argument("--name", required=True, help="the login name")
    user_add.add_argument(
        "--role",
        required=True,
        help="admin, campaign-manager, commune-editor, commune-approver, technician or viewer",
    )
    user_add.add_argument("--commune", default=None, help="INSEE code of the commune (commune roles only)")
    user_add.add_argument(
        "--org", default=None, help="organisation (default: commune-<INSEE> for commune roles)"
    )
    user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    user_list = add_command(
        user_actions, "list", cmd_user_list, "List users: name, role, commune, organisation."
    )
    add_data_dir(user_list)

    token = add_command(commands, "token", lambda _args: 0, "Manage API tokens.")
    create = add_command(
        token.add_subparsers(dest="token_command", required=True, metavar="ACTION"),
        "create",
        cmd_token_create,
        "Create an API token for a user and print it (shown only once).",
    )
    add_data_dir(create)
    create.add_argument("--user", required=True, help="the user the token acts as, with that user's rights")
    create.add_argument("--label", default=None, help="who or what uses the token (a script's name)")
