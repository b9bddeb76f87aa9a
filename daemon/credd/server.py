"""`credd serve`: bind the private socket, refuse other users, run uvicorn until told to stop.

uvicorn would chmod a socket it binds itself to 0666, so the socket is bound here, inside a
0700 folder with a 0177 umask, and handed over with `serve(sockets=[...])`. Every connection's
peer credentials are checked before a byte of HTTP is read.

Under systemd socket activation the socket is systemd's: it is taken as passed (its folder
still checked), never unlinked, and readiness is reported with sd_notify. Binding is
serialised by a lock file beside the socket, so two daemons started at once never both bind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import sys
from pathlib import Path
from typing import Any

import uvicorn
from filelock import FileLock, Timeout

from credd_client import Client
from credd_client._paths import OWNER_SUFFIX
from credd_client.errors import CreddError

from . import __version__
from .api.routes import serving_app
from .audit import AuditLog
from .config import Config
from .events.hub import EventHub
from .operations import CredentialService
from .paths import StatePaths
from .sshagent.agent import Agent
from .sshagent.listener import AgentListener, AgentServer, AgentSocketError, daemon_agent
from .store.files import StoreFile
from .store.keys import build_key_policy
from .store.vault import Vault
from .system.activation import (
    AGENT_SOCKET,
    MAIN_SOCKET,
    ActivationError,
    inherited_sockets,
    notify,
)
from .system.hygiene import make_undumpable
from .system.limits import raise_open_files_limit
from .system.peer import Peer, PeerRefused, WithPeer, admit, programs
from .system.unixsocket import BACKLOG, SOCKET_MODE, bind_private
from .system.winpipe import PipeStartError
from .views.manager import LiveView, Views, WithView
from .views.policy import View

log = logging.getLogger("credd")

FOLDER_MODE = 0o700
SOCKET_WATCH_SECONDS = 5.0
BIND_LOCK_TIMEOUT = 30.0
# A daemon whose socket vanished stops within SOCKET_WATCH_SECONDS, releasing its owner lock.
OWNER_LOCK_TIMEOUT = SOCKET_WATCH_SECONDS + 2.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do."""


# --- the socket ----------------------------------------------------------------------------


def prepare_socket_folder(folder: Path) -> None:
    """Create the folder 0700, or accept an existing one only if it is ours and private."""
    if sys.platform == "win32":
        raise StartupError("no Unix socket on Windows: credd serves a named pipe there")
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise StartupError(f"{folder} is not a folder")
    if info.st_uid != os.getuid():
        raise StartupError(
            f"the socket folder {folder} belongs to uid {info.st_uid}, not to you "
            f"(uid {os.getuid()}); remove it or set CREDD_SOCKET"
        )
    if info.st_mode & 0o077:
        raise StartupError(
            f"the socket folder {folder} is open to others (mode {stat.S_IMODE(info.st_mode):o});"
            f" run `chmod 700 {folder}`"
        )


def another_daemon_answers(path: Path) -> int | None:
    """The pid of a live daemon on this socket (0 if it cannot say yet), or None when none.

    A socket someone listens on accepts a connection even before its daemon answers HTTP
    (it may still be fetching its key): that daemon is alive, not stale.
    """
    if sys.platform == "win32":
        return None
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        probe.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        return None
    except OSError:
        return 0  # listening but busy (full queue, timeout): alive
    finally:
        probe.close()
    try:
        with Client(str(path), timeout=5.0, autostart=False) as client:
            return client.status().pid
    except CreddError:
        return 0


# Who passes sockets to the daemon (system/activation.py), and how its socket is made again.
_MANAGER = "launchd" if sys.platform == "darwin" else "systemd"
_RESTORE_HINT = (
    "run `credd service install` again: launchd binds the socket when it loads the agent"
    if sys.platform == "darwin"
    else "run `systemctl --user restart credd.socket`"
)


class Listener:
    """The listening socket and who owns its file: credd (bound here) or the service manager
    (systemd, launchd)."""

    def __init__(self, sock: socket.socket, path: Path, *, activated: bool) -> None:
        self.sock = sock
        self.path = path
        self.activated = activated
        self.inode = path.lstat().st_ino
        # The SSH agent's socket, when the service manager passed it too (systemd's
        # credd-ssh-agent.socket, the launch agent's `ssh-agent` socket).
        self.agent_sock: socket.socket | None = None

    def close(self) -> None:
        """Close; remove the socket file only if credd bound it and it is still ours."""
        if not self.activated:
            with contextlib.suppress(FileNotFoundError):
                if self.path.lstat().st_ino == self.inode:
                    self.path.unlink()
        self.sock.close()
        owner = _owners.pop(self.path, None)
        if owner is not None:
            owner.release()


