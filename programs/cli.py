"""The ``relais`` command. Controller commands import the controller only when run, so that
``relais agent`` works on a Raspberry Pi where Flask, APScheduler and sqlite-utils are absent."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from panel_agent.fleet import DEFAULT_PROFILES
from relais import __version__
from relais.broker import BrokerError
from relais.certificates import CA_CERT_NAME, TlsFiles, ensure_broker_tls
from relais.wire import MAX_EVENTS_PER_BATCH

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


def _data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the controller's data folder (default: $RELAIS_DATA_DIR, else ./relais-data)",
    )


def _data_dir(args: argparse.Namespace) -> Path:
    """The data folder, made (or tightened to) 0700 before any command writes a key or token in it."""
    from controller import default_data_dir
    from controller.storage.db import private_data_dir

    return private_data_dir(args.data_dir or default_data_dir())


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# --- commands ------------------------------------------------------------------------------------


def cmd_agent(args: argparse.Namespace) -> int:
    from panel_agent.cli import run

    if args.config is None:
        raise SystemExit("relais agent: --config FILE is required (or: relais agent test --help)")
    return run(args.config)


def cmd_agent_test(args: argparse.Namespace) -> int:
    from panel_agent.field_test import run_field_test

    return run_field_test(args.backend, args.set or [], text=args.text, pattern=args.pattern)


def cmd_demo(args: argparse.Namespace) -> int:
    from programs.demo import run_demo

    _setup_logging(args.verbose)
    if args.panels < 1:
        raise SystemExit("relais demo: --panels must be at least 1")
    return run_demo(_data_dir(args), http_port=args.http_port, mqtt_port=args.mqtt_port, panels=args.panels)


def cmd_fleet_sim(args: argparse.Namespace) -> int:
    """Register the simulated panels (and sign their first schedule), then run their agents until stopped."""
    from panel_agent.fleet import FleetSim
    from programs.department import register_fleet, sim_panels
    from relais.keys import load_or_create_signing_key
    from relais.signals import stop_requested
    from relais.wire import public_key_to_text

    _setup_logging(args.verbose)
    if args.panels < 1:
        raise SystemExit("relais fleet-sim: --panels must be at least 1")
    data_dir = _data_dir(args)
    key = load_or_create_signing_key(data_dir / "keys")
    db = _open_db(args)
    try:
        panels = register_fleet(
            db, key, args.panels, [p.strip() for p in args.profiles.split(",") if p.strip()]
        )
    finally:
        db.close()
    credentials = _fleet_credentials(args, [panel.id for panel in panels])
    ca_file = _broker_ca_file(args)
    fleet = FleetSim(
        sim_panels(panels),
        broker_url=args.broker_url,
        public_key_text=public_key_to_text(key.public_key()),
        work_dir=data_dir / "fleet",
        topic_base=args.topic_base,
        credentials=credentials,
        ca_file=Path(ca_file) if ca_file else None,
    )
    with stop_requested() as stopping, fleet:
        print(
            f"{len(panels)} simulated panels ({panels[0].id} to {panels[-1].id}) in {len(fleet.pids)} "
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
    from relais.broker_security import CREDENTIALS_NAME, BrokerCredentials, reload_running_broker
    from relais.mqtt import BrokerUrl

    broker_dir = _broker_dir(args)
    if BrokerUrl.parse(args.broker_url).username or not (broker_dir / CREDENTIALS_NAME).exists():
        return {}
    credentials = BrokerCredentials(broker_dir).panels(panel_ids)
    reload_running_broker(broker_dir)
    return credentials


def cmd_serve(args: argparse.Namespace) -> int:
    from controller import create_app, shutdown_app
    from controller.web.server import serve_until_stopped

    _setup_logging(args.verbose)
    app = create_app(
        {
            "DATA_DIR": _data_dir(args),
            "BROKER_URL": _controller_broker_url(args),
            "BROKER_CA_FILE": _broker_ca_file(args),
            "TOPIC_BASE": args.topic_base,
            "SCHEDULER_ENABLED": True,
            "BEHIND_HTTPS_PROXY": args.behind_https_proxy,
            **{
                key: value
                for key, value in (
                    ("EVENTS_PER_PANEL_PER_MINUTE", args.events_per_minute),
                    ("EVENTS_BURST_PER_PANEL", args.events_burst),
                    ("EVENTS_KEPT_DAYS", args.events_kept_days),
                )
                if value is not None
            },
            **({"MAX_CONTENT_LENGTH": args.max_request_bytes} if args.max_request_bytes else {}),
        }
    )
    try:
        serve_until_stopped(app, args.host, args.http_port, on_ready=lambda url: print(f"Relais at {url}"))
    finally:
        shutdown_app(app)
    return 0


def _byte_count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} bytes: give 1 or more")
    return value


def _broker_ca_file(args: argparse.Namespace) -> str | None:
    """The CA given, else the one ``relais broker --tls`` made in this data folder, for mqtts:// only."""
    if args.ca_file is not None:
        return str(args.ca_file)
    made_here = _broker_dir(args) / "tls" / CA_CERT_NAME
    return str(made_here) if args.broker_url.startswith("mqtts://") and made_here.exists() else None


