"""The store file: atomic, private, durable writes."""

from __future__ import annotations

import os
import resource
import signal
import stat
from pathlib import Path

import pytest

from credd.store.files import StoreFile
from credd_client.errors import WriteFailed


def test_write_then_read_round_trips_and_is_private(tmp_path: Path) -> None:
    store = StoreFile(tmp_path / "state" / "store.credd")
    version = store.write(b"one")
    loaded = store.read()
    assert loaded is not None
    assert loaded == (b"one", version)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


def test_each_write_gives_a_new_version(tmp_path: Path) -> None:
    store = StoreFile(tmp_path / "store.credd")
    first = store.write(b"same")
    second = store.write(b"same")
    assert first != second  # a rename gives a new inode
    assert store.version() == second


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    store = StoreFile(tmp_path / "store.credd")
    assert store.read() is None
    assert store.version() is None


def test_lock_file_is_private(tmp_path: Path) -> None:
    store = StoreFile(tmp_path / "store.credd")
    with store.locked():
        pass
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600


def test_a_full_disk_leaves_the_old_store_whole(tmp_path: Path) -> None:
    store = StoreFile(tmp_path / "store.credd")
    store.write(b"old contents")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4, hard))
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with pytest.raises(WriteFailed, match="previous store is intact"):
            store.write(b"new contents that do not fit")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert store.read() is not None
    assert store.path.read_bytes() == b"old contents"
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert leftovers == []