def open_listener(path: Path) -> Listener:
    """The socket systemd or launchd passed, or a new one bound here; with the agent's, if
    passed."""
    try:
        passed = inherited_sockets()
    except ActivationError as exc:
        raise StartupError(str(exc)) from None
    listener = _main_listener(path, passed.get(MAIN_SOCKET))
    listener.agent_sock = passed.get(AGENT_SOCKET)
    return listener


def _main_listener(path: Path, inherited: socket.socket | None) -> Listener:
    if inherited is None:
        return Listener(bind_socket(path), path, activated=False)
    bound = inherited.getsockname()
    if bound != str(path):
        inherited.close()
        raise StartupError(
            f"{_MANAGER} passed a socket bound to {bound!r}, but clients look for {path} "
            "(CREDD_SOCKET, XDG_RUNTIME_DIR); make ListenStream= (launchd: SockPathName) and "
            "the environment agree, or run `credd service install` again"
        )
    prepare_socket_folder(path.parent)
    log.info("serving on the socket %s passed (%s)", _MANAGER, path)
    return Listener(inherited, path, activated=True)


def bind_socket(path: Path) -> socket.socket:
    if sys.platform == "win32":
        raise StartupError("no Unix socket on Windows: credd serves a named pipe there")
    prepare_socket_folder(path.parent)
    lock = FileLock(path.with_name(path.name + ".lock"), timeout=BIND_LOCK_TIMEOUT, mode=0o600)
    check_socket_path_length(path)
    with lock:  # check-and-bind as one step: of two daemons started at once, one binds
        if path.exists() or path.is_symlink():
            pid = another_daemon_answers(path)
            if pid is not None:
                who = f"pid {pid}" if pid else "starting"
                raise StartupError(
                    f"another credd daemon ({who}) already answers on {path}; leaving it alone"
                )
        owner = _claim_owner(path)
        try:
            sock = _bind_claimed(path)
        except BaseException:
            owner.release()
            raise
        _owners[path] = owner
    sock.setblocking(False)
    return sock


def _bind_claimed(path: Path) -> socket.socket:
    """Bind ``path``, replacing a stale socket: its daemon is gone (the owner lock is ours)."""
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise StartupError(f"{path} exists and is not a socket; remove it or set CREDD_SOCKET")
        log.info("replacing the stale socket %s left by a daemon that is gone", path)
        path.unlink()
    try:
        sock = bind_private(path)
    except OSError as exc:
        raise StartupError(f"cannot bind {path}: {exc.strerror or exc}") from None
    os.chmod(path, SOCKET_MODE)
    sock.listen(BACKLOG)
    return sock


# The owner locks of the sockets this process bound, held until their listener closes.
_owners: dict[Path, FileLock] = {}


def _claim_owner(path: Path) -> FileLock:
    """The lock a daemon holds on its socket for its whole life (see _paths.OWNER_SUFFIX).

    While another process holds it, that daemon is alive, whatever a connection to its socket
    says (macOS refuses connections when the listen queue is full): its socket is left alone.
    """
    owner = FileLock(str(path) + OWNER_SUFFIX, timeout=OWNER_LOCK_TIMEOUT, mode=0o600)
    try:
        owner.acquire()
    except Timeout:
        raise StartupError(
            f"another credd daemon is alive and owns {path} (it holds {owner.lock_file}) "
            "but does not accept connections now; leaving it alone"
        ) from None
    return owner


def sun_path_size() -> int:
    """sun_path's size, the terminating NUL included: the longest socket path is one less."""
    return 104 if sys.platform == "darwin" else 108


def check_socket_path_length(path: Path) -> None:
    """A socket path must fit sun_path; say the limit, not "cannot bind ...: None"."""
    length, size = len(os.fsencode(path)), sun_path_size()
    if length >= size:
        raise StartupError(
            f"the socket path {path} is {length} bytes; {sys.platform} allows at most "
            f"{size - 1}: set CREDD_SOCKET to a shorter path (or shorten "
            "XDG_RUNTIME_DIR)"
        )


# --- peer credentials ------------------------------------------------------------------------


