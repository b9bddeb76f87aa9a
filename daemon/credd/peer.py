"""Who is on the other end of a connection: pid, uid and executable, from the kernel.

`SO_PEERCRED` gives the pid and uid the peer had when it connected; the executable is read
from ``/proc/<pid>/exe`` once, when the connection opens. A process can connect and then
`exec` another program while a child keeps the socket, so the executable is a strong hint,
not a proof (SECURITY.md says what that means for per-program access).

Whether the daemon can read its clients' executables at all is `programs`: probed at start
on the parent (a process of the same user: a shell, a client that started the daemon, the
systemd user manager) and corrected by the first client whose executable is refused. From a
user namespace of its own (systemd's PrivateUsers=, which a user manager implies for every
file system sandbox option) the kernel refuses `/proc/PID/exe` of every process outside it;
in the host's, it refuses only a process made non-dumpable, which says nothing of others.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
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
        if not platform.startswith("linux"):
            self.reset(
                Identifiability(
                    False,
                    f"credd reads its clients' programs from /proc/PID/exe, which {platform} "
                    "does not have",
                )
            )
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


def executable_of(pid: int | None, uid: int | None = None) -> str | None:
    """The program a process runs, as the kernel resolves it; None when it cannot be read.

    A refusal for a process of this user (``uid``) means the daemon cannot identify programs.
    """
    if pid is None or pid <= 0:
        return None
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except PermissionError:
        if uid is not None and uid == os.getuid():
            programs.refused(pid)
        return None
    except OSError:
        return None


def peer_of(sock: socket.socket | None) -> Peer:
    """The peer of a connected Unix socket; fields the platform cannot tell are None."""
    if sock is None:
        return UNKNOWN_PEER
    if hasattr(socket, "SO_PEERCRED"):
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", raw)
        return Peer(pid=pid, uid=uid, exe=executable_of(pid, uid))
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
