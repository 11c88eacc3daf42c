"""Serving the app until SIGINT or SIGTERM, then returning so the caller can tidy up."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask
from werkzeug.serving import make_server

from relais.signals import stop_requested


def serve_until_stopped(app: Flask, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """A threaded WSGI server; port 0 picks a free one. Fit for loopback or behind a reverse proxy."""
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    with stop_requested() as stop:
        thread.start()
        try:
            on_ready(f"http://{host}:{server.server_port}")
            stop.wait()
        finally:
            server.shutdown()
            thread.join()
