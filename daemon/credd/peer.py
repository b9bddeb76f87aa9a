"""Who is on the other end of a connection: pid, uid and executable, from the kernel.

`SO_PEERCRED` gives the pid and uid the peer had when it connected; the executable is read
from ``/proc/<pid>/exe`` once, when the connection opens. A process can connect and then
`exec` another program while a child keeps the socket, so the executable is a strong hint,
not a proof (SECURITY.md says what that means for per-program access).
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_PEER = "credd.peer"


@dataclass(frozen=True)
class Peer:
    pid: int | None
    uid: int | None
    exe: str | None

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "uid": self.uid, "exe": self.exe}


UNKNOWN_PEER = Peer(pid=None, uid=None, exe=None)


def executable_of(pid: int | None) -> str | None:
    """The program a process runs, as the kernel resolves it; None when it cannot be read."""
    if pid is None or pid <= 0:
        return None
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def peer_of(sock: socket.socket | None) -> Peer:
    """The peer of a connected Unix socket; fields the platform cannot tell are None."""
    if sock is None:
        return UNKNOWN_PEER
    if hasattr(socket, "SO_PEERCRED"):
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", raw)
        return Peer(pid=pid, uid=uid, exe=executable_of(pid))
    if hasattr(os, "getpeereid"):  # pragma: no cover - macOS and the BSDs: no pid
        return Peer(pid=None, uid=int(os.getpeereid(sock.fileno())[0]), exe=None)
    return UNKNOWN_PEER  # pragma: no cover


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
