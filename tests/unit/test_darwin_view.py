"""macOS as the code sees it, simulated on Linux: no SO_PEERCRED, LOCAL_PEERCRED present.

`sys.platform` is "darwin" for the length of each test, `socket.SO_PEERCRED` is gone and
`socket.LOCAL_PEERCRED` is there, so the code takes the branches it takes on a Mac. The
kernel's answers are bytes laid out as <sys/ucred.h> declares `struct xucred` (little-endian,
as on x86_64 and arm64 Macs). None of this has run on a Mac: it checks credd's side of the
calls, not the calls themselves.
"""

from __future__ import annotations

import _socket
import asyncio
import ctypes
import errno
import fcntl
import logging
import os
import socket
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from credd import server
from credd.store import files
from credd.store.files import StoreFile
from credd.system import hygiene, peer
from credd.system.peer import Peer, PeerRefused, admit, peer_of
from credd_client import _transport
from credd_client.errors import Forbidden

# struct xucred of uid 501 (the first user on a Mac): version 0, 16 groups (staff first).
XUCRED_UID_501 = bytes.fromhex(
    "00000000f501000010000000"
    "140000000c0000003d000000"
    "4f0000005000000051000000"
    "62000000bd02000021000000"
    "64000000cc000000fa000000"
    "8b0100008e0100008f010000"
    "90010000"
)
LOCAL_PEERCRED = 0x001  # <sys/un.h>
PEER_PID = 4242
PEER_EXE = "/usr/local/bin/git-credential-credd"


class KernelSocket:
    """A connected socket whose getsockopt answers what a Mac's kernel would."""

    def __init__(self, answers: dict[tuple[int, int], bytes | OSError]) -> None:
        self.answers = answers
        self.asked: list[tuple[int, int, int]] = []

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        self.asked.append((level, option, size))
        answer = self.answers[(level, option)]
        if isinstance(answer, OSError):
            raise answer
        return answer[:size]


def mac_socket(xucred: bytes | OSError = XUCRED_UID_501) -> Any:
    return KernelSocket(
        {(0, LOCAL_PEERCRED): xucred, (0, peer.LOCAL_PEERPID): struct.pack("=i", PEER_PID)}
    )


def fake_proc_pidpath(paths: dict[int, str]) -> Callable[[int, Any, int], int]:
    def proc_pidpath(pid: int, buffer: Any, size: int) -> int:
        path = paths.get(pid)
        if path is None:
            return 0
        data = path.encode()[:size]
        ctypes.memmove(buffer, data, len(data))
        return len(data)

    return proc_pidpath


class RecordingTransport:
    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def admit_socket(sock: object) -> Peer:
    """The daemon's verdict on a connection over ``sock``."""
    transport: Any = RecordingTransport(sock)
    return admit(transport)


@pytest.fixture
def darwin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    for module in (socket, _socket):  # the client's transport uses `_socket` itself
        monkeypatch.delattr(module, "SO_PEERCRED")
        monkeypatch.setattr(module, "LOCAL_PEERCRED", LOCAL_PEERCRED, raising=False)
    monkeypatch.setattr(peer, "libproc_pidpath", lambda: fake_proc_pidpath({PEER_PID: PEER_EXE}))


@pytest.mark.usefixtures("darwin")
def test_the_peer_is_read_from_xucred_local_peerpid_and_proc_pidpath() -> None:
    sock = mac_socket()
    assert peer_of(sock) == Peer(pid=PEER_PID, uid=501, exe=PEER_EXE)
    assert sock.asked == [(0, LOCAL_PEERCRED, 76), (0, peer.LOCAL_PEERPID, 4)]


@pytest.mark.usefixtures("darwin")
def test_this_users_process_is_admitted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 501)
    assert admit_socket(mac_socket()).uid == 501


