"""Fetching an official alert source: http and https only, whatever a feed links to."""

from __future__ import annotations

import pytest

from controller.publishing.official_feeds import SourceError, fetch
from tests.support.cap_feeds import feed_server


@pytest.mark.parametrize(
    "url", ["file:///etc/hostname", "FILE:///etc/hostname", "ftp://127.0.0.1/cap.xml", "data:,<alert/>"]
)
def test_a_link_to_anything_but_http_is_refused_unread(url: str) -> None:
    with pytest.raises(SourceError, match="only http:// and https:// addresses are read"):
        fetch(url, 1_000_000)


def test_a_redirect_to_a_file_is_refused() -> None:
    with feed_server() as feeds:
        url = feeds.redirect("/cap.xml", "file:///etc/hostname")
        with pytest.raises(SourceError, match="file:"):
            fetch(url, 1_000_000)


def test_an_http_document_is_read_with_its_validators() -> None:
    with feed_server() as feeds:
        url = feeds.serve("/cap.xml", b"<alert/>")
        fetched = fetch(url, 1_000_000)
    assert fetched.body == b"<alert/>" and fetched.etag