def _controller_broker_url(args: argparse.Namespace) -> str:
    """The URL as given, or with the controller's user filled in when ``relais broker`` made one here."""
    from relais.broker_security import CREDENTIALS_NAME, BrokerCredentials
    from relais.mqtt import BrokerUrl, broker_url_with_credentials

    broker_dir = _broker_dir(args)
    if BrokerUrl.parse(args.broker_url).username or not (broker_dir / CREDENTIALS_NAME).exists():
        return args.broker_url
    user, password = BrokerCredentials(broker_dir).controller()
    return broker_url_with_credentials(args.broker_url, user, password)


def _broker_dir(args: argparse.Namespace) -> Path:
    """Where ``relais broker`` keeps its users, ACL, config, PID file and persistence."""
    return _data_dir(args) / "broker"


def _reload_broker(args: argparse.Namespace) -> None:
    from relais.broker_security import reload_running_broker

    pid = reload_running_broker(_broker_dir(args))
    if pid is not None:
        print(f"broker (PID {pid}) reloaded its users and ACL")


def cmd_broker(args: argparse.Namespace) -> int:
    """Replace this process with Mosquitto, so that Ctrl-C, SIGTERM and systemd reach it directly."""
    import os

    from relais.broker import find_mosquitto
    from relais.broker_security import write_production_config

    binary = find_mosquitto()
    tls = _broker_tls(args)
    port = args.port or (8883 if tls else 1883)
    config = write_production_config(_broker_dir(args), port=port, listen=args.listen, tls=tls)
    if os.geteuid() == 0:
        print("relais broker: running as root; a dedicated user owning --data-dir is safer", file=sys.stderr)
    print(f"Mosquitto on {args.listen}:{port}, users and ACL in {config.parent}", flush=True)
    if tls:
        print(
            f"TLS only (mqtts://): put the CA certificate {tls.ca_file} in each agent bundle as ca_file",
            flush=True,
        )
    os.execv(binary, [binary, "-c", str(config)])


def _broker_tls(args: argparse.Namespace) -> TlsFiles | None:
    """The user's certificate files, or ours in ``<data-dir>/broker/tls`` (made or renewed as needed)."""
    given = (args.cert, args.key, args.ca)
    if not args.tls:
        if any(given) or args.tls_host:
            raise ValueError("--cert, --key, --ca and --tls-host need --tls")
        return None
    if not any(given):
        return ensure_broker_tls(_broker_dir(args) / "tls", _broker_hosts(args))
    if not all(given):
        raise ValueError("--cert, --key and --ca go together")
    if args.tls_host:
        raise ValueError("--tls-host names the hosts of a certificate made here, not of --cert")
    for path in given:
        if not path.is_file():
            raise ValueError(f"{path} is not a file")
    return TlsFiles(ca_file=args.ca.resolve(), cert_file=args.cert.resolve(), key_file=args.key.resolve())


