"""Who is on the other end of a connection: pid, uid and executable, from the kernel.

Linux: `SO_PEERCRED` gives the pid and uid the peer had when it connected, and the
executable is read from ``/proc/<pid>/exe``. macOS: `LOCAL_PEERCRED` (a ``struct xucred``)
gives the uid, `LOCAL_PEERPID` the pid, and libproc's `proc_pidpath` the executable.
CPython has no `getpeereid`. The executable is read once, when the connection opens; a
process can connect and then `exec` another program while a child keeps the socket, so it
is a strong hint, not a proof (SECURITY.md says what that means for per-program access).

Fail closed: a connection whose peer the kernel does not name is refused (`PeerRefused`),
never served. On Windows the named pipe's security descriptor admits this user's SID alone
(winpipe.py) and the kernel checks it when the client opens the pipe; the client's pid and
executable are read there (`winpipe.pipe_client`).

Whether the daemon can read its clients' executables at all is `programs`: probed at start
on the parent (a process of the same user: a shell, a client that started the daemon, the
systemd user manager) and corrected by the first client whose executable is refused. From a
user namespace of its own (systemd's PrivateUsers=, which a user manager implies for every
file system sandbox option) the kernel refuses `/proc/PID/exe` of every process outside it;
in the host's, it refuses only a process made non-dumpable, which says nothing of others.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import struct
import sys
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from credd_client._transport import XUCRED, xucred_uid

SCOPE_PEER = "credd.peer"

_UCRED = struct.Struct("=iII")  # Linux struct ucred: pid, uid, gid
# macOS: the level SOL_LOCAL is 0, and LOCAL_PEERPID (2) is not exported by `socket`. The
# struct xucred of LOCAL_PEERCRED is read by the client's parser, the one both sides use.
SOL_LOCAL = 0
LOCAL_PEERPID = 2
_PID = struct.Struct("=i")
PROC_PIDPATHINFO_MAXSIZE = 4096


@dataclass(frozen=True)
class Peer:
    pid: int | None
    uid: int | None
    exe: str | None
    # Why the program on the other end cannot be known although the kernel named a process
    # (another mount namespace, a view's remote end): per-program access refuses it.
    program_unknown: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"pid": self.pid, "uid": self.uid, "exe": self.exe}
        if self.program_unknown is not None:
            data["program_unknown"] = self.program_unknown
        return data

    def through_view(self, view: str) -> Peer:
        """This peer as the daemon sees it on a view's socket: the local end of a forward or a
        container's process, never the program that asks (that one is remote or hidden)."""
        why = f"it asks through the view {view!r}, behind which the program cannot be known"
        return replace(self, program_unknown=why)


UNKNOWN_PEER = Peer(pid=None, uid=None, exe=None)
FULL_UID_MAP = "0 0 4294967295"


@dataclass(frozen=True)
class Identifiability:
    """Whether the daemon can tell which program a client runs, and if not, why."""

    identifiable: bool
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"identifiable": self.identifiable, "reason": self.reason}


IDENTIFIABLE = Identifiability(True)


def own_user_namespace(uid_map: str) -> str | None:
    """The uid map of a user namespace other than the host's, or None for the host's."""
    mapped = " ".join(uid_map.split())
    return None if mapped in ("", FULL_UID_MAP) else mapped


def refused_reason(pid: int, uid_map: str, under_systemd: bool) -> str:
    """Why the executable of a process of this very user could not be read (sans I/O)."""
    refused = f"process {pid} of the same user was refused"
    mapped = own_user_namespace(uid_map)
    if mapped is None:
        return f"the kernel does not show credd its clients' programs ({refused})"
    reason = (
        f"credd runs in a user namespace of its own (uid map {mapped!r}), where the kernel "
        f"shows it no program of a process outside ({refused})"
    )
    if under_systemd:
        reason += (
            ": systemd's PrivateUsers=, which a user manager implies for the file system "
            "sandbox of `credd service install --strict`; `credd service install` without "
            "--strict brings program identification back"
        )
    return reason


class Programs:
    """The daemon's current answer to "can programs be identified" (`GET /v1/status`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = IDENTIFIABLE

    def current(self) -> Identifiability:
        return self._state

    def reset(self, state: Identifiability = IDENTIFIABLE) -> None:
        with self._lock:
            self._state = state

    def probe(self, pid: int | None = None, platform: str = sys.platform) -> Identifiability:
        """At start: read the executable of the parent (or ``pid``) when it is this user's."""
        if sys.platform == "win32":
            return self._state  # winpipe.pipe_client names the program
        if platform == "darwin":  # libproc's proc_pidpath names the program
            if libproc_pidpath() is None:
                reason = "libproc's proc_pidpath could not be loaded"
                self.reset(Identifiability(False, reason))
            return self._state
        if not platform.startswith("linux"):
            reason = f"credd cannot read its clients' programs on {platform}"
            self.reset(Identifiability(False, reason))
            return self._state
        pid = os.getppid() if pid is None else pid
        try:
            same_user = pid > 1 and os.stat(f"/proc/{pid}").st_uid == os.getuid()
            if same_user:
                os.readlink(f"/proc/{pid}/exe")
        except PermissionError:
            self.refused(pid)
        except OSError:
            pass  # gone, or a kernel thread: no evidence either way
        return self._state

    def refused(self, pid: int, uid_map: str | None = None) -> None:
        """The kernel would not show the executable of a process of this user. Evidence about
        the daemon only from a user namespace of its own (then it holds for every process
        outside, and sticks); in the host's, only that process is hidden (one made
        non-dumpable, as a second `credd serve` probing the socket is)."""
        uid_map = _read_uid_map() if uid_map is None else uid_map
        if own_user_namespace(uid_map) is None:
            return
        reason = refused_reason(pid, uid_map, "INVOCATION_ID" in os.environ)
        with self._lock:
            if self._state.identifiable:
                self._state = Identifiability(False, reason)


