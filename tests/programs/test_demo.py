"""``relais demo`` as a newcomer runs it: start, read the address and token, queue a message, see it
on every simulated panel, stop with SIGTERM and find nothing left running; with ``--cap-feed sample``, an
official warning reaches the panels from a feed, and a feed that is not one is refused in one line."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from controller.domain.alerts import alert_content
from controller.domain.official_alerts import OFFICIAL_TITLE
from controller.rendering.engine import render
from controller.rendering.profiles import get_profile
from relais.brokers.mosquitto import port_open
from tests.support import first_page, same_pixels, wait_for
from tests.support.webhooks import webhook_receiver

pytestmark = pytest.mark.e2e


@dataclass
class Demo:
    """A running ``relais demo`` as a newcomer reads it: its printed lines, its address and its token."""

    process: subprocess.Popen
    output: list[str]
    address: str = ""
    token: str = ""

    def api(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.address + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def printed(self) -> str:
        return "".join(self.output)


@contextmanager
def running_demo(data_dir: Path, *options: str) -> Iterator[Demo]:
    """``relais demo`` in its own process until the block ends, then stopped with SIGTERM: it must exit 0."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "programs.cli",
            "demo",
            "--http-port",
            "0",
            "--data-dir",
            str(data_dir),
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    demo = Demo(process, [])
    reader = threading.Thread(
        target=lambda: demo.output.extend(iter(process.stdout.readline, "")), daemon=True
    )
    reader.start()
    try:
        banner = wait_for(
            lambda: re.search(r"web app  : (http://\S+)/login\n.*\n  API token: (\S+)", demo.printed()),
            "banner",
        )
        demo.address, demo.token = banner.group(1), banner.group(2)
        yield demo
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0, demo.printed()
    assert "Relais demo stopped." in demo.printed()


def test_the_demo_runs_shows_a_queued_message_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    with running_demo(data_dir) as demo, webhook_receiver() as receiver:
        assert (data_dir / "demo-accounts.txt").exists()
        broker_port = int(re.search(r"broker mqtt://127\.0\.0\.1:(\d+)", demo.printed()).group(1))
        assert (data_dir / "admin.token").read_text().strip() == demo.token
        assert (data_dir / "admin.token").stat().st_mode & 0o777 == 0o600

        panels = demo.api("/api/v1/panels")["panels"]
        assert [(p["kind"], p["width"], p["height"], p["colour_mode"]) for p in panels] == [
            ("epaper", 800, 480, "bw"),
            ("led", 192, 64, "mono"),
            ("led", 128, 64, "rgb"),
        ]
        assert {p["commune"]["insee"] for p in panels} == {"01053", "01004"}
        wait_for(
            lambda: all(p["online"] for p in demo.api("/api/v1/panels")["panels"]), "all panels online", 20
        )

        # A website's receiver on loopback, told the webhook's secret, checks each call's signature.
        webhook = demo.api("/api/v1/webhooks", {"url": receiver.url, "commune": "01053"})
        receiver.trust(receiver.url, webhook["secret"])
        text = "Fête des Lumières « place Bernard » — 8 décembre, 2 € la lanterne"
        demo.api("/api/v1/messages", {"text": text, "panels": [p["id"] for p in panels]})
        for panel in panels:
            expected = first_page(text, panel["profile"])
            screen = data_dir / "screens" / f"{panel['id']}.png"
            wait_for(lambda s=screen, e=expected: same_pixels(s, e), f"{panel['id']} shows the message", 20)
        page = urllib.request.urlopen(demo.address + "/login", timeout=5).read().decode()
        assert "Se connecter" in page
        public = re.search(r"  public   : (http://\S+)", demo.printed()).group(1)
        assert public == demo.address + "/c/01053"
        public_page = urllib.request.urlopen(public, timeout=5).read().decode()  # no login
        assert "<h1>Bourg-en-Bresse</h1>" in public_page and "Fête des Lumières" in public_page
        published = wait_for(
            # The public item's words as a panel shows them (French typography: « place Bernard »).
            lambda: next(
                (body for body in receiver.bodies if "Fête des Lumières" in body["item"]["text"]), None
            ),
            "the signed webhook call",
            20,
        )
        assert published["event"] == "message.published"
        assert demo.address + "/c/01053" in published["item"]["pages"]
    assert not port_open(broker_port), "the demo's Mosquitto is still listening"
    agent_pids = subprocess.run(
        ["pgrep", "-f", str(data_dir / "agents")], capture_output=True, text=True
    ).stdout
    assert agent_pids.strip() == "", "agents are still running"


