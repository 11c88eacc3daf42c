"""``relais demo`` and ``relais fleet-sim``: the controller and simulated panels, or a simulated
department of many panels, with real agents on real MQTT connections."""

from __future__ import annotations

import argparse
from pathlib import Path

from programs.cli.broker import add_ca_file, broker_ca_file, broker_dir
from programs.cli.common import Commands, add_command, add_data_dir, data_dir, open_db, setup_logging

# The simulated department's profiles (programs.department.DEFAULT_PROFILES, which a test keeps equal),
# written out because that module pulls the controller and the panel agent, too heavy for --help.
FLEET_PROFILES = ("led-amber-192x64", "led-rgb-128x64", "epaper-bw-800x480", "led-amber-96x16")


def cmd_demo(args: argparse.Namespace) -> int:
    from programs.demo import run_demo
    from programs.demo_feed import FeedError, cap_feed

    setup_logging(args.verbose)
    if args.panels < 1:
        raise SystemExit("relais demo: --panels must be at least 1")
    feed = None
    if args.cap_feed is not None:
        try:
            feed = cap_feed(args.cap_feed, data_dir(args))
        except FeedError as error:
            raise SystemExit(f"relais demo: --cap-feed {error}") from None
    return run_demo(
        data_dir(args), http_port=args.http_port, mqtt_port=args.mqtt_port, panels=args.panels, cap_feed=feed
    )


def cmd_fleet_sim(args: argparse.Namespace) -> int:
    """Register the simulated panels (and sign their first schedule), then run their agents until stopped."""
    from panel_agent.fleet import FleetSim
    from programs.department import register_fleet, sim_panels
    from relais.keys import load_or_create_signing_key
    from relais.signals import stop_requested
    from relais.wire import public_key_to_text

    setup_logging(args.verbose)
    if args.panels < 1:
        raise SystemExit("relais fleet-sim: --panels must be at least 1")
    folder = data_dir(args)
    key = load_or_create_signing_key(folder / "keys")
    db = open_db(args)
    try:
        panels = register_fleet(
            db, key, args.panels, [p.strip() for p in args.profiles.split(",") if p.strip()]
        )
    finally:
        db.close()
    credentials = _fleet_credentials(args, [panel.id for panel in panels])
    ca_file = broker_ca_file(args)
    fleet = FleetSim(
        sim_panels(panels),
        broker_url=args.broker_url,
        public_key_text=public_key_to_text(key.public_key()),
        work_dir=folder / "fleet",
        topic_base=args.topic_base,
        credentials=credentials,
        ca_file=Path(ca_file) if ca_file else None,
        light=args.light,
    )
    with stop_requested() as stopping, fleet:
        print(
            f"{len(panels)} {'light ' if args.light else ''}simulated panels ({panels[0].id} to {panels[-1].id}) in {len(fleet.pids)} "
            f"processes (PIDs {', '.join(map(str, fleet.pids))}) on {args.broker_url}, "
            f"{'each with its own user' if credentials else 'without users'}\n"
            f"  screens: {fleet.screens_dir}\n  logs   : {fleet.work_dir}/worker-N.log\n"
            "Ctrl-C stops them.",
            flush=True,
        )
        stopping.wait()
    return 0


def _fleet_credentials(args: argparse.Namespace, panel_ids: list[str]) -> dict[str, tuple[str, str]]:
    """On the broker ``relais broker`` runs for this data folder (it has users), each simulated panel
    gets its own, as ``relais panel add`` gives a real one, and a running broker reloads its users;
    none on another broker, or when the URL names a user already."""
    from relais.brokers.security import CREDENTIALS_NAME, BrokerCredentials, reload_running_broker
    from relais.mqtt import BrokerUrl

    here = broker_dir(args)
    if BrokerUrl.parse(args.broker_url).username or not (here / CREDENTIALS_NAME).exists():
        return {}
    credentials = BrokerCredentials(here).panels(panel_ids)
    reload_running_broker(here)
    return credentials


def add_commands(commands: Commands) -> None:
    demo = add_command(
        commands, "demo", cmd_demo, "Run a Mosquitto, the controller and simulated panels on this machine."
    )
    add_data_dir(demo)
    demo.add_argument(
        "--http-port", type=int, default=8080, help="web and API port on 127.0.0.1 (default 8080)"
    )
    demo.add_argument(
        "--mqtt-port", type=int, default=None, help="broker port on 127.0.0.1 (default: a free one)"
    )
    demo.add_argument(
        "--panels",
        type=int,
        default=3,
        help="how many simulated panels (default 3); beyond 3, a simulated department (relais fleet-sim)",
    )
    demo.add_argument(
        "--cap-feed",
        metavar="PATH_OR_URL",
        help="an official alert source for the prefecture, under Météo-France's shipped rules: 'sample' (an "
        "orange snow-ice warning for the Ain, written into the data folder), a MeteoAlarm Atom feed or a "
        "CAP document (file, read again at each poll, or http(s) URL), or a folder where CAP files are dropped",
    )
    demo.add_argument("--verbose", action="store_true", help="log debug lines")

    fleet = add_command(
        commands,
        "fleet-sim",
        cmd_fleet_sim,
        "Run many simulated panels (real agents, real MQTT connections) in a few processes.",
    )
    add_data_dir(fleet)
    fleet.add_argument("--panels", type=int, required=True, help="how many: sim-0001, sim-0002…")
    fleet.add_argument(
        "--broker-url",
        default="mqtt://127.0.0.1:1883",
        help="the broker (default mqtt://127.0.0.1:1883, the demo's); on the one relais broker runs for "
        "this data folder, each panel gets its own user, as relais panel add gives a real panel",
    )
    add_ca_file(fleet)
    fleet.add_argument("--topic-base", default="relais/v1", help="topic prefix (default relais/v1)")
    fleet.add_argument(
        "--profiles",
        default=",".join(FLEET_PROFILES),
        help=f"profiles dealt out in turn, comma-separated (default {','.join(FLEET_PROFILES)})",
    )
    fleet.add_argument(
        "--light",
        action="store_true",
        help="light panels for scale runs: each its own connection, user and signature checks and a real "
        "state, but nothing drawn, stored or rotated (no proof of play); 2,500 a process",
    )
    fleet.add_argument("--verbose", action="store_true", help="log debug lines")
