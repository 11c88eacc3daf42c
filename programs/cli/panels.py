"""``relais panel``: register, list and revoke panels, and print the config of a panel's agent."""

from __future__ import annotations

import argparse
import json
import sys

from programs.cli.broker import broker_dir, reload_broker
from programs.cli.common import Commands, add_command, add_data_dir, data_dir, open_db


def cmd_panel_add(args: argparse.Namespace) -> int:
    from controller.domain.panels import register_panel
    from controller.storage.db import transaction
    from relais.brokers.security import BrokerCredentials

    db = open_db(args)
    data = {
        "id": args.id,
        "name": args.name,
        "commune_insee": args.commune_insee,
        "commune_name": args.commune_name,
        "profile": args.profile,
        "location": args.location,
        "latitude": args.latitude,
        "longitude": args.longitude,
        "tags": args.tag or [],
        "brightness": args.brightness,
        "night_brightness": args.night_brightness,
    }
    with transaction(db):
        panel = register_panel(db, data)
    print(f"panel {panel.id} registered ({panel.profile.label}, commune {panel.commune_insee})")
    username, _password = BrokerCredentials(broker_dir(args)).panel(panel.id)
    print(f"MQTT user {username} created (relais panel agent-config puts its password in the config)")
    reload_broker(args)
    return 0


def cmd_panel_revoke(args: argparse.Namespace) -> int:
    from relais.brokers.security import BrokerCredentials, panel_username

    if not BrokerCredentials(broker_dir(args)).revoke_panel(args.id):
        raise SystemExit(f"relais panel revoke: panel {args.id!r} has no MQTT credentials")
    print(f"MQTT user {panel_username(args.id)} removed with its topics")
    reload_broker(args)
    return 0


def cmd_panel_list(args: argparse.Namespace) -> int:
    from controller.domain.panels import panel_statuses

    statuses = panel_statuses(open_db(args))
    if args.json:
        print(json.dumps(statuses, ensure_ascii=False, indent=2))
        return 0
    for panel in statuses:
        state = "online " if panel["online"] else "offline"
        print(f"{panel['id']:<28} {state} {panel['profile']:<22} {panel['name']}")
    return 0


def cmd_panel_agent_config(args: argparse.Namespace) -> int:
    from controller.domain.panels import get_panels
    from programs.provisioning import agent_config_text
    from relais.keys import load_or_create_signing_key, next_public_key_text
    from relais.wire import public_key_to_text

    panels = get_panels(open_db(args), [args.id])
    if args.id not in panels:
        raise SystemExit(f"relais panel agent-config: no panel {args.id!r}")
    key = load_or_create_signing_key(data_dir(args) / "keys")
    broker_url = args.broker_url
    if not args.no_credentials:
        from relais.brokers.security import BrokerCredentials, reload_running_broker
        from relais.mqtt import broker_url_with_credentials

        # Made here when missing (a panel registered before panels had users, or revoked then trusted
        # again, with a new password); the broker must then reload.
        username, password = BrokerCredentials(broker_dir(args)).panel(args.id)
        broker_url = broker_url_with_credentials(broker_url, username, password)
        reload_running_broker(broker_dir(args))
    sys.stdout.write(
        agent_config_text(
            panels[args.id],
            broker_url=broker_url,
            public_key_text=public_key_to_text(key.public_key()),
            ca_file=args.ca_file,
            next_public_key_text=next_public_key_text(data_dir(args) / "keys"),
        )
    )
    return 0


def add_commands(commands: Commands) -> None:
    panel = add_command(commands, "panel", lambda _args: 0, "Register and list panels.")
    actions = panel.add_subparsers(dest="panel_command", required=True, metavar="ACTION")
    add = add_command(actions, "add", cmd_panel_add, "Register a panel with the controller.")
    add_data_dir(add)
    add.add_argument("--id", required=True, help="panel id: a-z, 0-9, '-' and '_' (used in MQTT topics)")
    add.add_argument("--name", required=True, help="a name people recognise, e.g. 'Mairie — hall'")
    add.add_argument("--commune-insee", required=True, help="the commune's INSEE code, e.g. 01053")
    add.add_argument("--commune-name", default="", help="the commune's name")
    add.add_argument(
        "--profile", required=True, help="the panel's profile, e.g. led-amber-192x64 (relais profiles)"
    )
    add.add_argument("--location", default="", help="where it stands, in words")
    add.add_argument("--latitude", type=float, default=None, help="WGS84 latitude")
    add.add_argument("--longitude", type=float, default=None, help="WGS84 longitude")
    add.add_argument("--tag", action="append", help="a tag such as entree-de-ville (repeatable)")
    add.add_argument(
        "--brightness",
        default="",
        help="full brightness always (default), from sunrise to sunset ('sun', needs --latitude and "
        "--longitude), or during Paris-time windows such as '07:00-22:00'",
    )
    add.add_argument(
        "--night-brightness",
        type=int,
        default=None,
        help="percent of full brightness outside those hours, 1 to 100 (default 30)",
    )
    listing = add_command(actions, "list", cmd_panel_list, "List panels with their status.")
    add_data_dir(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    agent_config = add_command(
        actions, "agent-config", cmd_panel_agent_config, "Print the agent config file for a panel."
    )
    add_data_dir(agent_config)
    agent_config.add_argument("--id", required=True, help="the panel's id")
    agent_config.add_argument(
        "--broker-url",
        required=True,
        help="the broker URL the panel connects to, without user: the panel's own is added",
    )
    agent_config.add_argument(
        "--ca-file",
        default=None,
        help="for mqtts://: the CA certificate file, as the agent will find it beside its config "
        "(copy <data-dir>/broker/tls/ca.crt there)",
    )
    agent_config.add_argument(
        "--no-credentials",
        action="store_true",
        help="leave the URL as given, for a broker that accepts anonymous clients (the demo's)",
    )
    revoke = add_command(
        actions,
        "revoke",
        cmd_panel_revoke,
        "Remove a panel's MQTT user and its topics (a running relais broker reloads them).",
    )
    add_data_dir(revoke)
    revoke.add_argument("--id", required=True, help="the panel's id")
