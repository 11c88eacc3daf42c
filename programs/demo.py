"""``relais demo``: a Mosquitto, the controller and a few simulated panels, all on this machine."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from controller import create_app, shutdown_app
from controller.domain import accounts
from controller.domain.panels import Panel, get_panels, register_panel
from controller.publishing.public_hooks import DEFAULT_EVERY_S as PUBLIC_HOOKS_EVERY_S
from controller.publishing.queueing import queue_message
from controller.storage.db import connect, transaction
from controller.web.server import serve_until_stopped
from panel_agent.fleet import FleetSim
from programs.cap_sample import SAMPLE_README
from programs.demo_feed import CapFeed, prepare_sample, replace_source, serving
from programs.department import SIM_PREFIX, register_fleet, sim_panels
from programs.provisioning import agent_config_text
from relais.brokers.mosquitto import MosquittoBroker
from relais.files import atomic_write
from relais.keys import PUBLIC_KEY_NAME
from relais.signals import end_processes

log = logging.getLogger(__name__)

DEMO_PANELS: list[dict[str, Any]] = [
    {
        "id": "bourg-entree-nord",
        "name": "Bourg-en-Bresse — entrée nord",
        "commune_insee": "01053",
        "commune_name": "Bourg-en-Bresse",
        "profile": "led-amber-192x64",
        "location": "Avenue de Jasseron, entrée de ville",
        "latitude": 46.2166,
        "longitude": 5.2272,
        "tags": ["entree-de-ville"],
    },
    {
        "id": "bourg-place-bernard",
        "name": "Bourg-en-Bresse — place Bernard",
        "commune_insee": "01053",
        "commune_name": "Bourg-en-Bresse",
        "profile": "led-rgb-128x64",
        "location": "Place Bernard",
        "latitude": 46.2052,
        "longitude": 5.2255,
        "tags": ["centre-ville"],
    },
    {
        "id": "amberieu-mairie",
        "name": "Ambérieu-en-Bugey — mairie",
        "commune_insee": "01004",
        "commune_name": "Ambérieu-en-Bugey",
        "profile": "epaper-bw-800x480",
        "location": "Hôtel de ville, hall d’accueil",
        "latitude": 45.9580,
        "longitude": 5.3585,
        "tags": ["mairie"],
    },
]


# One account per role, as a commune, the prefecture and a technician would have them.
DEMO_ACCOUNTS: list[tuple[str, str, str | None, str | None]] = [
    ("admin", "admin", None, None),
    ("prefecture", "campaign-manager", None, "prefecture-ain"),
    ("mairie-bourg", "commune-editor", "01053", None),
    ("valideur-bourg", "commune-approver", "01053", None),
    ("mairie-amberieu", "commune-editor", "01004", None),
    ("technicien", "technician", None, None),
    ("lecteur", "viewer", None, None),
]
DEMO_ACCOUNTS_NAME = "demo-accounts.txt"


def ensure_demo_accounts(db: Any, listing: Path) -> None:
    """Create the demo's accounts that are missing, with random passwords listed in a 0600 file."""
    lines = listing.read_text(encoding="utf-8").splitlines() if listing.exists() else []
    for name, role, commune, org in DEMO_ACCOUNTS:
        existing = accounts.user_by_name(db, name)
        if existing is not None and existing["password_hash"]:
            continue
        password = accounts.new_password()
        with transaction(db):
            if existing is None:
                accounts.create_user(db, name, role, password, commune, org)
            else:  # an administrator made for the tokens of an older data folder
                accounts.set_password(db, existing["id"], password)
        lines.append(f"{name}\t{password}\t{role}{' ' + commune if commune else ''}")
    atomic_write(listing, ("\n".join(lines) + "\n").encode(), mode=0o600)


def prepare(app: Flask, count: int) -> tuple[list[Panel], str]:
    """Register the demo panels that are missing, greet each new commune, and make sure of a token.

    Up to three, the reference panels; beyond, the three and a simulated department (``programs.department``).
    """
    data_dir = Path(app.config["DATA_DIR"])
    db = connect(Path(app.config["DATABASE"]))
    try:
        specs = DEMO_PANELS[:count]
        existing = get_panels(db)
        new = [spec for spec in specs if spec["id"] not in existing]
        with transaction(db):
            for spec in new:
                register_panel(db, spec)
        communes: dict[str, list[str]] = {}
        for spec in new:
            communes.setdefault(spec["commune_name"], []).append(spec["id"])
        for commune, panel_ids in communes.items():
            queue_message(
                db,
                app.extensions["relais.signing_key"],
                {"text": f"Bienvenue à {commune}", "panels": panel_ids},
                created_by="demo",
            )
        ensure_demo_accounts(db, data_dir / DEMO_ACCOUNTS_NAME)
        token_path = data_dir / "admin.token"
        token = token_path.read_text(encoding="utf-8").strip() if token_path.exists() else ""
        if not token or accounts.token_actor(db, token) is None:
            admin = accounts.user_by_name(db, "admin")
            if admin is None:
                raise RuntimeError("the demo has no admin account: ensure_demo_accounts makes it")
            with transaction(db):
                _id, token = accounts.create_token(db, admin["id"], "demo")
            atomic_write(token_path, (token + "\n").encode(), mode=0o600)
        panels = list(get_panels(db, [spec["id"] for spec in specs]).values())
        if count > len(DEMO_PANELS):
            panels += register_fleet(db, app.extensions["relais.signing_key"], count - len(DEMO_PANELS))
    finally:
        db.close()
    return panels, token


