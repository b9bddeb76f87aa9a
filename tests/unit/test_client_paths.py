"""Where the client looks for the daemon, and which socket folders it refuses."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from credd_client import Forbidden, socket_path
from credd_client import _paths as paths

UID = os.getuid()


def test_credd_socket_wins_over_everything() -> None:
    env = {"CREDD_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/7", "CREDD_HOME": "/h"}
    assert socket_path(env) == "/x/y.sock"


def test_runtime_dir_when_set() -> None:
    assert socket_path({"XDG_RUNTIME_DIR": "/run/user/7"}) == "/run/user/7/credd/credd.sock"


@pytest.mark.parametrize("env", [{}, {"XDG_RUNTIME_DIR": ""}, {"CREDD_SOCKET": ""}])
def test_tmp_folder_of_the_uid_otherwise(env: dict[str, str]) -> None:
    assert socket_path(env) == f"/tmp/credd-{UID}/credd.sock"


def test_credd_home_gets_its_own_socket_in_the_same_folder() -> None:
    # A fixed vector, so that installers and other tools can check their own derivation.
    expected = "/run/user/7/credd/credd-820bd6ebc7a5.sock"
    env = {"XDG_RUNTIME_DIR": "/run/user/7", "CREDD_HOME": "/home/alice/.credd"}
    assert socket_path(env) == expected
    assert socket_path({"CREDD_HOME": "/home/alice/.credd"}) == (
        f"/tmp/credd-{UID}/credd-820bd6ebc7a5.sock"
    )


def test_credd_home_is_hashed_as_an_absolute_expanded_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    digest = hashlib.sha256(str(tmp_path / "store").encode()).hexdigest()[:12]
    expected = f"/tmp/credd-{UID}/credd-{digest}.sock"
    assert socket_path({"CREDD_HOME": "store"}) == expected
    assert socket_path({"CREDD_HOME": "~/store"}) == expected
    assert socket_path({"CREDD_HOME": str(tmp_path / "other")}) != expected


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDD_SOCKET", "/from/env.sock")
    assert socket_path() == "/from/env.sock"


def test_windows_names_a_pipe_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert socket_path({"USERNAME": "alice"}) == r"\\.\pipe\credd-alice"
    assert socket_path({"USERNAME": "alice", "CREDD_SOCKET": r"\\.\pipe\x"}) == r"\\.\pipe\x"


def test_own_private_folder_is_accepted(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    paths.check_socket_folder(str(tmp_path))
    tmp_path.chmod(0o755)  # others may look, not write
    paths.check_socket_folder(str(tmp_path))


@pytest.mark.parametrize("mode", [0o770, 0o702, 0o777, 0o1777])
def test_folder_others_may_write_is_refused(tmp_path: Path, mode: int) -> None:
    tmp_path.chmod(mode)
    with pytest.raises(Forbidden, match="chmod 700") as caught:
        paths.check_socket_folder(str(tmp_path))
    assert str(tmp_path) in caught.value.message
    tmp_path.chmod(0o700)


def test_folder_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path.chmod(0o700)
    monkeypatch.setattr(os, "getuid", lambda: UID + 1)
    with pytest.raises(Forbidden, match=f"belongs to uid {UID}, not to you") as caught:
        paths.check_socket_folder(str(tmp_path))
    assert "CREDD_SOCKET" in caught.value.message


def test_missing_folder_is_left_to_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        paths.check_socket_folder(str(tmp_path / "absent"))
