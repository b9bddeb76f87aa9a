"""A fake daemon run by another user gets nothing; a daemon refuses a socket folder that is
not privately its user's.

The fake daemon is a real listener running as nobody (setpriv) that records every byte it
receives. The client must refuse before sending a single one: when the socket's folder is
not the user's, and when the process answering is another uid.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.impostor import FakeDaemon, fake_daemon_in
from tests.support.other_user import NOBODY

pytestmark = pytest.mark.integration

CANARY = "CANARY-impostor-2d8e"


@pytest.fixture
def fake_daemon(short_tmp: Path) -> Iterator[FakeDaemon]:
    with fake_daemon_in(short_tmp) as fake:
        yield fake


def test_a_socket_folder_of_another_user_gets_nothing(
    fake_daemon: FakeDaemon, credd_env: dict[str, str]
) -> None:
    env = {**credd_env, "CREDD_SOCKET": str(fake_daemon.socket)}
    got = credd(env, "set", "x", input=CANARY)
    assert got.returncode != 0
    assert f"belongs to uid {NOBODY}" in got.stderr
    assert credd(env, "get", "x").returncode != 0
    fake_daemon.control(fake_daemon.socket)
    assert fake_daemon.received() == b"CONN 4\nPING\n"  # the client never even connected


def test_a_listener_of_another_user_in_our_own_folder_gets_nothing(
    fake_daemon: FakeDaemon, credd_env: dict[str, str], short_tmp: Path
) -> None:
    # Our folder, 0700, as the daemon makes it; the socket in it answered by nobody.
    ours = short_tmp / "ours"
    ours.mkdir(mode=0o700)
    planted = ours / "credd.sock"
    os.rename(fake_daemon.socket, planted)
    env = {**credd_env, "CREDD_SOCKET": str(planted)}
    for args in (("set", "x"), ("get", "x"), ("list",), ("status",)):
        result = credd(env, *args, input=CANARY)
        assert result.returncode != 0, args
        assert f"runs as uid {NOBODY}, not as you" in result.stderr, result.stderr
    fake_daemon.control(planted)
    received = fake_daemon.received()
    # Four connections refused before a byte was sent, then the control.
    assert received == b"CONN 0\n\n" * 4 + b"CONN 4\nPING\n", received
    assert CANARY.encode() not in received


@pytest.mark.parametrize("problem", ["owner", "mode"])
def test_the_daemon_refuses_a_socket_folder_not_privately_ours(
    credd_env: dict[str, str], problem: str
) -> None:
    sock = Path(credd_env["CREDD_SOCKET"])
    sock.parent.mkdir(mode=0o700)
    if problem == "owner":
        if os.geteuid() != 0:
            pytest.fail("chown to another uid needs root (CI runs as root)")
        os.chown(sock.parent, NOBODY, NOBODY)
        expected = f"belongs to uid {NOBODY}, not to you"
    else:
        os.chmod(sock.parent, 0o755)
        expected = "is open to others (mode 755)"
    daemon = DaemonProcess(Path(credd_env["CREDD_HOME"]), sock, credd_env)
    with pytest.raises(RuntimeError, match="exited with 1 before it was ready"):
        daemon.start(timeout=30)
    assert expected in daemon.log_text()
    assert not sock.exists()
