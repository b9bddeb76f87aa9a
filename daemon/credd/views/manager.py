"""The daemon's views at run time: their sockets, their connections, their file, their expiry.

Every view is a `LiveView`: the `View` (policy.py), its listening server, the connections
open on it and what it served. The set is kept in ``views.json`` in the state folder (0600,
replaced atomically) so views outlive a restart until they expire. A view and its socket are
made and dropped together: `add` binds first and writes the file second, undoing the bind
if the write fails; `remove` and expiry close the server, every connection on it and the
socket file at once.

How a socket is served is the server's business: it hands `open` a function that starts an
asyncio server for a `LiveView` on a bound socket (server.py, with the peer check).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from credd_client.errors import CreddError, InvalidRequest, NotFound

from ..store.files import StoreFile
from ..store.records import format_time, utc_now
from .policy import (
    MAX_PATTERNS,
    Usage,
    View,
    check_pattern,
    check_uid,
    check_view_name,
    parse_duration,
)
from .sockets import (
    agent_socket_for,
    bind_view_socket,
    check_socket_path,
    remove_socket_file,
    socket_for,
)

log = logging.getLogger(__name__)

FILE_VERSION = 1
# Expiry is checked at least this often, so a clock that jumps is caught up with soon.
EXPIRY_RECHECK_SECONDS = 30.0

SCOPE_VIEW = "credd.view"

Starter = Callable[["LiveView", socket.socket], Awaitable[asyncio.AbstractServer]]
# Serves a view's SSH agent socket (bound here) and returns what closes it.
AgentStarter = Callable[[View, socket.socket], Awaitable["Closable"]]


class Closable(Protocol):
    def close(self) -> None: ...


class LiveView:
    def __init__(self, view: View) -> None:
        self.view = view
        self.usage = Usage()
        self.server: asyncio.AbstractServer | None = None
        self.inode: int | None = None
        self.connections: set[asyncio.BaseTransport] = set()
        self.closed = False
        self.agent: Closable | None = None  # the SSH agent socket's server, if the view has one
        self.agent_inode: int | None = None

    def used(self, now: datetime) -> None:
        self.usage.requests += 1
        self.usage.last_used_at = now

    def status(self) -> dict[str, Any]:
        view = self.view
        return {
            "name": view.name,
            "patterns": list(view.patterns),
            "write": view.write,
            "uids": list(view.uids),
            "socket": view.socket,
            "expires_at": None if view.expires_at is None else format_time(view.expires_at),
            "last_used_at": None
            if self.usage.last_used_at is None
            else format_time(self.usage.last_used_at),
            "requests": self.usage.requests,
            "ssh_keys": list(view.ssh_keys),
            "agent_socket": view.agent_socket,
        }

    def close(self) -> None:
        """Stop listening, end every connection, remove the socket file."""
        self.closed = True
        if self.server is not None:
            self.server.close()
        for transport in list(self.connections):
            transport.close()
        self.connections.clear()
        remove_socket_file(Path(self.view.socket), self.inode)
        if self.agent is not None:
            self.agent.close()
        if self.view.agent_socket is not None:
            remove_socket_file(Path(self.view.agent_socket), self.agent_inode)


def view_in(scope: Scope) -> LiveView | None:
    """The view a request came through; None on the main socket."""
    live = scope.get(SCOPE_VIEW)
    return live if isinstance(live, LiveView) else None


class WithView:
    """Wraps the app for one connection on a view's socket: its requests carry the view."""

    def __init__(self, app: ASGIApp, live: LiveView) -> None:
        self.app = app
        self.live = live

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SCOPE_VIEW] = self.live
        await self.app(scope, receive, send)


