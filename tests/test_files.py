"""Atomic writes: the new content in place at once, no temporary file left, fsynced only when durable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relais.files import atomic_write


@pytest.mark.parametrize(("durable", "fsyncs"), [(True, 2), (False, 0)])
def test_a_file_is_replaced_whole_and_fsynced_when_it_must_survive_a_power_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, fsyncs: int
) -> None:
    calls: list[int] = []
    fsync = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", counting)
    path = tmp_path / "deep" / "screen.png"
    atomic_write(path, b"old", durable=durable)
    atomic_write(path, b"new", mode=0o600, durable=durable)
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [entry.name for entry in path.parent.iterdir()] == ["screen.png"]
    assert len(calls) == 2 * fsyncs
