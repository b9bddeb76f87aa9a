"""A view's socket file: bound 0600 in a 0700 folder, opened to the view's uids by an ACL.

The named uids (a container's user) reach the socket where it is bind-mounted (`docker run
-v SOCKET:/run/credd/credd.sock`): connecting needs write permission on the socket's inode,
which a POSIX ACL entry ``user:UID:rw-`` gives exactly them. The ACL is written as the
kernel's ``system.posix_acl_access`` attribute, so no `setfacl` is needed. A file system
without ACLs refuses the view: a restriction that cannot be set is never loosened to a mode.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

from credd_client.errors import CreddError, InvalidRequest

from ..store.files import ensure_private_folder
from ..system.unixsocket import BACKLOG, SOCKET_MODE, bind_private

_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
_RW = 0o6


class ViewSocketError(CreddError):
    """The view's socket could not be made; nothing of it is left behind."""


def socket_for(folder: Path, name: str) -> Path:
    return folder / f"{name}.sock"


def agent_socket_for(folder: Path, name: str) -> Path:
    """A view's SSH agent socket, beside its HTTP one."""
    return folder / f"{name}.agent.sock"


def bind_view_socket(path: Path, uids: Iterable[int]) -> socket.socket:
    """Bind and listen; the file admits the user and ``uids`` only. Raises ViewSocketError."""
    if sys.platform == "win32":
        raise ViewSocketError("views are Unix sockets: Windows has none (only the named pipe)")
    try:
        ensure_private_folder(path.parent)
    except CreddError as exc:
        raise ViewSocketError(exc.message) from None
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ViewSocketError(f"{path} exists and is not a socket; remove it")
        if _answers(path):
            raise ViewSocketError(
                f"{path} is served by another daemon; give this view another name "
                "(two daemons share this socket folder only with different CREDD_HOMEs)"
            )
        path.unlink()  # nobody listens: a leftover of a daemon that stopped
    try:
        sock = bind_private(path)
    except OSError as exc:
        raise ViewSocketError(f"cannot bind {path}: {exc.strerror or exc}") from None
    try:
        os.chmod(path, SOCKET_MODE)
        others = sorted(set(uids) - {os.getuid()})
        if others:
            grant_uids(path, others)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return sock


def _answers(path: Path) -> bool:
    """Whether something listens on the socket file ``path`` (a live daemon's view)."""
    if sys.platform == "win32":
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(os.fspath(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def grant_uids(path: Path, uids: list[int]) -> None:
    """Give each uid read-write on ``path`` through a POSIX ACL (owner rw, nobody else)."""
    if sys.platform != "linux":  # macOS has ACLs of another kind, not written here
        raise ViewSocketError("a view for other uids (--uid) is supported on Linux only")
    entries = [(_USER_OBJ, _RW, _NO_ID)]
    entries += [(_USER, _RW, uid) for uid in uids]
    entries += [(_GROUP_OBJ, 0, _NO_ID), (_MASK, _RW, _NO_ID), (_OTHER, 0, _NO_ID)]
    blob = struct.pack("<I", _ACL_VERSION) + b"".join(
        struct.pack("<HHI", tag, perm, ident) for tag, perm, ident in entries
    )
    try:
        os.setxattr(path, _ACL_XATTR, blob)
    except OSError as exc:
        raise ViewSocketError(
            f"cannot open {path} to uid {', '.join(map(str, uids))} ({exc.strerror or exc}): "
            "the file system has no POSIX ACLs, or the daemon runs in a user namespace that "
            "does not map that uid (the sandbox of a systemd user unit); run `credd serve` "
            "outside it, or make the view without --uid"
        ) from None


def remove_socket_file(path: Path, inode: int | None) -> None:
    """Remove the file if it is still the one bound (a new view may have taken the name)."""
    with contextlib.suppress(OSError):
        if inode is None or path.lstat().st_ino == inode:
            path.unlink()


def check_socket_path(path: Path) -> None:
    # AF_UNIX paths are capped near 108 bytes on Linux, 104 on macOS.
    if len(os.fsencode(path)) > 100:
        raise InvalidRequest(
            f"the view's socket path {path} is too long for a Unix socket; "
            "use a shorter view name or a shorter CREDD_SOCKET"
        )
