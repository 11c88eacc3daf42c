"""Stopping cleanly on SIGINT (Ctrl-C) or SIGTERM (systemd, the demo's children, tests), and stopping
our own children so."""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


@contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while inside the block; the previous handlers come back after."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def end_processes(processes: Iterable[subprocess.Popen[Any]], timeout_s: float) -> None:
    """SIGTERM each child still running, by its own PID, then SIGKILL any that has not ended within
    ``timeout_s``: all are asked first, so that they stop side by side."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("PID %d did not stop within %s s: killed", process.pid, timeout_s)
            process.kill()
            process.wait()