def _broker_hosts(args: argparse.Namespace) -> list[str]:
    """The names agents may use for this broker: those given, else loopback, the host name, the address."""
    import socket

    if args.tls_host:
        return args.tls_host
    hosts = ["localhost", "127.0.0.1", socket.gethostname(), socket.getfqdn()]
    if args.listen not in {"0.0.0.0", "::"}:
        hosts.append(args.listen)
    return list(dict.fromkeys(hosts))


def cmd_broker_controller_url(args: argparse.Namespace) -> int:
    from relais.broker_security import BrokerCredentials
    from relais.mqtt import broker_url_with_credentials

    username, password = BrokerCredentials(_broker_dir(args)).controller()
    print(broker_url_with_credentials(args.broker_url, username, password))
    return 0


def _open_db(args: argparse.Namespace) -> Any:
    from controller.storage.db import open_database

    return open_database(_data_dir(args) / "relais.db")


def cmd_panel_add(args: argparse.Namespace) -> int:
    from controller.domain.panels import register_panel
    from controller.storage.db import transaction
    from relais.broker_security import BrokerCredentials

    db = _open_db(args)
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
    username, _password = BrokerCredentials(_broker_dir(args)).panel(panel.id)
    print(f"MQTT user {username} created (relais panel agent-config puts its password in the config)")
    _reload_broker(args)
    return 0


def cmd_panel_revoke(args: argparse.Namespace) -> int:
    from relais.broker_security import BrokerCredentials, panel_username

    if not BrokerCredentials(_broker_dir(args)).revoke_panel(args.id):
        raise SystemExit(f"relais panel revoke: panel {args.id!r} has no MQTT credentials")
    print(f"MQTT user {panel_username(args.id)} removed with its topics")
    _reload_broker(args)
    return 0


