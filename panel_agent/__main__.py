"""``python -m panel_agent --config FILE``: the agent without the ``relais`` command line around it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from panel_agent.service import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m panel_agent",
        description="Run a Relais panel agent: show what the controller signs for this panel, until "
        "SIGINT or SIGTERM.",
    )
    parser.add_argument(
        "--config", required=True, type=Path, metavar="FILE", help="the agent's TOML config file"
    )
    return run(parser.parse_args(argv).config)


if __name__ == "__main__":
    sys.exit(main())
