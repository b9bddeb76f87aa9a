"""The Windows named pipe: the parts that run anywhere. The Win32 calls do not run here."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from credd.system.winpipe import pipe_sddl
from credd_client import _paths
from credd_client._pipe import PipeStream, check_server_user, connect_error
from credd_client._transport import NoDaemon
from credd_client.errors import DaemonUnavailable, Forbidden

SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


def test_every_pipe_instance_is_open_to_the_user_alone() -> None:
    sddl = pipe_sddl(SID)
    assert sddl == f"O:{SID}G:{SID}D:P(A;;GA;;;{SID})"
    assert "WD" not in sddl  # Everyone
    assert sddl.count("(A;") == 1  # one allow entry: the user's


@pytest.mark.parametrize("bad", ["", "S-1", "WD", f"{SID})(A;;GA;;;WD", "S-1-5-x"])
def test_anything_but_a_sid_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a SID"):
        pipe_sddl(bad)


def test_the_pipe_name_is_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert _paths.socket_path({"USERNAME": "ada"}) == r"\\.\pipe\credd-ada"
    assert _paths.socket_path({"USERNAME": "ada", "CREDD_SOCKET": r"\\.\pipe\x"}) == r"\\.\pipe\x"


def test_the_pipe_name_is_per_home_as_the_socket_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Item 10 of issue 15: two homes, two pipes; the same home however spelled, one pipe."""
    monkeypatch.setattr(sys, "platform", "win32")
    first, second = tmp_path / "first", tmp_path / "second"
    one = _paths.socket_path({"USERNAME": "ada", "CREDD_HOME": str(first)})
    other = _paths.socket_path({"USERNAME": "ada", "CREDD_HOME": str(second)})
    plain = _paths.socket_path({"USERNAME": "ada"})
    assert len({one, other, plain}) == 3
    assert one.startswith(r"\\.\pipe\credd-ada-")
    assert one == _paths.socket_path({"USERNAME": "ada", "CREDD_HOME": f"{first}/./"})
    # The same 12 hex digits as the socket's name on Unix, so both name a home alike.
    monkeypatch.setattr(sys, "platform", "linux")
    unix = _paths.socket_path({"XDG_RUNTIME_DIR": "/run/user/1", "CREDD_HOME": str(first)})
    assert unix.endswith(f"credd-{one.rsplit('-', 1)[1]}.sock")


def test_connect_errors_mean_what_they_say() -> None:
    missing = connect_error(2, r"\\.\pipe\credd-ada", "start one")
    assert isinstance(missing, NoDaemon)  # autostart may act on this one only
    assert "start one" in missing.message
    busy = connect_error(231, r"\\.\pipe\credd-ada", "start one")
    assert isinstance(busy, DaemonUnavailable)
    assert not isinstance(busy, NoDaemon)


def test_a_pipe_served_by_another_user_is_refused() -> None:
    check_server_user(SID, SID, "pipe")
    with pytest.raises(Forbidden, match="not as you"):
        check_server_user("S-1-5-18", SID, "pipe")


def test_the_pipe_stream_writes_everything_and_reads_buffered(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "stream")
    with open(path, "wb") as handle:
        handle.write(b"HTTP/1.1 200 OK\r\n")
    stream = PipeStream(os.open(path, os.O_RDWR))
    reader = stream.makefile("rb")
    assert isinstance(reader, io.BufferedReader)
    assert reader.readline() == b"HTTP/1.1 200 OK\r\n"
    stream.sendall(b"more")
    stream.close()
    with open(path, "rb") as handle:
        assert handle.read().endswith(b"more")