programs = Programs()


def _read_uid_map() -> str:
    try:
        with open("/proc/self/uid_map", encoding="ascii") as handle:
            return handle.read()
    except OSError:
        return ""


class PeerRefused(Exception):
    """A connection not to serve; ``reason`` says why, after "refused a connection" in the log."""

    def __init__(self, reason: str, peer: Peer = UNKNOWN_PEER) -> None:
        super().__init__(reason)
        self.reason = reason
        self.peer = peer


def executable_of(pid: int | None, uid: int | None = None) -> str | None:
    """The program a process runs, as the kernel resolves it; None when it cannot be read.

    A refusal for a process of this user (``uid``) means the daemon cannot identify programs.
    """
    if pid is None or pid <= 0 or sys.platform == "win32":  # Windows: winpipe.pipe_client
        return None
    if sys.platform == "darwin":
        return _proc_pidpath(pid)
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except PermissionError:
        if uid is not None and uid == os.getuid():
            programs.refused(pid)
        return None
    except OSError:
        return None


def other_mount_namespace(pid: int, proc: str = "/proc") -> str | None:
    """Why the program of ``pid`` cannot be known when it sees another file system than the
    daemon (a container of the same uid: its ``/opt/tool`` is not the host's); None when it
    shares the daemon's mount namespace. Unreadable counts as different (fail closed)."""
    try:
        theirs = os.readlink(f"{proc}/{pid}/ns/mnt")
        ours = os.readlink(f"{proc}/self/ns/mnt")
    except OSError as exc:
        return f"the mount namespace of process {pid} cannot be read ({exc.strerror})"
    if theirs == ours:
        return None
    return (
        f"process {pid} runs in another mount namespace ({theirs}, credd's is {ours}), "
        "where a program's path names another file"
    )


def peer_of(sock: socket.socket) -> Peer:
    """The peer of a connected Unix socket, as the kernel recorded it at connect.

    Raises `PeerRefused` when the kernel does not say (an unsupported platform, a failing
    call, an unknown structure): the caller refuses the connection.
    """
    try:
        if sys.platform == "linux":
            pid, uid, _gid = _UCRED.unpack(
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
            )
            elsewhere = other_mount_namespace(pid)
            if elsewhere is not None:
                return Peer(pid=pid, uid=uid, exe=None, program_unknown=elsewhere)
            return Peer(pid=pid, uid=uid, exe=executable_of(pid, uid))
        if sys.platform == "darwin":
            uid = xucred_uid(sock.getsockopt(SOL_LOCAL, socket.LOCAL_PEERCRED, XUCRED.size))
            try:
                pid: int | None = _PID.unpack(sock.getsockopt(SOL_LOCAL, LOCAL_PEERPID, 4))[0]
            except OSError:  # older kernels: the uid decides alone, per-program access refuses
                pid = None
            return Peer(pid=pid, uid=uid, exe=executable_of(pid))
    except (OSError, ValueError, struct.error) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PeerRefused(f"whose peer credentials could not be read ({detail})") from None
    raise PeerRefused(f"whose peer credentials credd cannot read on {sys.platform}")


def admit(transport: asyncio.BaseTransport, others: Collection[int] = ()) -> Peer:
    """The peer of a new connection if it may be served: a known process of this user, or of
    one of the ``others`` uids (those a view names).

    Raises `PeerRefused` for any other user's process and for any peer that cannot be told.
    """
    if sys.platform == "win32":
        # The pipe admits this user's SID alone (winpipe.pipe_sddl); the kernel checked it.
        from .winpipe import pipe_client

        return pipe_client(transport.get_extra_info("pipe"))
    sock = transport.get_extra_info("socket")
    if sock is None:
        raise PeerRefused("with no socket to read its peer credentials from")
    peer = peer_of(sock)
    own = os.getuid()
    if peer.uid != own and peer.uid not in others:
        raise PeerRefused(f"from uid {peer.uid} (this daemon is uid {own})", peer)
    return peer


@functools.cache
def libproc_pidpath() -> Callable[[int, Any, int], int] | None:
    """libproc's `proc_pidpath` (macOS), loaded once; None when it cannot be loaded."""
    import ctypes
    import ctypes.util

    try:
        library = ctypes.CDLL(ctypes.util.find_library("proc") or "libproc.dylib")
    except OSError:
        return None
    function = library.proc_pidpath
    function.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
    function.restype = ctypes.c_int
    return function


def _proc_pidpath(pid: int) -> str | None:
    import ctypes

    function = libproc_pidpath()
    if function is None:
        return None
    buffer = ctypes.create_string_buffer(PROC_PIDPATHINFO_MAXSIZE)
    length = function(pid, buffer, PROC_PIDPATHINFO_MAXSIZE)
    if length <= 0:
        return None
    return os.fsdecode(buffer.raw[:length])


def peer_in(scope: Scope) -> Peer:
    """The peer the server recorded for this request's connection."""
    peer = scope.get(SCOPE_PEER)
    return peer if isinstance(peer, Peer) else UNKNOWN_PEER


class WithPeer:
    """Wraps the app for one connection: every request's scope carries that connection's peer."""

    def __init__(self, app: ASGIApp, peer: Peer) -> None:
        self.app = app
        self.peer = peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SCOPE_PEER] = self.peer
        await self.app(scope, receive, send)