@pytest.mark.usefixtures("darwin")
def test_another_users_process_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 1 of issue 15: before, the uid was None on macOS and every connection served."""
    monkeypatch.setattr(os, "getuid", lambda: 502)
    with pytest.raises(PeerRefused, match=r"from uid 501 \(this daemon is uid 502\)") as refused:
        admit_socket(mac_socket())
    assert refused.value.peer.exe == PEER_EXE  # for the audit log


@pytest.mark.usefixtures("darwin")
@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN)), "not connected"),
        (XUCRED_UID_501[:8], "76"),  # cut short
        (b"\x01" + XUCRED_UID_501[1:], "version 1"),  # a layout credd does not know
    ],
)
def test_a_peer_the_kernel_does_not_name_is_refused(answer: bytes | OSError, why: str) -> None:
    with pytest.raises(PeerRefused, match="could not be read") as refused:
        admit_socket(mac_socket(answer))
    assert why in refused.value.reason


@pytest.mark.usefixtures("darwin")
def test_without_local_peerpid_the_uid_decides_and_no_program_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 501)
    sock = KernelSocket({(0, LOCAL_PEERCRED): XUCRED_UID_501, (0, 2): OSError(errno.EINVAL, "")})
    assert admit_socket(sock) == Peer(pid=None, uid=501, exe=None)  # per-program access refuses it


def test_every_platform_refuses_what_it_cannot_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PeerRefused, match="no socket"):
        admit_socket(None)
    # Linux, as it is here: SO_PEERCRED failing refuses too.
    failing = KernelSocket({(socket.SOL_SOCKET, socket.SO_PEERCRED): OSError(errno.EBADF, "")})
    with pytest.raises(PeerRefused, match="whose peer credentials could not be read"):
        admit_socket(failing)
    monkeypatch.setattr(sys, "platform", "sunos5")
    with pytest.raises(PeerRefused, match="cannot read on sunos5"):
        admit_socket(mac_socket())


def connect(sock: object) -> RecordingTransport:
    """One connection through the daemon's real protocol class."""
    config = uvicorn.Config(lambda *_: None, lifespan="off", log_config=None)
    config.load()
    protocol_class: Any = server.make_peer_checking_protocol()
    loop = asyncio.new_event_loop()
    try:
        protocol = protocol_class(
            config=config, server_state=ServerState(), app_state={}, _loop=loop
        )
        transport = RecordingTransport(sock)
        protocol.connection_made(transport)
    finally:
        loop.close()
    return transport


@pytest.mark.usefixtures("darwin")
def test_the_server_refuses_another_user_and_logs_who(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 502)
    with caplog.at_level(logging.WARNING, logger="credd"):
        transport = connect(mac_socket())
    assert transport.written.startswith(b"HTTP/1.1 403 Forbidden")
    assert transport.closed
    assert "refused a connection from uid 501 (this daemon is uid 502)" in caplog.text


@pytest.mark.usefixtures("darwin")
def test_the_server_refuses_an_unknown_peer_and_logs_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="credd"):
        transport = connect(mac_socket(OSError(errno.EOPNOTSUPP, "Operation not supported")))
    assert transport.written.startswith(b"HTTP/1.1 403 Forbidden")
    assert transport.closed
    assert "refused a connection whose peer credentials could not be read" in caplog.text
    assert "Operation not supported" in caplog.text


@pytest.mark.usefixtures("darwin")
def test_the_client_reads_the_daemons_uid_from_xucred(monkeypatch: pytest.MonkeyPatch) -> None:
    sock: Any = mac_socket()
    assert _transport._peer_uid(sock) == 501
    monkeypatch.setattr(os, "getuid", lambda: 501)
    _transport._check_peer(sock, "/tmp/credd-501/credd.sock")
    monkeypatch.setattr(os, "getuid", lambda: 502)
    with pytest.raises(Forbidden, match="runs as uid 501, not as you"):
        _transport._check_peer(sock, "/tmp/credd-502/credd.sock")
    with pytest.raises(Forbidden, match="cannot tell which user"):
        _transport._check_peer(mac_socket(b"\x01" * 76), "/tmp/credd-502/credd.sock")


def test_the_client_refuses_a_daemon_it_cannot_identify(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "sunos5")
    with pytest.raises(Forbidden, match="no peer credentials on sunos5"):
        _transport._check_peer(mac_socket(), "/tmp/credd-0/credd.sock")


# --- the store: F_FULLFSYNC ------------------------------------------------------------------