def cmd_panel_list(args: argparse.Namespace) -> int:
    from controller.domain.panels import panel_statuses

    statuses = panel_statuses(_open_db(args))
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

    panels = get_panels(_open_db(args), [args.id])
    if args.id not in panels:
        raise SystemExit(f"relais panel agent-config: no panel {args.id!r}")
    key = load_or_create_signing_key(_data_dir(args) / "keys")
    broker_url = args.broker_url
    if not args.no_credentials:
        from relais.broker_security import BrokerCredentials, reload_running_broker
        from relais.mqtt import broker_url_with_credentials

        # Made here when missing (a panel registered before panels had users, or revoked then trusted
        # again, with a new password); the broker must then reload.
        username, password = BrokerCredentials(_broker_dir(args)).panel(args.id)
        broker_url = broker_url_with_credentials(broker_url, username, password)
        reload_running_broker(_broker_dir(args))
    sys.stdout.write(
        agent_config_text(
            panels[args.id],
            broker_url=broker_url,
            public_key_text=public_key_to_text(key.public_key()),
            ca_file=args.ca_file,
            next_public_key_text=next_public_key_text(_data_dir(args) / "keys"),
        )
    )
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from relais.keys import activate_next_key, stage_next_key
    from relais.wire import public_key_to_text

    keys_dir = _data_dir(args) / "keys"
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
    seqs = republish(open_database(_data_dir(args) / "relais.db"), key, now=time.time())
    print(
        f"Now signing with {public_key_to_text(key.public_key())}; the old key pair is in {retired}.\n"
        f"{len(seqs)} panel schedules re-signed, published when relais serve starts. Once every panel\n"
        "follows them, make the new key each agent's controller_public_key and drop next_controller_public_key."
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from controller.storage.backup import backup

    print(f"backup written to {backup(_data_dir(args), args.out)}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from controller.domain import accounts, audit
    from controller.storage.db import transaction

    db = _open_db(args)
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
    row = db["users"].get(user_id)
    return {key: row[key] for key in ("name", "role", "organisation", "commune_insee")}


def cmd_user_list(args: argparse.Namespace) -> int:
    for row in _open_db(args)["users"].rows_where(order_by="name"):
        state = " (disabled)" if row["disabled_at"] else ""
        print(
            f"{row['name']}\t{row['role']}\t{row['commune_insee'] or '-'}\t{row['organisation'] or '-'}{state}"
        )
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from controller.domain import accounts, audit
    from controller.storage.db import transaction

    db = _open_db(args)
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


def cmd_profiles(args: argparse.Namespace) -> int:
    from controller.rendering.catalogue import profiles_table

    print(profiles_table())
    return 0


def cmd_layouts(args: argparse.Namespace) -> int:
    from controller.rendering.catalogue import layouts_table

    print(layouts_table(args.profile))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Render without a database or a broker: for designers, and to check a text before queuing it."""
    import time

    from controller.domain.messages import parse_content, render_for
    from controller.rendering.preview import preview_png
    from controller.rendering.profiles import get_profile

    data: dict[str, Any] = {
        "text": args.text,
        "title": args.title,
        "footer": args.footer,
        "layout": args.layout,
        "pictogram": args.pictogram,
        "qr": args.qr,
        "markup": args.markup,
        "role": args.role,
        "paging": not args.no_paging,
    }
    if args.image is not None:
        import base64

        data["image"] = base64.b64encode(args.image.read_bytes()).decode("ascii")
    rendering = render_for(parse_content(data, time.time()), get_profile(args.profile))
    args.out.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(rendering.pages, start=1):
        (args.out / f"page-{number}.png").write_bytes(page.frame.png_bytes())
        if page.flash_frame is not None:
            (args.out / f"page-{number}-flash.png").write_bytes(page.flash_frame.png_bytes())
        lines = page.text.replace("\n", " / ")
        flashing = ", clignote" if page.flash_frame else ""
        print(f"page {number}/{len(rendering.pages)}: {page.dwell_s:g} s{flashing} | {lines}")
    (args.out / "preview.png").write_bytes(preview_png(rendering))
    for note in rendering.notes:
        print(f"note: {note}")
    print(f"{len(rendering.pages)} page(s) written to {args.out} (page-N.png native, preview.png)")
    return 0


# --- parser --------------------------------------------------------------------------------------


def _at_least(minimum: int) -> Callable[[str], int]:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relais",
        description="Relais: signed messages from a commune or prefecture desk to public LED and e-paper panels.",
    )
    parser.add_argument("--version", action="version", version=f"relais {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str, sub: Any = commands
    ) -> Any:
        parser_ = sub.add_parser(name, help=help_text, description=help_text)
        parser_.set_defaults(handler=handler)
        return parser_

    demo = command("demo", cmd_demo, "Run a Mosquitto, the controller and simulated panels on this machine.")
    _data_dir_argument(demo)
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
    demo.add_argument("--verbose", action="store_true", help="log debug lines")

    fleet = command(
        "fleet-sim",
        cmd_fleet_sim,
        "Run many simulated panels (real agents, real MQTT connections) in a few processes.",
    )
    _data_dir_argument(fleet)
    fleet.add_argument("--panels", type=int, required=True, help="how many: sim-0001, sim-0002…")
    fleet.add_argument(
        "--broker-url",
        default="mqtt://127.0.0.1:1883",
        help="the broker (default mqtt://127.0.0.1:1883, the demo's); on the one relais broker runs for "
        "this data folder, each panel gets its own user, as relais panel add gives a real panel",
    )
    fleet.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        help="CA certificate trusted for mqtts:// (default: <data-dir>/broker/tls/ca.crt when relais broker made it)",
    )
    fleet.add_argument("--topic-base", default="relais/v1", help="topic prefix (default relais/v1)")
    fleet.add_argument(
        "--profiles",
        default=",".join(DEFAULT_PROFILES),
        help=f"profiles dealt out in turn, comma-separated (default {','.join(DEFAULT_PROFILES)})",
    )
    fleet.add_argument("--verbose", action="store_true", help="log debug lines")

    serve = command("serve", cmd_serve, "Run the controller (web app, API, publisher) against a broker.")
    _data_dir_argument(serve)
    serve.add_argument("--broker-url", required=True, help="mqtt://[user:password@]host[:port] or mqtts://…")
    serve.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        help="CA certificate trusted for mqtts:// (default: <data-dir>/broker/tls/ca.crt when relais broker made it)",
    )
    serve.add_argument("--topic-base", default="relais/v1", help="topic prefix (default relais/v1)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--http-port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument(
        "--behind-https-proxy",
        action="store_true",
        help="a reverse proxy terminates HTTPS: secure-only cookies, client address from X-Forwarded-For",
    )
    serve.add_argument(
        "--events-per-minute",
        type=_at_least(1),
        default=None,
        help="events each panel may send a minute, steadily (default 60); more are dropped and logged",
    )
    serve.add_argument(
        "--events-burst",
        type=_at_least(MAX_EVENTS_PER_BATCH),
        default=None,
        help="events each panel may send at once, as after an outage (default 10100)",
    )
    serve.add_argument(
        "--events-kept-days", type=_at_least(1), default=None, help="days panel events are kept (default 90)"
    )
    serve.add_argument(
        "--max-request-bytes",
        type=_byte_count,
        default=None,
        help="largest request body accepted, else 413 (default: a message with the heaviest image, 29 MB)",
    )
    serve.add_argument("--verbose", action="store_true", help="log debug lines")

    agent = command("agent", cmd_agent, "Run a panel agent: receive, verify and show signed content.")
    agent.add_argument("--config", type=Path, default=None, help="the agent's TOML config file")
    agent_commands = agent.add_subparsers(dest="agent_command", metavar="ACTION")
    field = command(
        "test",
        cmd_agent_test,
        "Draw a text or a test pattern straight on a panel, without a controller.",
        agent_commands,
    )
    field.add_argument("--backend", required=True, help="backend name, as in the agent config (e.g. alpha)")
    field.add_argument("--set", action="append", metavar="KEY=VALUE", help="a backend setting (repeatable)")
    shown = field.add_mutually_exclusive_group(required=True)
    shown.add_argument("--text", help="a short text to draw")
    shown.add_argument("--pattern", help="checkerboard, border, full or stripes")

    panel = command("panel", lambda _args: 0, "Register and list panels.")
    panel_commands = panel.add_subparsers(dest="panel_command", required=True, metavar="ACTION")
    add = command("add", cmd_panel_add, "Register a panel with the controller.", panel_commands)
    _data_dir_argument(add)
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
    listing = command("list", cmd_panel_list, "List panels with their status.", panel_commands)
    _data_dir_argument(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    agent_config = command(
        "agent-config", cmd_panel_agent_config, "Print the agent config file for a panel.", panel_commands
    )
    _data_dir_argument(agent_config)
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
    revoke = command(
        "revoke",
        cmd_panel_revoke,
        "Remove a panel's MQTT user and its topics (a running relais broker reloads them).",
        panel_commands,
    )
    _data_dir_argument(revoke)
    revoke.add_argument("--id", required=True, help="the panel's id")

    broker = command(
        "broker",
        cmd_broker,
        "Run Mosquitto for production: users, passwords and ACL from --data-dir, no anonymous access.",
    )
    _data_dir_argument(broker)
    broker.add_argument(
        "--port", type=int, default=None, help="port to listen on (default 1883, or 8883 with --tls)"
    )
    broker.add_argument("--listen", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    broker.add_argument(
        "--tls",
        action="store_true",
        help="TLS only; without --cert, --key and --ca, a CA and certificate are made in <data-dir>/broker/tls",
    )
    broker.add_argument("--cert", type=Path, default=None, help="the server certificate (PEM), with --tls")
    broker.add_argument("--key", type=Path, default=None, help="its private key (PEM), with --tls")
    broker.add_argument("--ca", type=Path, default=None, help="the CA certificate agents trust, with --tls")
    broker.add_argument(
        "--tls-host",
        action="append",
        default=None,
        help="a name or address agents use for the broker, for the made certificate (repeatable; "
        "default: localhost, 127.0.0.1, this machine's names and --listen)",
    )
    broker_commands = broker.add_subparsers(dest="broker_command", metavar="ACTION")
    controller_url = command(
        "controller-url",
        cmd_broker_controller_url,
        "Print the controller's broker URL with its user and password, for relais serve --broker-url.",
        broker_commands,
    )
    _data_dir_argument(controller_url)
    controller_url.add_argument(
        "--broker-url", default="mqtt://127.0.0.1:1883", help="without user (default mqtt://127.0.0.1:1883)"
    )

    command("profiles", cmd_profiles, "List the shipped panel profiles (sizes, colours, legibility).")
    layouts = command("layouts", cmd_layouts, "List the shipped layouts and which profiles they suit.")
    layouts.add_argument("--profile", default=None, help="only the layouts that suit this profile")
    render = command(
        "render", cmd_render, "Render a message for a profile into PNG files, without publishing."
    )
    render.add_argument("--profile", required=True, help="profile id (relais profiles)")
    render.add_argument("--layout", default="text", help="layout name (relais layouts; default text)")
    render.add_argument("--text", required=True, help="the message body, with markup")
    render.add_argument("--title", default="", help="title, for layouts that have one")
    render.add_argument("--footer", default="", help="footer, for layouts that have one")
    render.add_argument("--pictogram", default=None, help="pictogram name, for layouts that have one")
    render.add_argument("--qr", default=None, help="text or link for the QR code (bulletin)")
    render.add_argument(
        "--image", type=Path, default=None, help="an image file, for layouts with an image zone"
    )
    render.add_argument(
        "--markup",
        default="relais",
        choices=["plain", "relais", "multi"],
        help="markup of the text (default relais)",
    )
    render.add_argument(
        "--role", default="normal", choices=["normal", "warning", "emergency"], help="colours by role"
    )
    render.add_argument(
        "--no-paging", action="store_true", help="refuse a text that needs more than one page"
    )
    render.add_argument("--out", type=Path, required=True, help="folder for page-N.png and preview.png")

    backup = command(
        "backup", cmd_backup, "Copy the database (online), the keys and the broker's users into a new folder."
    )
    _data_dir_argument(backup)
    backup.add_argument("--out", type=Path, required=True, help="folder that receives relais-<UTC time>/")

    keys = command("keys", lambda _args: 0, "Manage the controller's signing key.")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    rotate = command(
        "rotate",
        cmd_keys_rotate,
        "Stage a new signing key for the agents to learn, then (--activate) sign with it.",
        keys_commands,
    )
    _data_dir_argument(rotate)
    rotate.add_argument(
        "--activate", action="store_true", help="switch to the staged key and re-sign every panel's schedule"
    )

    user = command("user", lambda _args: 0, "Manage the people who use the web app and API.")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    user_add = command(
        "add",
        cmd_user_add,
        "Create a user (the first administrator too); prints a new password unless --password-stdin.",
        user_commands,
    )
    _data_dir_argument(user_add)
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
    user_list = command(
        "list", cmd_user_list, "List users: name, role, commune, organisation.", user_commands
    )
    _data_dir_argument(user_list)

    token = command("token", lambda _args: 0, "Manage API tokens.")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = command(
        "create",
        cmd_token_create,
        "Create an API token for a user and print it (shown only once).",
        token_commands,
    )
    _data_dir_argument(create)
    create.add_argument("--user", required=True, help="the user the token acts as, with that user's rights")
    create.add_argument("--label", default=None, help="who or what uses the token (a script's name)")
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
    except (ValueError, OSError, BrokerError) as exc:
        # FieldError, render and config errors, unreadable files: a message for a person, not a traceback.
        print(f"relais {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
