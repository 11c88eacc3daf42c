"""A fleet of simulated panels on one machine: hundreds of real ``PanelAgent`` in a few processes.

Each simulated panel is the real agent (signature and freshness checks, stored schedule, state with a
last will, proof of play) with the simulated backend, over its own MQTT connection. A worker process
hosts up to ``PANELS_PER_PROCESS`` of them and drives them all from one thread: their connections
through ``relais.netloop`` (epoll, since paho's own loop uses ``select()``, which fails past file
descriptor 1,024, and a thread per client would be 1,000 threads), their rotations through one timer
queue instead of a thread each (``PanelAgent.turn``). ``FleetSim`` starts the workers and ends each by
its own PID; ``python -m panel_agent.fleet --spec FILE`` is one worker.

With ``light``, each panel is a ``panel_agent.light.LightPanel`` instead: the same connection, user,
checks, state and rotation with proof of play, nothing drawn or stored, so that ten thousand fit
beside a controller on two cores (``LIGHT_PANELS_PER_PROCESS`` a worker; each raises its file limit
to the hard limit for their sockets).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

from panel_agent.agent import PanelAgent
from panel_agent.agent.lifecycle import STOP_PUBLISH_TIMEOUT_S
from panel_agent.config import AgentConfig
from panel_agent.light import LightPanel
from relais import wire
from relais.files import atomic_write
from relais.mqtt import broker_url_with_credentials
from relais.netloop import ClientLoop, Timer
from relais.signals import end_processes, stop_requested

log = logging.getLogger(__name__)

# Each worker stays far below 1,024 file descriptors, and 1,000 panels use both cores of a small machine.
PANELS_PER_PROCESS = 250
# A light panel costs a few hundred µs per update: a few large workers, each with one socket per panel.
LIGHT_PANELS_PER_PROCESS = 2500
STOP_TIMEOUT_S = 15.0
# A simulated department's panels (programs.department): an amber and a colour LED board, a black-and-white
# e-paper panel and a small amber banner.
DEFAULT_PROFILES = ("led-amber-192x64", "led-rgb-128x64", "epaper-bw-800x480", "led-amber-96x16")


@dataclass(frozen=True)
class SimPanel:
    """What a simulated agent needs to know of its panel: its id and its size in pixels."""

    panel_id: str
    width: int
    height: int


@dataclass(frozen=True)
class WorkerSpec:
    """One worker's panels and what they share, written as JSON for ``python -m panel_agent.fleet``.

    On a locked-down broker each panel has its own user (``credentials``: panel id to user and
    password), as real agents do, and ``ca_file`` is the CA certificate trusted for ``mqtts://``.
    """

    broker_url: str
    topic_base: str
    public_key: str  # the controller's, as ``ed25519:<base64>``
    state_dir: str
    screens_dir: str
    panels: tuple[SimPanel, ...]
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    ca_file: str | None = None
    light: bool = False  # LightPanel instead of the real agent

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        data = json.loads(text)
        return cls(
            **{
                **data,
                "panels": tuple(SimPanel(**panel) for panel in data["panels"]),
                "credentials": {panel: tuple(user) for panel, user in data.get("credentials", {}).items()},
            }
        )

    def panel_url(self, panel: SimPanel) -> str:
        """The broker's URL with this panel's own user, when it has one."""
        user = self.credentials.get(panel.panel_id)
        return self.broker_url if user is None else broker_url_with_credentials(self.broker_url, *user)

    def light_panel(self, panel: SimPanel) -> LightPanel:
        return LightPanel(
            panel.panel_id,
            broker_url=self.panel_url(panel),
            public_keys=(wire.public_key_from_text(self.public_key),),
            topics=wire.Topics(self.topic_base),
            ca_file=self.ca_file,
        )

    def agent_config(self, panel: SimPanel, spec_path: Path) -> AgentConfig:
        """The config a real agent of this panel would load, with the simulated backend."""
        return AgentConfig(
            path=spec_path,
            panel_id=panel.panel_id,
            broker_url=self.panel_url(panel),
            ca_file=None if self.ca_file is None else Path(self.ca_file),
            controller_public_key=wire.public_key_from_text(self.public_key),
            state_dir=Path(self.state_dir),
            topic_base=self.topic_base,
            backend_name="simulated",
            backend_settings={
                "width": panel.width,
                "height": panel.height,
                "output_dir": Path(self.screens_dir),
            },
        )


class SharedRotation:
    """Every agent's rotation on the loop's timer queue: one timer per agent, moved at each turn."""

    def __init__(self, loop: ClientLoop) -> None:
        self._loop = loop
        self._timers: dict[str, Timer] = {}

    def turn(self, agent: PanelAgent | LightPanel) -> None:
        """Turn now (a schedule or a command may just have come in), then again when the agent asks."""
        previous = self._timers.pop(agent.panel_id, None)
        if previous is not None:
            previous.cancel()
        wait_s = agent.turn()
        self._timers[agent.panel_id] = self._loop.call_at(time.monotonic() + wait_s, lambda: self.turn(agent))

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


def run_worker(spec_path: Path) -> int:
    """Run one worker's agents until SIGINT or SIGTERM, then sign each off as a real agent would."""
    spec = WorkerSpec.from_json(spec_path.read_text(encoding="utf-8"))
    if spec.light:
        return run_light_worker(spec)
    loop = ClientLoop()
    rotation = SharedRotation(loop)
    agents = [PanelAgent(spec.agent_config(panel, spec_path)) for panel in spec.panels]
    for agent in agents:
        agent.resume()
        rotation.turn(agent)
        loop.add(agent.mqtt_client(), spec.broker_url, after_read=functools.partial(rotation.turn, agent))
    log.info("%d simulated panels connecting to %s", len(agents), spec.broker_url)
    with stop_requested() as stopping:
        loop.run(until=stopping.is_set)
    rotation.stop()
    goodbyes = [agent.sign_off() for agent in agents]
    loop.run(
        until=lambda: all(
            info is None or info.is_published() or client is None or not client.is_connected()
            for client, info in goodbyes
        ),
        timeout=STOP_PUBLISH_TIMEOUT_S,
    )
    for client, _info in goodbyes:
        if client is not None:
            loop.disconnect(client)
    loop.run(until=lambda: loop.open_count() == 0, timeout=STOP_PUBLISH_TIMEOUT_S)
    loop.close()
    for agent in agents:
        agent.backend.close()
    log.info("%d simulated panels stopped", len(agents))
    return 0


