"""``relais broker``: Mosquitto for production, with the users, ACL and TLS files kept in the data
folder; and the broker helpers of the commands that use that broker (serve, fleet-sim, panel)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from programs.cli.common import Commands, add_command, add_data_dir, data_dir

if TYPE_CHECKING:
    from relais.brokers.certificates import TlsFiles


def broker_dir(args: argparse.Namespace) -> Path:
    """Where ``relais broker`` keeps its users, ACL, config, PID file and persistence."""
    return data_dir(args) / "broker"


def add_ca_file(parser: argparse.ArgumentParser) -> None:
    """The option ``broker_ca_file`` reads, for the commands that connect to a broker."""
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        help="CA certificate trusted for mqtts:// (default: <data-dir>/broker/tls/ca.crt when relais broker made it)",
    )


def broker_ca_file(args: argparse.Namespace) -> str | None:
    """The CA given, else the one ``relais broker --tls`` made in this data folder, for mqtts:// only."""
    from relais.brokers.certificates import CA_CERT_NAME

    if args.ca_file is not None:
        return str(args.ca_file)
    made_here = broker_dir(args) / "tls" / CA_CERT_NAME
    return str(made_here) if args.broker_url.startswith("mqtts://") and made_here.exists() else None


def reload_broker(args: argparse.Namespace) -> None:
    from relais.brokers.security import reload_running_broker

    pid = reload_running_broker(broker_dir(args))
    if pid is not None:
        print(f"broker (PID {pid}) reloaded its users and ACL")


def cmd_broker(args: argparse.Namespace) -> int:
    """Replace this process with Mosquitto, so that Ctrl-C, SIGTERM and systemd reach it directly."""
    import os

    from relais.brokers.mosquitto import find_mosquitto
    from relais.brokers.security import write_production_config

    binary = find_mosquitto()
    tls = _broker_tls(args)
    port = args.port or (8883 if tls else 1883)
    config = write_production_config(broker_dir(args), port=port, listen=args.listen, tls=tls)
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
    from relais.brokers.certificates import TlsFiles, ensure_broker_tls

    given = (args.cert, args.key, args.ca)
    if not args.tls:
        if any(given) or args.tls_host:
            raise ValueError("--cert, --key, --ca and --tls-host need --tls")
        return None
    if not any(given):
        return ensure_broker_tls(broker_dir(args) / "tls", _broker_hosts(args))
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
    from relais.brokers.security import BrokerCredentials
    from relais.mqtt import broker_url_with_credentials

    username, password = BrokerCredentials(broker_dir(args)).controller()
    print(broker_url_with_credentials(args.broker_url, username, password))
    return 0


def add_commands(commands: Commands) -> None:
    broker = add_command(
        commands,
        "broker",
        cmd_broker,
        "Run Mosquitto for production: users, passwords and ACL from --data-dir, no anonymous access.",
    )
    add_data_dir(broker)
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
    controller_url = add_command(
        broker.add_subparsers(dest="broker_command", metavar="ACTION"),
        "controller-url",
        cmd_broker_controller_url,
        "Print the controller's broker URL with its user and password, for relais serve --broker-url.",
    )
    add_data_dir(controller_url)
    controller_url.add_argument(
        "--broker-url", default="mqtt://127.0.0.1:1883", help="without user (default mqtt://127.0.0.1:1883)"
    )
