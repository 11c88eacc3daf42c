"""``relais demo`` as a newcomer runs it: start, read the address and token, queue a message, see it
on every simulated panel, stop with SIGTERM and find nothing left running."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from relais.brokers.mosquitto import port_open
from tests.support import first_page, same_pixels, wait_for

pytestmark = pytest.mark.e2e


def test_the_demo_runs_shows_a_queued_message_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    process = subprocess.Popen(
        [sys.executable, "-m", "programs.cli", "demo", "--http-port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        banner = wait_for(
            lambda: re.search(r"web app  : (http://\S+)/login\n.*\n  API token: (\S+)", "".join(output)),
            "banner",
        )
        address, token = banner.group(1), banner.group(2)
        assert (data_dir / "demo-accounts.txt").exists()
        broker_port = int(re.search(r"broker mqtt://127\.0\.0\.1:(\d+)", "".join(output)).group(1))
        assert (data_dir / "admin.token").read_text().strip() == token
        assert (data_dir / "admin.token").stat().st_mode & 0o777 == 0o600

        def api(path: str, body: dict | None = None) -> dict:
            request = urllib.request.Request(
                address + path,
                data=None if body is None else json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())

        panels = api("/api/v1/panels")["panels"]
        assert [(p["kind"], p["width"], p["height"], p["colour_mode"]) for p in panels] == [
            ("epaper", 800, 480, "bw"),
            ("led", 192, 64, "mono"),
            ("led", 128, 64, "rgb"),
        ]
        assert {p["commune"]["insee"] for p in panels} == {"01053", "01004"}
        wait_for(lambda: all(p["online"] for p in api("/api/v1/panels")["panels"]), "all panels online", 20)

        text = "Fête des Lumières « place Bernard » — 8 décembre, 2 € la lanterne"
        api("/api/v1/messages", {"text": text, "panels": [p["id"] for p in panels]})
        for panel in panels:
            expected = first_page(text, panel["profile"])
            screen = data_dir / "screens" / f"{panel['id']}.png"
            wait_for(lambda s=screen, e=expected: same_pixels(s, e), f"{panel['id']} shows the message", 20)
        page = urllib.request.urlopen(address + "/login", timeout=5).read().decode()
        assert "Se connecter" in page
        public = re.search(r"  public   : (http://\S+)", "".join(output)).group(1)
        assert public == address + "/c/01053"
        public_page = urllib.request.urlopen(public, timeout=5).read().decode()  # no login
        assert "<h1>Bourg-en-Bresse</h1>" in public_page and "Fête des Lumières" in public_page
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0, "".join(output)
    assert "Relais demo stopped." in "".join(output)
    assert not port_open(broker_port), "the demo's Mosquitto is still listening"
    agent_pids = subprocess.run(
        ["pgrep", "-f", str(data_dir / "agents")], capture_output=True, text=True
    ).stdout
    assert agent_pids.strip() == "", "agents are still running"