@contextmanager
def running_agents(panels: list[Panel], data_dir: Path, broker_url: str) -> Iterator[list[subprocess.Popen]]:
    """One real agent process per panel, each ended by its own PID on the way out."""
    public_key = _public_key_text(data_dir)
    processes: list[subprocess.Popen] = []
    try:
        for panel in panels:
            folder = data_dir / "agents" / panel.id
            folder.mkdir(parents=True, exist_ok=True)
            config = folder / "agent.toml"
            config.write_text(
                agent_config_text(
                    panel, broker_url=broker_url, public_key_text=public_key, screens_dir=data_dir / "screens"
                ),
                encoding="utf-8",
            )
            with (folder / "agent.log").open("ab") as log_file:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "panel_agent", "--config", str(config)],
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )
        yield processes
    finally:
        end_processes(processes, 10)


def _public_key_text(data_dir: Path) -> str:
    return (data_dir / "keys" / PUBLIC_KEY_NAME).read_text(encoding="utf-8").strip()


def official_source(app: Flask, feed: CapFeed | None, stack: ExitStack) -> str:
    """The demo's official alert source (``--cap-feed``), its file served on loopback while the demo
    runs, gone when it stops (and an earlier demo's, whose server is gone, removed); the banner's lines."""
    database = Path(app.config["DATABASE"])
    db = connect(database)
    try:
        served_at = None
        if feed is not None and feed.file is not None:
            if feed.sample:
                prepare_sample(db, feed.file.parent)
            served_at = stack.enter_context(serving(feed.file))
        source = replace_source(db, feed, served_at)
    finally:
        db.close()
    if feed is None or source is None:
        return ""
    stack.callback(_remove_source, database)
    every = f"every {source['poll_interval_s']} s for the prefecture"
    if feed.folder is not None:
        read = f"CAP files dropped in {feed.folder} are read {every}, then moved to processed/"
    else:
        read = f"{source['location']}{f' ({feed.file})' if feed.file else ''}, read {every}"
    lines = f"  alerts   : {read}\n"
    if feed.sample and feed.file is not None:
        lines += f"  sample   : {feed.file.parent / SAMPLE_README} says how to update or end its warning\n"
    return lines


def _remove_source(database: Path) -> None:
    db = connect(database)
    try:
        replace_source(db, None, None)
    finally:
        db.close()


def run_demo(
    data_dir: Path, *, http_port: int, mqtt_port: int | None, panels: int, cap_feed: CapFeed | None = None
) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        broker = stack.enter_context(MosquittoBroker(data_dir / "mosquitto", port=mqtt_port))
        app = create_app(
            {
                "DATA_DIR": data_dir,
                "BROKER_URL": broker.url,
                "SCHEDULER_ENABLED": True,
                # Webhooks added under « Webhooks » are delivered, their items linking to this demo's
                # pages (its address once it listens: ``announce``).
                "PUBLIC_HOOKS_EVERY_S": PUBLIC_HOOKS_EVERY_S,
                # A demo on one machine: its webhook receivers may listen on loopback too.
                "WEBHOOK_PRIVATE_NETWORKS": ("127.0.0.0/8", "::1/128"),
            }
        )
        stack.callback(shutdown_app, app)
        demo_panels, token = prepare(app, panels)
        reference = [panel for panel in demo_panels if not panel.id.startswith(SIM_PREFIX)]
        simulated = sim_panels(demo_panels[len(reference) :])
        stack.enter_context(running_agents(reference, data_dir, broker.url))
        alerts_note = official_source(app, cap_feed, stack)
        fleet_note = ""
        if simulated:
            fleet = FleetSim(
                simulated,
                broker_url=broker.url,
                public_key_text=_public_key_text(data_dir),
                work_dir=data_dir / "fleet",
                screens_dir=data_dir / "screens",
            )
            stack.enter_context(fleet)
            processes = f"{len(fleet.pids)} fleet process{'es' if len(fleet.pids) > 1 else ''}"
            fleet_note = f" ({len(simulated)} of them in {processes})"

        def announce(address: str) -> None:
            app.config["PUBLIC_URL"] = address
            print(
                f"Relais demo is running: {len(demo_panels)} simulated panels{fleet_note}, "
                f"broker {broker.url} (anonymous, loopback only: a demo, not production)\n"
                f"  web app  : {address}/login\n"
                f"  accounts : one per role, names and passwords in {data_dir / DEMO_ACCOUNTS_NAME}\n"
                f"  API token: {token}  (also in {data_dir / 'admin.token'})\n"
                f"  screens  : {data_dir / 'screens'}\n"
                f"  public   : {address}/c/{DEMO_PANELS[0]['commune_insee']} (no login: page, feeds, widget)\n"
                f"{alerts_note}"
                "Ctrl-C stops everything.",
                flush=True,
            )

        serve_until_stopped(app, "127.0.0.1", http_port, on_ready=announce)
    print("Relais demo stopped.", flush=True)
    return 0
