"""Faults between real processes: a cable that can be cut or held, a controller process, stopping by PID."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support import wait_for


def stop_process(process: subprocess.Popen) -> None:
    """End a process we started, by its PID, whatever state the test left it in."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Controller:
    """``relais serve`` as a real process on a data folder, for a test that kills it."""

    def __init__(self, data_dir: Path, broker_url: str) -> None:
        self.data_dir = data_dir
        started = time.monotonic_ns()
        # What it prints apart from its logs: a log line from another thread may land before the newline
        # that ends « Relais at URL ».
        self.printed = data_dir / f"serve-{started}.out"
        self.log = data_dir / f"serve-{started}.log"
        relais = shutil.which("relais", path=str(Path(sys.executable).parent))
        assert relais, "the relais command is installed beside the interpreter"
        with self.printed.open("wb") as out, self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    relais,
                    "serve",
                    "--data-dir",
                    str(data_dir),
                    "--broker-url",
                    broker_url,
                    "--http-port",
                    "0",
                ],
                stdout=out,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.url: str = wait_for(self._ready, "relais serve listening", timeout=30)

    def _ready(self) -> str | None:
        assert self.process.poll() is None, self.printed.read_text() + self.log.read_text()
        for line in self.printed.read_text(errors="replace").splitlines(keepends=True):
            if line.startswith("Relais at ") and line.endswith("\n"):
                return line.removeprefix("Relais at ").strip()
        return None

    def request(
        self, method: str, path: str, token: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


class Cable:
    """A loopback TCP relay between one client and the broker: ``cut()`` drops its connections and refuses
    new ones (counted in ``refused``), as a broken link would, while the broker stays up for everyone
    else; ``mend()`` repairs it. ``hold()`` stops the bytes in both directions without closing anything,
    as a stalled broker or network would, until ``cut()`` or ``mend()``."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._connected = True
        self._closed = False
        self._flowing = threading.Event()
        self._flowing.set()
        self.refused = 0
        self._thread = threading.Thread(target=self._accept, name="cable", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if not self._connected:
                    self.refused += 1
                    client.close()
                    continue
                upstream = socket.create_connection(("127.0.0.1", self.broker_port))
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            self._connected = False
            sockets, self._sockets = self._sockets, []
        for end in sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        self._flowing.set()  # what was held goes nowhere: its sockets are closed

    def hold(self) -> None:
        self._flowing.clear()

    def mend(self) -> None:
        with self._lock:
            self._connected = True
        self._flowing.set()

    def close(self) -> None:
        self.cut()
        self._closed = True
        self._listener.close()
        self._thread.join()