def run_light_worker(spec: WorkerSpec) -> int:
    """Run one worker's light panels until SIGINT or SIGTERM, then publish each one's offline state."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per panel
    loop = ClientLoop()
    rotation = SharedRotation(loop)
    panels = [spec.light_panel(panel) for panel in spec.panels]
    clients = [panel.mqtt_client() for panel in panels]
    for panel, client in zip(panels, clients, strict=True):
        rotation.turn(panel)
        loop.add(client, spec.broker_url, after_read=functools.partial(rotation.turn, panel))
    log.info("%d light simulated panels connecting to %s", len(panels), spec.broker_url)
    with stop_requested() as stopping:
        loop.run(until=stopping.is_set)
    rotation.stop()
    goodbyes = [info for info in (panel.sign_off() for panel in panels) if info is not None]
    loop.run(until=lambda: all(info.is_published() for info in goodbyes), timeout=STOP_PUBLISH_TIMEOUT_S)
    for client in clients:
        loop.disconnect(client)
    loop.run(until=lambda: loop.open_count() == 0, timeout=STOP_PUBLISH_TIMEOUT_S)
    loop.close()
    log.info("%d light simulated panels stopped", len(panels))
    return 0


class FleetSim:
    """Simulated panels spread over worker processes, ``per_process`` at most in each.

    ``work_dir`` gets the workers' specs and logs (``worker-N.json``, ``worker-N.log``) and the agents'
    stored schedules (``state/``); what each panel shows goes to ``screens_dir/<panel>.png``
    (``work_dir/screens`` by default). On a locked-down broker, ``credentials`` gives each panel its
    own user (panel id to user and password) and ``ca_file`` the CA trusted for ``mqtts://``.
    ``light`` runs ``LightPanel``s, ``LIGHT_PANELS_PER_PROCESS`` a worker unless ``per_process`` says.
    """

    def __init__(
        self,
        panels: Sequence[SimPanel],
        *,
        broker_url: str,
        public_key_text: str,
        work_dir: Path,
        topic_base: str = wire.DEFAULT_TOPIC_BASE,
        per_process: int | None = None,
        screens_dir: Path | None = None,
        credentials: Mapping[str, tuple[str, str]] | None = None,
        ca_file: Path | None = None,
        light: bool = False,
    ) -> None:
        if not panels:
            raise ValueError("a fleet needs at least one panel")
        self.panels = tuple(panels)
        self.broker_url = broker_url
        self.public_key_text = public_key_text
        self.work_dir = Path(work_dir)
        self.topic_base = topic_base
        self.light = light
        self.per_process = per_process or (LIGHT_PANELS_PER_PROCESS if light else PANELS_PER_PROCESS)
        self.screens_dir = Path(screens_dir) if screens_dir is not None else self.work_dir / "screens"
        self.credentials = dict(credentials or {})
        self.ca_file = ca_file
        self.processes: list[subprocess.Popen[bytes]] = []

    def screen(self, panel_id: str) -> Path:
        return self.screens_dir / f"{panel_id}.png"

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def start(self) -> FleetSim:
        """Start the workers, panels shared evenly among them; they connect in the background."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        workers = math.ceil(len(self.panels) / self.per_process)
        size = math.ceil(len(self.panels) / workers)
        try:
            for number in range(workers):
                # In order, so that each worker gets every profile the fleet deals out in turn.
                panels = self.panels[number * size : (number + 1) * size]
                spec = WorkerSpec(
                    broker_url=self.broker_url,
                    topic_base=self.topic_base,
                    public_key=self.public_key_text,
                    state_dir=str(self.work_dir / "state"),
                    screens_dir=str(self.screens_dir),
                    panels=panels,
                    credentials={
                        p.panel_id: self.credentials[p.panel_id]
                        for p in panels
                        if p.panel_id in self.credentials
                    },
                    ca_file=None if self.ca_file is None else str(self.ca_file.resolve()),
                    light=self.light,
                )
                spec_path = self.work_dir / f"worker-{number + 1}.json"
                atomic_write(spec_path, spec.to_json().encode(), mode=0o600)  # passwords in it
                with (self.work_dir / f"worker-{number + 1}.log").open("ab") as log_file:
                    self.processes.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "panel_agent.fleet", "--spec", str(spec_path)],
                            stdout=log_file,
                            stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                        )
                    )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM each worker by its PID (its agents say goodbye), SIGKILL one that will not end."""
        end_processes(self.processes, STOP_TIMEOUT_S)
        self.processes = []

    def __enter__(self) -> FleetSim:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m panel_agent.fleet",
        description="One worker of a fleet simulator (relais fleet-sim starts them): its panels until "
        "SIGINT or SIGTERM.",
    )
    parser.add_argument("--spec", required=True, type=Path, metavar="FILE", help="the worker's JSON spec")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # One line per panel for every schedule would drown the log of a fleet: warnings and up only.
    logging.getLogger("panel_agent.agent").setLevel(logging.WARNING)
    return run_worker(parser.parse_args(argv).spec)


if __name__ == "__main__":
    sys.exit(main())