def alert_image(text: str, profile_id: str) -> Image.Image:
    profile = get_profile(profile_id)
    return render(alert_content(text, OFFICIAL_TITLE, profile), profile).pages[0].frame.image()


def test_the_sample_feed_puts_the_orange_warning_on_the_ain_panels_and_its_all_clear_ends_it(
    tmp_path: Path,
) -> None:
    """The README's ``relais demo --cap-feed sample``: the warning waits in the approval queue (the
    shipped rule), a person approves it, every demo panel (all in the Ain) shows it; the sample's all
    clear, copied over the feed as its README says, takes it off."""
    data_dir = tmp_path / "demo-data"
    with running_demo(data_dir, "--cap-feed", "sample") as demo:
        sample = data_dir / "cap-sample"
        assert f"sample   : {sample / 'README.txt'}" in demo.printed()
        [source] = demo.api("/api/v1/alert-sources")["alert_sources"]
        assert (source["organisation"], source["kind"], source["poll_interval_s"]) == (
            "prefecture-ain",
            "atom",
            10,
        )
        pending = wait_for(
            lambda: demo.api("/api/v1/official-alerts?status=pending")["official_alerts"],
            "the warning pending",
            20,
        )[0]
        assert pending["event"] == "Vigilance orange neige-verglas" and pending["deploys_at"], pending
        assert pending["rule"]["deployment"] == {
            "mode": "approval_timeout",
            "priority": "emergency",
            "timeout_minutes": 15,
        }
        panels = demo.api("/api/v1/panels")["panels"]
        assert sorted(pending["panels"]) == sorted(p["id"] for p in panels)

        approved = demo.api(f"/api/v1/official-alerts/{pending['id']}/approve", {})
        assert approved["status"] == "deployed", approved
        texts = approved["texts"]
        assert texts["led-amber-192x64"].startswith("Vigilance orange neige-verglas à partir de")
        for panel in panels:
            expected = alert_image(texts[panel["profile"]], panel["profile"])
            screen = data_dir / "screens" / f"{panel['id']}.png"
            wait_for(lambda s=screen, e=expected: same_pixels(s, e), f"the warning on {panel['id']}", 20)

        shutil.copyfile(sample / "steps" / "3-all-clear.atom", sample / "meteoalarm-france.atom")
        alert = f"/api/v1/alerts/{approved['alert_id']}"
        wait_for(lambda: demo.api(alert)["status"] == "cancelled", "the all clear ends the alert", 30)
        for panel in panels:
            wait_for(
                lambda p=panel: (
                    demo.api(f"/api/v1/panels/{p['id']}")["showing"]["item_id"]
                    != f"alert-{approved['alert_id']}"
                ),
                f"{panel['id']} without the warning",
            )
    # The demo's source goes with it: no later controller polls a server that is gone.
    with closing(sqlite3.connect(data_dir / "relais.db")) as db:
        assert db.execute("select count(*) from alert_sources").fetchone() == (0,)


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        ("missing.atom", "missing.atom: no such file or folder"),
        ("", "needs a MeteoAlarm Atom feed, a CAP document, a folder, an http(s) URL, or 'sample'"),
        (
            "page.html",
            "page.html: neither a MeteoAlarm Atom feed nor a CAP document (its root element is <html>)",
        ),
        ("notes.txt", "notes.txt: the file is not well-formed XML"),
    ],
)
def test_a_feed_that_is_not_there_or_not_cap_is_refused_in_one_line(
    tmp_path: Path, feed: str, message: str
) -> None:
    (tmp_path / "page.html").write_text("<html><body>Vigilance</body></html>")
    (tmp_path / "notes.txt").write_text("vigilance orange")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "programs.cli",
            "demo",
            "--data-dir",
            str(tmp_path / "data"),
            "--cap-feed",
            feed,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"relais demo: --cap-feed {message}"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "mosquitto").exists(), "nothing starts"
