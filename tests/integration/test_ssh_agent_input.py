"""Bad input on credd's agent socket: truncated, garbage, unknown, oversized, unsupported.

Each gets SSH_AGENT_FAILURE (or, past the protocol's size limit, a closed connection); the
agent answers the next message and nothing is stored."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

import pytest

from credd_client._paths import agent_socket_path
from tests.support.daemon import DaemonProcess

FAILURE = b"\x00\x00\x00\x01\x05"
NO_IDENTITIES = b"\x00\x00\x00\x05\x0c\x00\x00\x00\x00"


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def exchange(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    head = _read(sock, 4)
    return head + _read(sock, struct.unpack(">I", head)[0])


def _read(sock: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("closed")
        chunks += chunk
    return chunks


@pytest.fixture
def agent(headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(agent_socket_path(headless_credd_env))
    return sock


ED25519_TYPE = string(b"ssh-ed25519")

BAD_MESSAGES = {
    "empty message": b"",
    "unknown type": b"\x63",
    "request identities with trailing bytes": b"\x0b\x00",
    "truncated sign request": b"\x0d\x00\x00\x00\x10abc",
    "sign request for an unknown key": b"\x0d"
    + string(ED25519_TYPE + string(b"\x01" * 32))
    + string(b"data")
    + b"\x00\x00\x00\x00",
    "garbage add": b"\x11" + b"\xff" * 40,
    "ed25519 add of the wrong size": b"\x11"
    + ED25519_TYPE
    + string(b"\x01" * 31)
    + string(b"\x02" * 64)
    + string(b"c"),
    "dsa key": b"\x11" + string(b"ssh-dss") + string(b"\x01") * 5 + string(b"c"),
    "security key": b"\x11" + string(b"sk-ssh-ed25519@openssh.com") + string(b"\x01" * 32),
    "certificate": b"\x11" + string(b"ssh-ed25519-cert-v01@openssh.com") + string(b"x"),
    "unknown extension": b"\x1b" + string(b"query"),
    "session-bind that does not verify": b"\x1b"
    + string(b"session-bind@openssh.com")
    + string(ED25519_TYPE + string(b"\x01" * 32))
    + string(b"sid")
    + string(b"sig")
    + b"\x00",
    "remove of a key not held": b"\x12" + string(ED25519_TYPE + string(b"\x03" * 32)),
}


@pytest.mark.parametrize("message", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_a_bad_message_gets_failure_and_the_connection_goes_on(
    agent: socket.socket, message: bytes
) -> None:
    with agent:
        assert exchange(agent, frame(message)) == FAILURE
        assert exchange(agent, frame(b"\x0b")) == NO_IDENTITIES


def test_a_4_gib_length_closes_that_connection_only(
    agent: socket.socket, headless_credd_env: dict[str, str], headless_daemon: DaemonProcess
) -> None:
    with agent:
        agent.sendall(b"\xff\xff\xff\xff\x0b")
        assert agent.recv(16) == b""  # closed, nothing read past the prefix
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as again:
        again.settimeout(10)
        again.connect(agent_socket_path(headless_credd_env))
        assert exchange(again, frame(b"\x0b")) == NO_IDENTITIES
    assert headless_daemon.returncode is None


def test_an_unsupported_key_file_is_refused_and_nothing_is_stored(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    garbage = short_tmp / "id_garbage"
    garbage.write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    dsa_like = short_tmp / "id_text"
    dsa_like.write_text("hello\n")
    for path in (garbage, dsa_like):
        result = subprocess.run(
            ["credd", "ssh-key", "import", str(path)],
            env=headless_credd_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert "nothing was stored" in result.stderr
    listed = subprocess.run(
        ["credd", "ssh-key", "list"],
        env=headless_credd_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout == ""
