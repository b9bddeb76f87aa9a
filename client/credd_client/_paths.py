"""Where the daemon's socket is, and whether its folder can be trusted.

The daemon and every client derive the path from the environment alone, so that they meet
without a configuration file. The daemon may import these functions (the client never
imports the daemon), so that both sides share one definition.
"""

from __future__ import annotations

import os
import stat
import sys

from .errors import Forbidden, InvalidRequest

# Annotation-only imports: `typing` alone costs a few milliseconds at import, and this
# package promises a fast import (mypy and ruff treat this name as typing.TYPE_CHECKING).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

SOCKET_FILE = "credd.sock"
AGENT_SOCKET_FILE = "ssh-agent.sock"
# Windows: the pipe OpenSSH for Windows' ssh and ssh-add open when SSH_AUTH_SOCK is unset.
OPENSSH_AGENT_PIPE = r"\\.\pipe\openssh-ssh-agent"
# Beside the socket: a serving daemon holds this file locked (flock) for its whole life, so
# that a refused connection (on macOS also a full queue) is told from a dead daemon.
OWNER_SUFFIX = ".owner"


def socket_path(env: Mapping[str, str] | None = None) -> str:
    """The socket the daemon listens on (on Windows, the named pipe it will listen on).

    ``CREDD_SOCKET`` wins. Otherwise the socket lives in ``$XDG_RUNTIME_DIR/credd`` (a
    per-user tmpfs the login session cleans up), else in ``/tmp/credd-<uid>``. A daemon run
    with ``CREDD_HOME`` gets a socket name of its own, so that two stores never answer on
    the same socket. Empty variables count as unset.
    """
    if env is None:
        env = os.environ
    explicit = env.get("CREDD_SOCKET")
    if explicit:
        return explicit
    if sys.platform == "win32":
        return pipe_name(env)
    return os.path.join(_socket_folder(env), _socket_file(env))


def agent_socket_path(env: Mapping[str, str] | None = None) -> str:
    """The daemon's SSH agent socket: beside its socket, named after ``CREDD_HOME`` as that
    one is (``ssh-agent.sock``, else ``ssh-agent-<digest>.sock``). On Windows, the agent's
    default pipe (`agent_pipe_name`); the daemon's ``ssh_agent_pipe`` option may name another."""
    if env is None:
        env = os.environ
    if sys.platform == "win32":
        return agent_pipe_name(env)
    home = env.get("CREDD_HOME")
    name = f"ssh-agent-{_home_digest(home)}.sock" if home else AGENT_SOCKET_FILE
    return os.path.join(os.path.dirname(socket_path(env)), name)


def daemon_uid(env: Mapping[str, str] | None = None) -> int | None:
    """The uid ``CREDD_DAEMON_UID`` says the daemon runs as (a view bound into a container
    of another user), or None: then only a daemon of the client's own uid is accepted."""
    text = (os.environ if env is None else env).get("CREDD_DAEMON_UID", "")
    if not text:
        return None
    if not text.isdigit() or int(text) >= 2**32 - 1:
        raise InvalidRequest(f"CREDD_DAEMON_UID must be a uid (a whole number), not {text!r}")
    return int(text)


def pipe_name(env: Mapping[str, str]) -> str:
    """Windows: the daemon's named pipe, per user and, like the socket, per ``CREDD_HOME``."""
    user = env.get("USERNAME") or os.getlogin()
    home = env.get("CREDD_HOME")
    suffix = f"-{_home_digest(home)}" if home else ""
    return rf"\\.\pipe\credd-{user}{suffix}"


def agent_pipe_name(env: Mapping[str, str]) -> str:
    """Windows: the agent's default pipe, OpenSSH for Windows' own name; for a ``CREDD_HOME``
    one of its own beside the daemon's pipe (two daemons never claim the same agent pipe)."""
    if not env.get("CREDD_HOME"):
        return OPENSSH_AGENT_PIPE
    return pipe_name(env) + "-ssh-agent"


def check_socket_folder(folder: str) -> None:
    """Refuse a socket folder that another user owns or may write to.

    Whoever can write to the folder can replace the socket with their own and collect every
    secret a client sends or is sent, so the client checks the folder before connecting,
    as the daemon does before binding. Raises `Forbidden` with the fix, and lets
    `FileNotFoundError` through when the folder does not exist. With ``CREDD_DAEMON_UID``
    the folder may also be that uid's or root's (a container's /run/credd, made by docker).
    """
    if sys.platform == "win32":  # a named pipe, no folder: its security descriptor decides
        return
    info = os.stat(folder)
    uid = os.getuid()
    other = daemon_uid()
    owners = {uid} if other is None else {uid, other, 0}
    if info.st_uid not in owners:
        raise Forbidden(
            f"the socket folder {folder} belongs to uid {info.st_uid}, not to you "
            f"(uid {uid}); remove it, or set CREDD_SOCKET to a socket in a folder of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Forbidden(
            f"the socket folder {folder} may be written by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run `chmod 700 {folder}`"
        )


def owner_alive(socket: str) -> bool:
    """True while a daemon that bound ``socket`` is alive (it holds the owner lock)."""
    if sys.platform == "win32":
        return False
    import fcntl

    try:
        descriptor = os.open(socket + OWNER_SUFFIX, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)  # also drops the shared lock, if it was taken
    return False


def _socket_folder(env: Mapping[str, str]) -> str:
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        return os.path.join(runtime_dir, "credd")
    if sys.platform == "win32":
        raise OSError("no socket folder on Windows")
    return f"/tmp/credd-{os.getuid()}"  # noqa: S108 - a 0700 folder of our own, checked


def _socket_file(env: Mapping[str, str]) -> str:
    home = env.get("CREDD_HOME")
    if not home:
        return SOCKET_FILE
    return f"credd-{_home_digest(home)}.sock"


def views_folder_name(env: Mapping[str, str] | None = None) -> str:
    """The folder, beside the daemon's socket, of its views' sockets: ``views`` for the
    default home, ``views-<digest>`` for a ``CREDD_HOME`` (named as its socket is), so two
    daemons sharing a socket folder never bind each other's views."""
    home = (os.environ if env is None else env).get("CREDD_HOME")
    return f"views-{_home_digest(home)}" if home else "views"


def _home_digest(home: str) -> str:
    """12 hex digits naming one CREDD_HOME, the same however it is spelled."""
    # hashlib loads OpenSSL (a few milliseconds); only the rare CREDD_HOME user pays it.
    import hashlib

    absolute = os.path.abspath(os.path.expanduser(home))
    # surrogateescape: a path read from an undecodable environment hashes as its bytes.
    digest = hashlib.sha256(absolute.encode("utf-8", "surrogateescape")).hexdigest()
    return digest[:12]
