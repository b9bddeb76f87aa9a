"""A busy daemon is not a missing daemon (item 2 of issue 15).

On macOS and the BSDs a full listen queue makes `connect` fail with ECONNREFUSED, as a
socket nobody listens on does. A daemon holds `<socket>.owner` locked for its whole life, so
a refused connection to a socket whose owner is alive is "busy": the client retries, then
says so (never "no daemon", on which autostart would start a second one), and a second
`credd serve` leaves the socket alone. Here a bound socket that does not listen refuses the
way a Mac's full queue does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from credd import server
from credd_client import _autostart, _transport
from credd_client._paths import OWNER_SUFFIX, owner_alive
from credd_client._transport import NoDaemon, UnixTransport
from credd_client.errors import DaemonUnavailable


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cbusy-", dir="/tmp"))  # short, for AF_UNIX
    path.chmod(0o700)
    yield path
    shutil.rmtree(path)


@contextlib.contextmanager
def refusing_socket(path: Path) -> Iterator[socket.socket]:
    """Bound, not listening: connect() fails with ECONNREFUSED, as a full queue on macOS."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    try:
        yield sock
    finally:
        sock.close()


@contextlib.contextmanager
def live_owner(path: Path) -> Iterator[None]:
    """What a serving daemon holds: its socket's owner lock."""
    lock = FileLock(str(path) + OWNER_SUFFIX, mode=0o600)
    with lock:
        yield


def test_a_refused_connection_to_a_live_daemon_is_busy_not_absent(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_transport, "_REFUSED_PAUSE", 0.0)
    path = folder / "credd.sock"
    with refusing_socket(path), live_owner(path):
        assert owner_alive(str(path))
        with pytest.raises(DaemonUnavailable, match="running but refuses new connections") as busy:
            UnixTransport(str(path), 1.0).request("GET", "/v1/status")
        assert not isinstance(busy.value, NoDaemon)  # autostart must not act on it
        assert _autostart.listening(str(path))  # nor start a second daemon beside it


def test_a_refused_connection_without_a_live_owner_is_no_daemon(folder: Path) -> None:
    path = folder / "credd.sock"
    with refusing_socket(path):
        assert not owner_alive(str(path))
        with pytest.raises(NoDaemon):
            UnixTransport(str(path), 1.0).request("GET", "/v1/status")
        assert not _autostart.listening(str(path))


def test_a_second_daemon_never_takes_a_live_daemons_socket(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "OWNER_LOCK_TIMEOUT", 0.2)
    path = folder / "credd.sock"
    with refusing_socket(path), live_owner(path):
        inode = path.lstat().st_ino
        with pytest.raises(server.StartupError, match="is alive and owns"):
            server.bind_socket(path)
        assert path.lstat().st_ino == inode  # not unlinked, not replaced


def test_the_owner_lock_lives_as_long_as_the_listener(folder: Path) -> None:
    path = folder / "credd.sock"
    with refusing_socket(path):
        pass  # a stale socket, as a killed daemon leaves: no owner holds its lock
    listener = server.Listener(server.bind_socket(path), path, activated=False)
    try:
        assert owner_alive(str(path))
        assert os.stat(str(path) + OWNER_SUFFIX).st_mode & 0o777 == 0o600
    finally:
        listener.close()
    assert not owner_alive(str(path))
    assert not path.exists()
