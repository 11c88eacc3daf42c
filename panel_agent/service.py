"""The agent as a service: ``relais agent --config FILE`` and ``python -m panel_agent --config FILE``
run one panel until stopped, telling systemd when it is ready, alive and stopping."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from panel_agent.agent import PanelAgent
from panel_agent.config import ConfigError, load_config
from panel_agent.watchdog import SystemdWatchdog, heartbeat_limit_s
from relais.logs import setup_logging
from relais.signals import stop_requested

log = logging.getLogger("panel_agent")


def run(config_path: Path, log_format: str = "text") -> int:
    """Run the agent until SIGINT or SIGTERM (systemd's stop), then say goodbye; 2 for a bad config.

    Under systemd (``Type=notify``) it says when it is ready and stopping, and feeds ``WatchdogSec=``
    while the rotation turns (``panel_agent.watchdog``). ``log_format``: ``relais.logs.LOG_FORMATS``.
    """
    setup_logging(log_format)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"relais agent: {exc}", file=sys.stderr)
        return 2
    agent = PanelAgent(config)
    watchdog = SystemdWatchdog(agent, stale_after_s=heartbeat_limit_s(config.backend_settings))
    with stop_requested() as stopping:
        try:
            log.info("panel %s starting (config %s)", config.panel_id, config.path)
            agent.start()
            watchdog.start()
            stopping.wait()
        finally:
            watchdog.stop()
            agent.stop()
    log.info("panel %s stopped", config.panel_id)
    return 0
