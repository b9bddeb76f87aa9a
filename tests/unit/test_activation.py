"""sd_notify and the LISTEN_* checks, without systemd (the real thing: test_systemd.py); launchd's
sockets taken by name, with real sockets and launch_activate_socket(3) stood in for."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from credd.system.activation import (
    AGENT_SOCKET,
    LAUNCHD_SOCKETS,
    MAIN_SOCKET,
    ActivationError,
    inherited_socket,
    launch_activate_socket,
    launchd_sockets,
    notify,
)


def test_notices_reach_an_abstract_notify_socket() -> None:
    name = f"credd-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        receiver.settimeout(10)
        assert notify("READY=1", "STATUS=serving", env={"NOTIFY_SOCKET": "@" + name})
        assert receiver.recv(4096) == b"READY=1\nSTATUS=serving"


def test_without_a_notify_socket_nothing_is_sent() -> None:
    assert notify("READY=1", env={}) is False


def test_a_notify_socket_that_is_gone_is_only_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert notify("READY=1", env={"NOTIFY_SOCKET": "/nonexistent/notify"}) is False
    assert "could not notify" in caplog.text


def test_listen_fds_meant_for_another_process_are_left_alone() -> None:
    env = {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1"}
    assert inherited_socket(env) is None
    assert env == {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1"}
    assert inherited_socket({}) is None


def test_sockets_of_unknown_names_are_refused_and_the_variables_removed() -> None:
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"}
    with pytest.raises(ActivationError, match="one named 'credd' and one"):
        inherited_socket(env)
    assert env == {}
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "3"}
    with pytest.raises(ActivationError, match="passed 3 sockets"):
        inherited_socket(env)
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "credd:credd"}
    with pytest.raises(ActivationError):
        inherited_socket(env)


# --- launchd: the sockets the launch agent's plist declares, taken by name ---------------------


def listening_socket(path: Path) -> int:
    """A descriptor of a real listening Unix socket at ``path``, as launchd would pass it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(4)
    return sock.detach()


def test_launchds_sockets_are_taken_by_their_plist_names(short_tmp: Path) -> None:
    passed = {
        "credd": [listening_socket(short_tmp / "credd.sock")],
        "ssh-agent": [listening_socket(short_tmp / "ssh-agent.sock")],
    }
    asked: list[str] = []

    def activate(name: str) -> list[int] | None:
        asked.append(name)
        return passed.get(name)

    taken = launchd_sockets(activate)
    assert asked == ["credd", "ssh-agent"]  # the plist's Sockets keys
    assert LAUNCHD_SOCKETS == {MAIN_SOCKET: "credd", AGENT_SOCKET: "ssh-agent"}
    assert taken[MAIN_SOCKET].getsockname() == str(short_tmp / "credd.sock")
    assert taken[AGENT_SOCKET].getsockname() == str(short_tmp / "ssh-agent.sock")
    for sock in taken.values():
        assert not os.get_inheritable(sock.fileno())
        assert sock.getblocking() is False
        sock.close()


def test_a_name_launchd_does_not_pass_is_left_for_the_daemon_to_bind(short_tmp: Path) -> None:
    """A plist written before the agent declares `credd` only; launchd did not start us: none."""
    main = listening_socket(short_tmp / "credd.sock")
    taken = launchd_sockets(lambda name: [main] if name == "credd" else None)
    assert list(taken) == [MAIN_SOCKET]
    taken[MAIN_SOCKET].close()
    assert launchd_sockets(lambda name: None) == {}
    assert launchd_sockets(lambda name: []) == {}  # a socket launchd could not bind


def test_anything_but_one_listening_unix_socket_per_name_is_refused(short_tmp: Path) -> None:
    two = [listening_socket(short_tmp / "a.sock"), listening_socket(short_tmp / "b.sock")]
    with pytest.raises(ActivationError, match="2 sockets named 'credd'"):
        launchd_sockets(lambda name: two if name == "credd" else None)
    for descriptor in two:  # closed by the refusal
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(descriptor)
    main = listening_socket(short_tmp / "credd.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:  # bound, not listening
        idle.bind(str(short_tmp / "idle.sock"))
        passed = {"credd": [main], "ssh-agent": [idle.fileno()]}
        with pytest.raises(ActivationError, match="not listening"):
            launchd_sockets(passed.get)
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(main)  # the socket taken before the refusal is closed too


def test_without_launchds_call_nothing_is_passed() -> None:
    """The real lookup where libc has no launch_activate_socket (Linux here, macOS before
    10.10): no socket, so the daemon binds its own."""
    assert launch_activate_socket("credd") is None
