"""``python -m panel_agent --config FILE``: the agent without the ``relais`` command line around it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from panel_agent.service import run
from relais.logs import LOG_FORMATS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m panel_agent",
        description="Run a Relais panel agent: show what the controller signs for this panel, until "
        "SIGINT or SIGTERM.",
    )
    parser.add_argument(
        "--config", required=True, type=Path, metavar="FILE", help="the agent's TOML config file"
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text lines (default), or one JSON object a line for a log collector",
    )
    args = parser.parse_args(argv)
    return run(args.config, args.log_format)


if __name__ == "__main__":
    sys.exit(main())
