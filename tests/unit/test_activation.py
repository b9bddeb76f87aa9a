"""sd_notify and the LISTEN_* checks, without systemd (the real thing: test_systemd.py)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from credd.system.activation import ActivationError, inherited_socket, notify


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