def test_a_store_write_is_flushed_past_the_drives_cache(
    darwin: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Item 4: fsync on macOS leaves the data in the drive's cache; F_FULLFSYNC does not."""
    f_fullfsync = 51  # <sys/fcntl.h>
    calls: list[tuple[str, int]] = []

    def record_fcntl(descriptor: int, command: int, *_: object) -> int:
        calls.append((os.readlink(f"/proc/self/fd/{descriptor}"), command))
        return 0

    def record_fsync(descriptor: int) -> None:
        calls.append((os.readlink(f"/proc/self/fd/{descriptor}"), -1))

    monkeypatch.setattr(fcntl, "F_FULLFSYNC", f_fullfsync, raising=False)
    monkeypatch.setattr(fcntl, "fcntl", record_fcntl)
    monkeypatch.setattr(os, "fsync", record_fsync)
    store = StoreFile(tmp_path / "store.credd")
    store.write(b"sealed bytes")
    assert store.path.read_bytes() == b"sealed bytes"
    (temporary, on_file), (folder, on_folder) = calls
    assert (on_file, on_folder) == (f_fullfsync, f_fullfsync)  # never a plain fsync
    assert Path(temporary).name.startswith(".store.credd.")
    assert folder == str(tmp_path)


def test_without_f_fullfsync_the_file_system_gets_an_fsync(
    darwin: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    synced: list[int] = []

    def refuse(*_: object) -> int:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(fcntl, "F_FULLFSYNC", 51, raising=False)
    monkeypatch.setattr(fcntl, "fcntl", refuse)
    monkeypatch.setattr(os, "fsync", synced.append)
    files.full_fsync(0)
    assert synced == [0]


# --- process hygiene ---------------------------------------------------------------------------


class FakeLibc:
    def __init__(self, result: int) -> None:
        self.result = result
        self.calls: list[tuple[object, ...]] = []

    def ptrace(self, *args: object) -> int:
        self.calls.append(args)
        return self.result


@pytest.mark.usefixtures("darwin")
def test_start_up_says_what_protects_the_process_on_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 5: no prctl on macOS; core files are off and debuggers refused instead."""
    libc = FakeLibc(0)
    monkeypatch.setattr(hygiene, "_libc", lambda: libc)
    protection = hygiene.make_undumpable()
    assert libc.calls == [(hygiene.PT_DENY_ATTACH, 0, None, 0)]
    assert protection.complete
    assert protection.summary == (
        "core files off (RLIMIT_CORE 0); debuggers refused (ptrace PT_DENY_ATTACH)"
    )
    assert "prctl" not in protection.summary


@pytest.mark.usefixtures("darwin")
def test_a_failing_pt_deny_attach_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hygiene, "_libc", lambda: FakeLibc(-1))
    protection = hygiene.make_undumpable()
    assert not protection.complete
    assert "core files off (RLIMIT_CORE 0)" in protection.summary
    assert "PT_DENY_ATTACH) failed" in protection.summary


# --- socket path length ------------------------------------------------------------------------


@pytest.mark.usefixtures("darwin")
def test_a_socket_path_over_104_bytes_names_the_limit() -> None:
    """Item 6: macOS's sun_path holds 104 bytes, NUL included; Linux's 108."""
    path = Path("/tmp/" + "d" * 92 + "/c.sock")  # 104 bytes: one too many on a Mac
    assert len(os.fsencode(path)) == 104
    with pytest.raises(server.StartupError) as failed:
        server.check_socket_path_length(path)
    assert str(failed.value).startswith(f"the socket path {path} is 104 bytes; darwin allows")
    assert "at most 103" in str(failed.value)
    assert "CREDD_SOCKET" in str(failed.value)


def test_linux_allows_107_bytes_and_says_so_beyond(tmp_path: Path) -> None:
    server.check_socket_path_length(Path("/tmp/" + "l" * 95 + "/c.sock"))  # 107 bytes
    folder = tmp_path / ("x" * (110 - len(str(tmp_path))))
    with pytest.raises(server.StartupError, match=r"bytes; linux allows at most 107"):
        server.bind_socket(folder / "c.sock")