class Views:
    def __init__(self, state_dir: Path, folder: Path) -> None:
        self.file = StoreFile(state_dir / "views.json")
        self.folder = folder  # this daemon's alone (StatePaths.views)
        self.live: dict[str, LiveView] = {}
        self._starter: Starter | None = None
        self.agent_starter: AgentStarter | None = None  # set where the SSH agent is served
        self._gate = asyncio.Lock()
        self._changed = asyncio.Event()

    # --- start and stop -------------------------------------------------------------------

    async def open(self, starter: Starter) -> None:
        """Serve every saved view that has not expired; drop the rest from the file."""
        self._starter = starter
        saved = self._load()
        now = utc_now()
        for view in saved:
            if view.expired(now):
                log.info("the view %r expired while the daemon was stopped", view.name)
                continue
            try:
                await self._serve(view)
            except CreddError as exc:
                log.warning("cannot serve the view %r again: %s", view.name, exc.message)
        if len(self.live) != len(saved):
            self._save_quietly()

    def close_all(self) -> None:
        """At daemon stop: sockets gone, views kept in the file for the next start."""
        for live in self.live.values():
            live.close()
        self.live.clear()

    # --- what the API calls ---------------------------------------------------------------

    def statuses(self) -> list[dict[str, Any]]:
        return [self.live[name].status() for name in sorted(self.live)]

    async def add(
        self,
        name: str,
        patterns: list[str],
        *,
        write: bool = False,
        ttl: str | None = None,
        uids: list[int] | tuple[int, ...] = (),
        ssh_keys: list[str] | tuple[str, ...] = (),
    ) -> LiveView:
        """Make or replace a view; its socket is bound and the file written, or neither.

        With ``ssh_keys`` it also has an SSH agent socket (`views/NAME.agent.sock`) that
        lists and signs with the matching keys only; then ``patterns`` may be empty."""
        if self._starter is None:
            raise InvalidRequest("views need Unix sockets, which this platform does not serve")
        check_view_name(name)
        if len(patterns) > MAX_PATTERNS or len(ssh_keys) > MAX_PATTERNS:
            raise InvalidRequest(f"a view takes at most {MAX_PATTERNS} patterns of each kind")
        if not patterns and not ssh_keys:
            raise InvalidRequest("a view needs a pattern: --allow, or --ssh-key for its agent")
        if ssh_keys and self.agent_starter is None:
            raise InvalidRequest("this daemon serves no SSH agent")
        now = utc_now()
        path = socket_for(self.folder, name)
        check_socket_path(path)
        view = View(
            name=name,
            patterns=tuple(dict.fromkeys(check_pattern(p) for p in patterns)),
            socket=str(path),
            write=write,
            uids=tuple(sorted({check_uid(u) for u in uids})),
            created_at=now,
            expires_at=None if ttl is None else now + parse_duration(ttl),
            ssh_keys=tuple(dict.fromkeys(check_pattern(p) for p in ssh_keys)),
            agent_socket=str(agent_socket_for(self.folder, name)) if ssh_keys else None,
        )
        async with self._gate:
            old = self.live.pop(name, None)
            if old is not None:
                old.close()
            live = await self._serve(view)
            try:
                self._save()
            except CreddError:
                self.live.pop(name, None)
                live.close()
                raise
        self._changed.set()
        log.info(
            "view %r serves %s on %s", name, ", ".join(view.patterns) or "nothing", view.socket
        )
        if view.agent_socket is not None:
            log.info("view %r: SSH keys %s on %s", name, ", ".join(ssh_keys), view.agent_socket)
        return live

    async def remove(self, name: str) -> None:
        check_view_name(name)
        async with self._gate:
            live = self.live.pop(name, None)
            if live is None:
                raise NotFound(f"no view named {name!r}; `credd view list` shows them")
            live.close()
            self._save()
        log.info("view %r removed", name)

    # --- expiry ---------------------------------------------------------------------------

    async def expire_forever(self) -> None:
        """Close each view at its expiry: its socket and its connections, at once."""
        while True:
            self._changed.clear()
            now = utc_now()
            expired = [live for live in self.live.values() if live.view.expired(now)]
            if expired:
                async with self._gate:
                    for live in expired:
                        if self.live.get(live.view.name) is live:
                            del self.live[live.view.name]
                            live.close()
                            log.info("view %r expired", live.view.name)
                    self._save_quietly()
            wait = EXPIRY_RECHECK_SECONDS
            ends = [v.view.expires_at for v in self.live.values() if v.view.expires_at]
            if ends:
                wait = min(wait, max(0.0, (min(ends) - utc_now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=wait + 0.01)

    # --- inside ---------------------------------------------------------------------------

    async def _serve(self, view: View) -> LiveView:
        assert self._starter is not None
        path = Path(view.socket)
        sock = bind_view_socket(path, view.uids)
        live = LiveView(view)
        live.inode = path.lstat().st_ino
        try:
            live.server = await self._starter(live, sock)
        except BaseException:
            sock.close()
            live.close()
            raise
        if view.agent_socket is not None:
            await self._serve_agent(live)
        self.live[view.name] = live
        return live

    async def _serve_agent(self, live: LiveView) -> None:
        assert live.view.agent_socket is not None
        if self.agent_starter is None:
            live.close()
            raise InvalidRequest("this daemon serves no SSH agent")
        path = Path(live.view.agent_socket)
        try:
            check_socket_path(path)
            sock = bind_view_socket(path, live.view.uids)
            live.agent_inode = path.lstat().st_ino
            live.agent = await self.agent_starter(live.view, sock)
        except BaseException:
            live.close()
            raise

    def _load(self) -> list[View]:
        read = self.file.read()
        if read is None:
            return []
        try:
            data = json.loads(read[0])
            return [View.from_json(item) for item in data["views"]]
        except (ValueError, KeyError, TypeError, CreddError) as exc:
            log.warning("ignoring %s: it does not parse (%s)", self.file.path, type(exc).__name__)
            return []

    def _save(self) -> None:
        data = {
            "version": FILE_VERSION,
            "views": [self.live[n].view.to_json() for n in sorted(self.live)],
        }
        self.file.write(json.dumps(data, indent=1).encode() + b"\n")

    def _save_quietly(self) -> None:
        try:
            self._save()
        except CreddError as exc:
            log.warning("cannot write %s: %s", self.file.path, exc.message)
