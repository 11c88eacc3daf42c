"""``relais agent --config FILE`` and ``python -m panel_agent --config FILE``: run one panel until stopped."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from panel_agent.agent import PanelAgent
from panel_agent.config import ConfigError, load_config
from panel_agent.watchdog import SystemdWatchdog, heartbeat_limit_s

log = logging.getLogger("panel_agent")


def run(config_path: Path) -> int:
    """Run the agent until SIGINT or SIGTERM (systemd's stop), then say goodbye; 2 for a bad config.

    Under systemd (``Type=notify``) it says when it is ready and stopping, and feeds ``WatchdogSec=``
    while the rotation turns (``panel_agent.watchdog``).
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"relais agent: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    agent = PanelAgent(config)
    watchdog = SystemdWatchdog(agent, stale_after_s=heartbeat_limit_s(config.backend_settings))
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        log.info("panel %s starting (config %s)", config.panel_id, config.path)
        agent.start()
        watchdog.start()
        stopping.wait()
    finally:
        watchdog.stop()
        agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("panel %s stopped", config.panel_id)
    return 0
