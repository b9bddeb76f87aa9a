"""`replace_file`: whole or not at all, the mode kept, nothing left behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from credd_client.cli import atomicfile
from credd_client.cli.atomicfile import replace_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "token"
    previous = os.umask(0)
    try:
        replace_file(str(target), b"one")
    finally:
        os.umask(previous)
    assert target.read_bytes() == b"one"
    assert mode(target) == 0o600


def test_a_replaced_file_keeps_its_mode_and_is_a_new_inode(tmp_path: Path) -> None:
    target = tmp_path / "token"
    target.write_bytes(b"old")
    target.chmod(0o640)
    before = target.stat().st_ino
    with target.open("rb") as held:
        replace_file(str(target), b"new")
        assert held.read() == b"old"  # an open reader keeps the old file
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o640
    assert target.stat().st_ino != before
    assert sorted(os.listdir(tmp_path)) == ["token"]
    replace_file(str(target), b"newer", mode=0o600)
    assert (target.read_bytes(), mode(target)) == (b"newer", 0o600)


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    target = folder / "token"
    target.write_bytes(b"old")
    with pytest.raises(IsADirectoryError):
        replace_file(str(folder), b"new")  # renaming a file over a folder fails
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["folder"]
    assert sorted(os.listdir(folder)) == ["token"]


def test_an_unwritable_folder_is_an_oserror_and_writes_nothing(tmp_path: Path) -> None:
    # sysfs takes no new files, even from root (the tests may run as root, where modes
    # do not stop a write).
    with pytest.raises(PermissionError):
        replace_file("/sys/credd-token", b"new")
    assert not os.path.lexists("/sys/credd-token")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        replace_file(str(not_a_folder / "token"), b"new")
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_a_folder_that_cannot_be_synced_is_said_after_the_new_content_is_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "token"
    target.write_bytes(b"old")

    def failing_sync(folder: str) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomicfile, "sync_folder", failing_sync)
    with pytest.raises(atomicfile.FolderNotSynced) as raised:
        atomicfile.replace_file(str(target), b"new")
    assert raised.value.errno == errno.EIO
    assert target.read_bytes() == b"new"  # never "as it was": the caller must not say so
