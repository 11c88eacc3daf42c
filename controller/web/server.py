"""Serving the app until SIGINT or SIGTERM, then returning so the caller can tidy up."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable

from flask import Flask
from werkzeug.serving import make_server

from relais.signals import stop_requested


def freeze_startup_objects() -> None:
    """Leave what start-up built (modules, fonts, profiles, the app) out of the garbage collector's
    full collections from now on.

    Some 75,000 objects that live as long as the process, which each full collection would scan again:
    during department alerts the collector's CPU time fell by a third, that of its full collections by
    three quarters (``bench/README.md``). Still freed by reference counting; only cycles would stay.
    """
    gc.collect()
    gc.freeze()


def serve_until_stopped(app: Flask, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """A threaded WSGI server; port 0 picks a free one. Fit for loopback or behind a reverse proxy.

    Werkzeug's own line per request is left out: the app logs each one, with its id and duration
    (``controller.web.metrics``)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(host, port, app, threaded=True)
    freeze_startup_objects()
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    with stop_requested() as stop:
        thread.start()
        try:
            on_ready(f"http://{host}:{server.server_port}")
            stop.wait()
        finally:
            server.shutdown()
            thread.join()
