"""`credd serve`: bind the private socket, refuse other users, run uvicorn until told to stop.

uvicorn would chmod a socket it binds itself to 0666, so the socket is bound here, inside a
0700 folder with a 0177 umask, and handed over with `serve(sockets=[...])`. Every connection's
peer credentials are checked before a byte of HTTP is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import struct
import sys
from pathlib import Path
from typing import Any

import uvicorn

from credd_client import Client
from credd_client.errors import CreddError

from . import __version__
from .api.fastpath import FastPath
from .api.routes import create_app
from .config import Config
from .paths import StatePaths
from .service import CredentialService
from .store.files import StoreFile
from .store.keys import build_key_policy
from .store.vault import Vault

log = logging.getLogger("credd")

SOCKET_MODE = 0o600
FOLDER_MODE = 0o700
SOCKET_WATCH_SECONDS = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do."""


# --- the socket ----------------------------------------------------------------------------


def prepare_socket_folder(folder: Path) -> None:
    """Create the folder 0700, or accept an existing one only if it is ours and private."""
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
    """The pid of a live daemon on this socket, or None when nothing answers."""
    try:
        with Client(str(path), timeout=2.0) as client:
            return client.status().pid
    except CreddError:
        return None


def bind_socket(path: Path) -> socket.socket:
    prepare_socket_folder(path.parent)
    if path.exists() or path.is_symlink():
        pid = another_daemon_answers(path)
        if pid is not None:
            raise StartupError(
                f"another credd daemon (pid {pid}) already answers on {path}; leaving it alone"
            )
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise StartupError(f"{path} exists and is not a socket; remove it or set CREDD_SOCKET")
        log.info("replacing the stale socket %s left by a daemon that is gone", path)
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot bind {path}: {exc.strerror}") from None
    finally:
        os.umask(previous)
    os.chmod(path, SOCKET_MODE)
    sock.listen(128)
    sock.setblocking(False)
    return sock


# --- peer credentials ------------------------------------------------------------------------


def peer_uid(sock: socket.socket) -> int | None:
    """The connecting process's uid, from the kernel; None where the platform cannot say."""
    if hasattr(socket, "SO_PEERCRED"):
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", raw)[1])
    if hasattr(os, "getpeereid"):  # pragma: no cover - macOS and the BSDs
        return int(os.getpeereid(sock.fileno())[0])
    return None


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


def make_peer_checking_protocol() -> type[asyncio.Protocol]:
    base = _protocol_base()

    class PeerCheckingProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:
            sock = transport.get_extra_info("socket")
            uid = None if sock is None else peer_uid(sock)
            if uid is not None and uid != os.getuid():
                log.warning(
                    "refused a connection from uid %d (this daemon is uid %d)", uid, os.getuid()
                )
                transport.write(_FORBIDDEN)
                transport.close()
                return
            super().connection_made(transport)

    return PeerCheckingProtocol


# --- running ---------------------------------------------------------------------------------


def build_service(config: Config, paths: StatePaths) -> CredentialService:
    keys = build_key_policy(
        config.key_backend, paths.key_file, paths.keyring_account, config.keyring_timeout
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


async def watch_socket(server: uvicorn.Server, path: Path, inode: int) -> None:
    """Stop when the socket file is removed or replaced (a logout cleaner, a new daemon)."""
    while not server.should_exit:
        await asyncio.sleep(SOCKET_WATCH_SECONDS)
        try:
            current = path.lstat().st_ino
        except FileNotFoundError:
            current = None
        if current != inode:
            log.warning("the socket %s was removed or replaced; stopping", path)
            server.should_exit = True


async def serve(config: Config, paths: StatePaths) -> None:
    service = build_service(config, paths)
    sock = bind_socket(paths.socket)
    inode = paths.socket.lstat().st_ino
    uv_config = uvicorn.Config(
        FastPath(create_app(service), service),
        http=make_peer_checking_protocol(),
        loop="auto",
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,  # a private Unix socket: there is no proxy to believe
        date_header=False,
    )
    server = uvicorn.Server(uv_config)
    log.info("credd %s (pid %d) serving on %s", __version__, os.getpid(), paths.socket)
    await service.try_unlock_at_start()
    report_key_source(service)
    if service.vault.locked:
        log.warning("locked: %s", service.vault.locked_reason)
    service.refresher.start()
    watcher = asyncio.create_task(watch_socket(server, paths.socket, inode))
    # uvicorn shuts down gracefully on SIGTERM and SIGINT, then raises the signal again
    # against the handlers it found: make those ignore it, so a clean stop exits 0.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        await server.serve(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        watcher.cancel()
        await service.refresher.stop()
        with contextlib.suppress(FileNotFoundError):
            if paths.socket.lstat().st_ino == inode:
                paths.socket.unlink()
        sock.close()
        log.info("credd stopped")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every token request at INFO: noise in the daemon's log, not information.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
