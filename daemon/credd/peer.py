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
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_PEER = "credd.peer"

_UCRED = struct.Struct("=iII")  # Linux struct ucred: pid, uid, gid
# macOS <sys/ucred.h> struct xucred: cr_version, cr_uid, cr_ngroups (a short, then 2 bytes of
# padding), cr_groups[16]: 76 bytes. Level SOL_LOCAL is 0; LOCAL_PEERPID (2) is not exported
# by `socket`. Only XUCRED_VERSION 0 is known: another layout is refused, not guessed.
XUCRED = struct.Struct("=IIh2x16I")
XUCRED_VERSION = 0
SOL_LOCAL = 0
LOCAL_PEERPID = 2
_PID = struct.Struct("=i")
PROC_PIDPATHINFO_MAXSIZE = 4096


@dataclass(frozen=True)
class Peer:
    pid: int | None
    uid: int | None
    exe: str | None

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "uid": self.uid, "exe": self.exe}


UNKNOWN_PEER = Peer(pid=None, uid=None, exe=None)


class PeerRefused(Exception):
    """A connection not to serve; ``reason`` says why, after "refused a connection" in the log."""

    def __init__(self, reason: str, peer: Peer = UNKNOWN_PEER) -> None:
        super().__init__(reason)
        self.reason = reason
        self.peer = peer


def xucred_uid(raw: bytes) -> int:
    """The uid in a macOS ``struct xucred``; ValueError for anything else."""
    if len(raw) < XUCRED.size:
        raise ValueError(f"a struct xucred of {len(raw)} bytes, not {XUCRED.size}")
    version, uid, ngroups, *_groups = XUCRED.unpack_from(raw)
    if version != XUCRED_VERSION:
        raise ValueError(f"struct xucred version {version}, not {XUCRED_VERSION}")
    if not 0 <= ngroups <= 16:
        raise ValueError(f"struct xucred with {ngroups} groups")
    return int(uid)


def executable_of(pid: int | None) -> str | None:
    """The program a process runs, as the kernel resolves it; None when it cannot be read."""
    if pid is None or pid <= 0:
        return None
    if sys.platform == "darwin":
        return _proc_pidpath(pid)
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


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
            return Peer(pid=pid, uid=uid, exe=executable_of(pid))
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


def admit(transport: asyncio.BaseTransport) -> Peer:
    """The peer of a new connection if it may be served: this user's process, known.

    Raises `PeerRefused` for another user's process and for any peer that cannot be told.
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
    if peer.uid != own:
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
