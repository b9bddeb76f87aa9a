"""The agent's socket: bound beside credd.sock, served on the daemon's event loop.

Each connection's peer passes the same check as the main socket's (`peer.admit`: this
user's processes, and on a view's agent socket the uids the view names) before a byte is
read. A message longer than the protocol allows (a 4 GiB length prefix, say) closes that
connection; everything else gets an answer, and the agent serves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import sys
from collections.abc import Callable, Collection
from pathlib import Path

from ..system.peer import PeerRefused, admit
from ..system.unixsocket import BACKLOG, SOCKET_MODE, bind_private
from . import wire
from .agent import Agent, Session

log = logging.getLogger(__name__)


class AgentSocketError(Exception):
    """The agent's socket cannot be bound; the daemon serves on without it and says why."""


def bind_agent_socket(path: Path) -> socket.socket:
    """Bind ``path`` (0600), replacing a stale socket no agent answers on."""
    if path.is_symlink() or path.exists():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise AgentSocketError(f"{path} exists and is not a socket")
        if _answers(path):
            raise AgentSocketError(f"another agent answers on {path}")
        path.unlink()
    try:
        sock = bind_private(path)
    except OSError as exc:
        raise AgentSocketError(f"cannot bind {path}: {exc.strerror or exc}") from None
    os.chmod(path, SOCKET_MODE)
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def _answers(path: Path) -> bool:
    if sys.platform == "win32":  # no Unix sockets there: nothing answers
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class AgentServer:
    """One agent socket: the daemon's own, or a view's (``view`` and ``matches`` set)."""

    def __init__(
        self,
        agent: Agent,
        path: Path,
        *,
        others: Collection[int] = (),
        view: str | None = None,
        matches: Callable[[str], bool] | None = None,
    ) -> None:
        self.agent = agent
        self.path = path
        self.others = tuple(others)
        self.view = view
        self.matches = matches
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    async def start(self, sock: socket.socket | None = None) -> None:
        """Serve ``sock`` (systemd's), or a socket bound here at ``path``."""
        if sock is None:
            sock = bind_agent_socket(self.path)
            self._inode = self.path.lstat().st_ino
        self._server = await asyncio.start_server(self._serve, sock=sock)

    def close(self) -> None:
        """Stop serving; remove the socket file if it was bound here and is still ours."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.close()
        if self._inode is not None:
            with contextlib.suppress(FileNotFoundError):
                if self.path.lstat().st_ino == self._inode:
                    self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = admit(writer.transport, self.others)
        except PeerRefused as refused:
            log.warning("refused an agent connection %s, on %s", refused.reason, self.path)
            writer.close()
            return
        session = Session(peer, view=self.view, matches=self.matches)
        self._connections.add(writer)
        try:
            while True:
                length = wire.message_length(await reader.readexactly(wire.LENGTH_SIZE))
                message = await reader.readexactly(length)
                writer.write(wire.frame(await self.agent.answer(message, session)))
                await writer.drain()
        except wire.MessageError as exc:
            log.info("closed an agent connection: %s", exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        except Exception:  # a bug must not take the daemon down: this connection ends
            log.exception("the agent connection failed")
        finally:
            self._connections.discard(writer)
            writer.close()
