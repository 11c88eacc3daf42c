"""A thread that runs a round of work every few seconds until stopped: the notifier's and the webhooks'.
A round that fails is logged and the next one comes as usual."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Rounds:
    """``tick(now)`` every ``every_s`` on a daemon thread named ``name``, from ``start`` to ``stop``."""

    def __init__(self, name: str, every_s: float, tick: Callable[[float], object]) -> None:
        self._name = name
        self._every_s = every_s
        self._tick = tick
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self._every_s):
            try:
                self._tick(time.time())
            except Exception:
                log.exception("%s: this round failed; next in %s s", self._name, self._every_s)