_FORBIDDEN_BODY = (
    b'{"error":{"code":"forbidden","message":"this daemon serves only the user who runs it"}}'
)
_FORBIDDEN = (
    b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_FORBIDDEN_BODY)}\r\n\r\n".encode()
    + _FORBIDDEN_BODY
)


def _protocol_base() -> type[Any]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


def make_peer_checking_protocol(
    audit: AuditLog | None = None, live: LiveView | None = None
) -> type[asyncio.Protocol]:
    """uvicorn's protocol, refusing peers of other uids: the user's own, plus on a view's
    socket the uids the view names (there an unknown uid is refused too)."""
    base = _protocol_base()
    others = () if live is None else tuple(live.view.uids)
    view_name = None if live is None else live.view.name

    class PeerCheckingProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:
            if live is not None and live.closed:
                transport.close()
                return
            try:  # fail closed: a peer the kernel does not name is refused, not served
                peer: Peer = admit(transport, others)
            except PeerRefused as refused:
                where = "the main socket" if live is None else f"the view {view_name!r}"
                log.warning("refused a connection %s, on %s", refused.reason, where)
                if audit is not None:
                    audit.record("connect", None, "forbidden", 403, refused.peer, view=view_name)
                transport.write(_FORBIDDEN)
                transport.close()
                return
            if live is not None:
                peer = peer.through_view(live.view.name)
            # Every request on this connection carries its peer (pid, uid, executable).
            app: Any = WithPeer(self.app, peer)  # type: ignore[has-type]
            if live is not None:
                app = WithView(app, live)
                live.connections.add(transport)
            self.app = app
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            transport = getattr(self, "transport", None)
            if transport is None:
                return  # refused in connection_made: uvicorn never took this connection
            if live is not None:
                live.connections.discard(transport)
            super().connection_lost(exc)

    return PeerCheckingProtocol


# --- running ---------------------------------------------------------------------------------


def build_service(config: Config, paths: StatePaths) -> CredentialService:
    keys = build_key_policy(
        config.key_backend,
        paths.key_file,
        paths.keyring_account,
        config.keyring_timeout,
        config_file=paths.config_file,
    )
    if config.key_backend == "keyring" and keys.keyring is None:
        raise StartupError(
            f"key_backend = 'keyring' and no secure OS keyring is reachable; tried: {keys.tried}"
        )
    return CredentialService(Vault(StoreFile(paths.store), keys), config, paths)


def report_key_source(service: CredentialService) -> None:
    source = service.vault.key_source()
    if source.insecure:
        log.warning(
            "INSECURE KEY STORAGE: the store key is kept in %s. Reason: %s",
            source.describe(),
            source.reason,
        )
    else:
        log.info("store key in %s", source.describe())


async def watch_socket(server: uvicorn.Server, listener: Listener) -> None:
    """Stop when the socket file is removed or replaced (a logout cleaner, a new daemon).

    Under socket activation only systemd can bind it again (`systemctl --user restart
    credd.socket`); exiting lets the next start find the state as it is.
    """
    path = listener.path
    while not server.should_exit:
        await asyncio.sleep(SOCKET_WATCH_SECONDS)
        try:
            current = path.lstat().st_ino
        except FileNotFoundError:
            current = None
        if current != listener.inode:
            hint = f" ({_RESTORE_HINT})" if listener.activated else ""
            log.warning("the socket %s was removed or replaced; stopping%s", path, hint)
            server.should_exit = True


class _NotifyingServer(uvicorn.Server):
    """uvicorn's server, serving the views too, telling systemd once it accepts requests."""

    ready_status = ""
    views: Views | None = None
    audit: AuditLog | None = None
    events: EventHub | None = None
    agent: AgentListener | None = None
    agent_sock: socket.socket | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.views is not None and not self.should_exit:
            await self.views.open(self._start_view)
        if self.agent is not None and not self.should_exit:
            await _start_agent(self.agent, self.agent_sock)
        if not self.should_exit:
            notify("READY=1", f"STATUS={self.ready_status}")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.events is not None:  # streams end first: uvicorn waits for open responses
            self.events.close()
        if self.views is not None:
            self.views.close_all()
        if self.agent is not None:
            self.agent.close()
        await super().shutdown(sockets)

    async def _start_view(self, live: LiveView, sock: socket.socket) -> asyncio.AbstractServer:
        """Serve a view's socket with the same app, through a protocol that knows the view."""
        protocol = make_peer_checking_protocol(self.audit, live)
        config, state = self.config, self.server_state
        app_state = self.lifespan.state

        def create() -> asyncio.Protocol:
            return protocol(config=config, server_state=state, app_state=app_state)  # type: ignore[call-arg]

        loop = asyncio.get_running_loop()
        return await loop.create_server(create, sock=sock, backlog=config.backlog)


