"""The agent's socket: bound beside credd.sock, served on the daemon's event loop; on
Windows, a named pipe (`\\\\.\\pipe\\openssh-ssh-agent` unless `ssh_agent_pipe` says otherwise),
made as the main pipe is (system/winpipe.py) and served by the same connection handler.

Each connection's peer passes the same check as the main socket's (`peer.admit`: this
user's processes, and on a view's agent socket the uids the view names; on Windows the
pipe's security descriptor admits this user alone, and the client's pid and program are
read from the pipe) before a byte is read. A message longer than the protocol allows (a 4 GiB
length prefix, say) closes that connection; everything else gets an answer, and the agent
serves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from ..config import Config
from ..paths import StatePaths, agent_pipe
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


class AgentListener(ABC):
    """Agent connections, on whatever listens: each peer checked, then one answer per message.

    ``view`` and ``matches`` are set for a view's agent: its keys only."""

    def __init__(
        self,
        agent: Agent,
        *,
        others: Collection[int] = (),
        view: str | None = None,
        matches: Callable[[str], bool] | None = None,
    ) -> None:
        self.agent = agent
        self.others = tuple(others)
        self.view = view
        self.matches = matches
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    @abstractmethod
    def where(self) -> str:
        """The socket's path or the pipe's name, as clients give it in SSH_AUTH_SOCK."""

    @abstractmethod
    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen: on ``sock`` when the service manager passed one, else on a socket or pipe
        made here."""

    def close(self) -> None:
        """Stop listening and end every connection."""
        for writer in list(self._connections):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = admit(writer.transport, self.others)
        except PeerRefused as refused:
            log.warning("refused an agent connection %s, on %s", refused.reason, self.where)
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


class AgentServer(AgentListener):
    """One agent socket: the daemon's own, or a view's."""

    def __init__(
        self,
        agent: Agent,
        path: Path,
        *,
        others: Collection[int] = (),
        view: str | None = None,
        matches: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(agent, others=others, view=view, matches=matches)
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None

    @property
    def where(self) -> str:
        return str(self.path)

    async def start(self, sock: socket.socket | None = None) -> None:
        """Serve ``sock`` (systemd's or launchd's), or a socket bound here at ``path``."""
        if sock is None:
            sock = bind_agent_socket(self.path)
            self._inode = self.path.lstat().st_ino
        self._server = await asyncio.start_server(self._serve, sock=sock)

    def close(self) -> None:
        """Stop serving; remove the socket file if it was bound here and is still ours."""
        if self._server is not None:
            self._server.close()
        super().close()
        if self._inode is not None:
            with contextlib.suppress(FileNotFoundError):
                if self.path.lstat().st_ino == self._inode:
                    self.path.unlink()


# What to do when the default pipe is taken: Windows' own agent service holds it.
_WINDOWS_AGENT_HINT = (
    "if it is Windows' own OpenSSH agent service, stop and disable it, in an administrator's "
    "PowerShell: `Stop-Service ssh-agent; Set-Service ssh-agent -StartupType Disabled`; or "
    "set ssh_agent_pipe in config.toml to a pipe of credd's own"
)


class AgentPipeServer(AgentListener):
    """Windows: the daemon's agent on a named pipe, open to this user alone."""

    def __init__(self, agent: Agent, pipe: str) -> None:
        super().__init__(agent)
        self.pipe = pipe
        self._servers: list[Any] = []

    @property
    def where(self) -> str:
        return self.pipe

    async def start(self, sock: socket.socket | None = None) -> None:
        if sys.platform == "win32":
            await self._serve_pipe()
        else:
            raise AgentSocketError(f"{self.pipe}: named pipes are served on Windows only")

    if sys.platform == "win32":  # pragma: no cover - the Win32 calls; not run by credd's tests

        async def _serve_pipe(self) -> None:
            from ..system.winpipe import PipeStartError, serve_private_pipe

            def protocol() -> asyncio.BaseProtocol:
                return asyncio.StreamReaderProtocol(asyncio.StreamReader(), self._serve)

            try:
                self._servers = await serve_private_pipe(protocol, self.pipe)
            except PipeStartError as exc:
                raise AgentSocketError(f"{exc}; {_WINDOWS_AGENT_HINT}") from None
            except OSError as exc:
                raise AgentSocketError(f"cannot serve {self.pipe}: {exc}") from None

    def close(self) -> None:
        for server in self._servers:
            server.close()
        super().close()


def daemon_agent(
    agent: Agent, paths: StatePaths, config: Config, env: Mapping[str, str]
) -> AgentListener | None:
    """The daemon's own agent listener for this platform: a named pipe on Windows, else the
    socket beside the main one (None where there is none)."""
    if sys.platform == "win32":
        return AgentPipeServer(agent, agent_pipe(config.ssh_agent_pipe, env))
    if paths.agent_socket is None:
        return None
    return AgentServer(agent, paths.agent_socket)
