"""The demo's official alert feed, piece by piece: what ``--cap-feed`` accepts and refuses, the loopback
server that serves a file as it stands at each poll, and the sample kept while its warning is live."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlite_utils import Database

from controller.domain import accounts, official_alerts
from controller.official.atom import read_feed
from controller.publishing.official_feeds import FeedContext, take_document
from controller.storage.db import connect
from programs.cap_sample import CAP_DIR, FEED_NAME, STEPS_DIR, sample_identifiers
from programs.demo_feed import (
    ORGANISATION,
    SOURCE_NAME,
    CapFeed,
    FeedError,
    cap_feed,
    prepare_sample,
    replace_source,
    serving,
)
from tests.support.cap_feeds import atom_feed, document, feed_server

ORANGE = "meteo-france-orange-snow-ice-ain.xml"


def test_a_url_is_an_atom_or_a_cap_source_by_its_content(tmp_path: Path) -> None:
    with feed_server() as server:
        cap_url = server.serve("/cap/orange.xml", document(ORANGE))
        feed_url = server.serve("/feed", atom_feed(server.url, [("/cap/orange.xml", document(ORANGE))]))
        page_url = server.serve("/page", b"<html><body>Vigilance</body></html>")
        assert cap_feed(feed_url, tmp_path) == CapFeed("atom", url=feed_url)
        assert cap_feed(cap_url, tmp_path) == CapFeed("cap", url=cap_url)
        with pytest.raises(FeedError, match="neither a MeteoAlarm Atom feed nor a CAP document"):
            cap_feed(page_url, tmp_path)
        with pytest.raises(FeedError, match="HTTP 404"):
            cap_feed(server.url + "/gone", tmp_path)


def test_a_file_is_served_a_folder_is_a_folder_source_and_sample_is_the_sample(tmp_path: Path) -> None:
    (tmp_path / "orange.xml").write_bytes(document(ORANGE))
    assert cap_feed(str(tmp_path / "orange.xml"), tmp_path) == CapFeed("cap", file=tmp_path / "orange.xml")
    assert cap_feed(str(tmp_path), tmp_path) == CapFeed("folder", folder=tmp_path)
    sample = cap_feed("sample", tmp_path / "data")
    assert sample == CapFeed("atom", file=tmp_path / "data" / "cap-sample" / FEED_NAME, sample=True)


def test_the_served_file_is_read_at_each_request_with_its_relative_links_made_absolute(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "feeds"
    feed = folder / "feed.atom"
    (folder / "cap").mkdir(parents=True)
    (folder / "cap" / "orange.xml").write_bytes(document(ORANGE))
    feed.write_bytes(atom_feed("", [("cap/orange.xml", document(ORANGE))]))
    (tmp_path / "secret.xml").write_text("<secret/>")
    with serving(feed) as url:
        with urllib.request.urlopen(url, timeout=5) as response:
            etag, body = response.headers["ETag"], response.read()
        [entry] = read_feed(body, datetime.now(UTC))
        base = url.rsplit("/", 1)[0]
        assert entry.link == base + "/cap/orange.xml"
        with urllib.request.urlopen(entry.link, timeout=5) as response:
            assert response.read() == document(ORANGE)
        # Unchanged, a 304 as MeteoAlarm answers; a new version dropped in its place is read at once.
        again = urllib.request.Request(url, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError, match="304"):
            urllib.request.urlopen(again, timeout=5)
        feed.write_bytes(atom_feed("", []))
        with urllib.request.urlopen(again, timeout=5) as response:
            assert read_feed(response.read(), datetime.now(UTC)) == []
        # Only the file's folder is served.
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(base + "/../secret.xml", timeout=5)


@pytest.fixture
def db(app: Flask) -> Iterator[Database]:
    """The controller's database with the demo's administrator and prefecture."""
    database = connect(app.config["DATABASE"])
    accounts.create_user(database, "admin", "admin", accounts.new_password())
    accounts.create_user(
        database, "prefecture", "campaign-manager", accounts.new_password(), None, ORGANISATION
    )
    database.conn.commit()
    yield database
    database.close()


def test_the_demo_source_replaces_an_earlier_demos_and_goes_with_it(db: Database) -> None:
    first = replace_source(db, CapFeed("atom", url="http://127.0.0.1:9/old"), None)
    second = replace_source(db, CapFeed("cap", url="http://127.0.0.1:9/new"), None)
    assert first is not None and second is not None
    sources = list(db.query("select * from alert_sources"))
    assert [
        (s["name"], s["organisation"], s["kind"], s["location"], s["poll_interval_s"]) for s in sources
    ] == [(SOURCE_NAME, ORGANISATION, "cap", "http://127.0.0.1:9/new", 10)]
    # The prefecture's first source brought Météo-France's shipped rules.
    assert [rule.deployment.mode for rule in official_alerts.rules_of(db, ORGANISATION)] == [
        "approval_timeout"
    ]
    assert replace_source(db, None, None) is None
    assert db.execute("select count(*) from alert_sources").fetchone() == (0,)
    actions = [row["action"] for row in db.query("select action from audit_log order by id")]
    assert actions == [
        "alert_source.create",
        "alert_source.delete",
        "alert_source.create",
        "alert_source.delete",
    ]


def test_the_sample_is_kept_while_its_warning_is_live_and_written_anew_once_it_ended(
    app: Flask, db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "cap-sample"
    source = replace_source(db, CapFeed("atom", url="http://127.0.0.1:9/feed"), None)
    assert source is not None
    prepare_sample(db, folder)
    written = sample_identifiers(folder)
    assert len(written) == 3 and (folder / STEPS_DIR / "3-all-clear.atom").is_file()
    context = FeedContext(Path(app.config["DATABASE"]), app.extensions["relais.signing_key"])
    take_document(context, db, source, (folder / CAP_DIR / "1-orange-neige-verglas.xml").read_bytes())
    [pending] = official_alerts.list_official(
        db, accounts.actor_from_row(accounts.user_by_name(db, "admin")), None
    )
    assert pending["status"] == "pending" and pending["identifier"] == written[0]

    prepare_sample(db, folder)  # the demo run again: its warning goes on
    assert sample_identifiers(folder) == written

    for name in ("2-mise-a-jour.xml", "3-fin-de-vigilance.xml"):  # updated, then Météo-France's all clear
        take_document(context, db, source, (folder / CAP_DIR / name).read_bytes())
    prepare_sample(db, folder)
    assert set(sample_identifiers(folder)).isdisjoint(written)