async def _start_agent(agent: AgentListener, passed: socket.socket | None) -> None:
    """The SSH agent's socket (or pipe); a daemon that cannot make it serves on without it,
    and says so."""
    if passed is not None and passed.getsockname() != agent.where:
        log.warning(
            "the service manager passed an agent socket bound to %r, but clients look for %s; "
            "binding that (run `credd service install` again)",
            passed.getsockname(),
            agent.where,
        )
        passed.close()
        passed = None
    try:
        await agent.start(passed)
    except AgentSocketError as exc:
        log.warning("no SSH agent: %s", exc)
        return
    log.info("SSH agent on %s", agent.where)


def _serve_beside(
    server: _NotifyingServer,
    service: CredentialService,
    config: Config,
    paths: StatePaths,
    listener: Listener | None,
) -> None:
    """What is served beside the main socket: the SSH agent (on the socket systemd or launchd
    passed, or one bound at start; on Windows a named pipe) and the views, each with an agent
    socket of its own when it names keys."""
    agent = Agent(service, server.audit)
    server.agent = daemon_agent(agent, paths, config, os.environ)
    if listener is None:
        return
    server.agent_sock = listener.agent_sock
    views = service.views = server.views = Views(paths.state_dir, paths.views)
    if server.agent is None:
        return

    async def serve_view_agent(view: View, sock: socket.socket) -> AgentServer:
        """A view's agent: its keys only, the uids it names, never adding or removing."""
        assert view.agent_socket is not None
        served = AgentServer(
            agent,
            Path(view.agent_socket),
            others=view.uids,
            view=view.name,
            matches=view.matches_key,
        )
        await served.start(sock)
        return served

    views.agent_starter = serve_view_agent


async def serve(config: Config, paths: StatePaths) -> None:
    protection = make_undumpable()
    if protection.complete:
        log.info("process hygiene: %s", protection.summary)
    else:
        log.warning("process hygiene incomplete: %s", protection.summary)
    raise_open_files_limit()
    service = build_service(config, paths)
    listener = None if sys.platform == "win32" else open_listener(paths.socket)
    audit = AuditLog(paths.audit_log)
    uv_config = uvicorn.Config(
        serving_app(service, audit),
        http=make_peer_checking_protocol(audit),
        loop="auto",
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,  # a private Unix socket: there is no proxy to believe
        date_header=False,
    )
    server = _server_for(uv_config, paths)
    server.audit = audit
    server.events = service.events
    _serve_beside(server, service, config, paths, listener)
    log.info("credd %s (pid %d) serving on %s", __version__, os.getpid(), paths.socket)
    await service.try_unlock_at_start()
    report_key_source(service)
    identity = programs.probe()
    if not identity.identifiable:
        log.warning("programs cannot be identified: %s", identity.reason)
    if service.vault.locked:
        log.warning("locked: %s", service.vault.locked_reason)
    server.ready_status = service.summary()
    service.refresher.start()
    service.aws_sessions.start()
    background = service.start_background_tasks()
    background.append(service.events.start())
    if listener is not None:
        background.append(asyncio.create_task(watch_socket(server, listener)))
    if server.views is not None:
        background.append(asyncio.create_task(server.views.expire_forever()))
    # uvicorn shuts down gracefully on SIGTERM and SIGINT, then raises the signal again
    # against the handlers it found: make those ignore it, so a clean stop exits 0.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        await server.serve(sockets=None if listener is None else [listener.sock])
    except PipeStartError as exc:  # pragma: no cover - Windows only
        raise StartupError(str(exc)) from None
    finally:
        notify("STOPPING=1", "STATUS=stopping")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for task in background:
            task.cancel()
        await service.refresher.stop()
        await service.aws_sessions.stop()
        if listener is not None:
            listener.close()
        audit.close()
        log.info("credd stopped")


def _server_for(uv_config: uvicorn.Config, paths: StatePaths) -> _NotifyingServer:
    if sys.platform == "win32":  # pragma: no cover - Windows only, not run by the tests
        from .system.winpipe import NamedPipeServer

        class PipeServer(NamedPipeServer, _NotifyingServer):
            pass

        return PipeServer(uv_config, str(paths.socket))
    return _NotifyingServer(uv_config)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every token request at INFO: noise in the daemon's log, not information.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
