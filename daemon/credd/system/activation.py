"""The service manager's side of the daemon: inherited listening sockets, readiness notices.

Socket activation (sd_listen_fds(3)): systemd binds the sockets, passes them from descriptor 3
on and sets ``LISTEN_PID``, ``LISTEN_FDS`` and ``LISTEN_FDNAMES`` (each socket unit's
``FileDescriptorName=``, by default the unit's name). The descriptors are taken only when
``LISTEN_PID`` is this process (the variables may have leaked from a parent) and only when each
is a listening ``AF_UNIX`` stream socket; the variables are then removed so no child inherits
them. credd takes two, mapped by name: ``credd`` (credd.socket) and ``ssh-agent``
(credd-ssh-agent.socket); an install made before the agent passes only the first.

launchd (macOS) binds the sockets the launch agent's plist declares under `Sockets` and hands
them over by that key, through launch_activate_socket(3): ``credd`` and ``ssh-agent`` (the same
roles). A name launchd does not know (a plist written before the agent), or a process launchd
did not start, passes nothing, and the daemon binds that socket itself. NOT RUN ON MACOS BY
CREDD'S TESTS: the name mapping is tested on Linux with real sockets, the call type-checked.

Notices (sd_notify(3)): one datagram of ``KEY=value`` lines to ``$NOTIFY_SOCKET``, a path or
``@name`` in the abstract namespace. Without ``NOTIFY_SOCKET`` nothing is sent.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
from collections.abc import Callable, MutableMapping

log = logging.getLogger(__name__)

LISTEN_FDS_START = 3
_LISTEN_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")
MAIN_SOCKET = "credd"
AGENT_SOCKET = "ssh-agent"
# What FileDescriptorName= says for each; an older credd.socket has none (systemd then names
# the descriptor after the unit).
_SOCKET_NAMES = {"credd": MAIN_SOCKET, "credd.socket": MAIN_SOCKET, "ssh-agent": AGENT_SOCKET}
# The launch agent's `Sockets` keys (packaging/macos/dev.credd.credd.plist), by role.
LAUNCHD_SOCKETS = {MAIN_SOCKET: "credd", AGENT_SOCKET: "ssh-agent"}


class ActivationError(Exception):
    """systemd passed something the daemon cannot serve on."""


def inherited_socket(env: MutableMapping[str, str] | None = None) -> socket.socket | None:
    """The main listening socket systemd passed to this process, or None (see below)."""
    return inherited_sockets(env).get(MAIN_SOCKET)


def inherited_sockets(env: MutableMapping[str, str] | None = None) -> dict[str, socket.socket]:
    """The listening sockets systemd (launchd on macOS) passed to this process, by role
    (`MAIN_SOCKET`, `AGENT_SOCKET`); empty when none were passed to it."""
    if sys.platform == "win32":  # no systemd, no AF_UNIX
        return {}
    if sys.platform == "darwin":
        return launchd_sockets()
    env = os.environ if env is None else env
    pid, count = env.get("LISTEN_PID"), env.get("LISTEN_FDS")
    if not pid or not count:
        return {}
    if not pid.isdigit() or int(pid) != os.getpid():
        log.info("ignoring LISTEN_FDS meant for process %s", pid)
        return {}
    names = env.get("LISTEN_FDNAMES", "")
    for name in _LISTEN_VARS:
        env.pop(name, None)
    if not count.isdigit() or not 1 <= int(count) <= len(set(_SOCKET_NAMES.values())):
        raise ActivationError(
            f"systemd passed {count} sockets; credd takes credd.socket and "
            "credd-ssh-agent.socket (run `credd service install` again)"
        )
    given = names.split(":") if names else []
    roles = [_SOCKET_NAMES.get(n) for n in given] if given else [MAIN_SOCKET]
    if len(roles) != int(count) or None in roles or len(set(roles)) != len(roles):
        raise ActivationError(
            f"systemd passed sockets named {names!r}; credd takes one named 'credd' and one "
            "named 'ssh-agent' (FileDescriptorName=; run `credd service install` again)"
        )
    return {
        role: _listening(LISTEN_FDS_START + i) for i, role in enumerate(roles) if role is not None
    }


# launch_activate_socket(3) for one name: its descriptors, or None when launchd has none by
# that name for this process.
Activate = Callable[[str], list[int] | None]


def launchd_sockets(activate: Activate | None = None) -> dict[str, socket.socket]:
    """The sockets launchd passed to this process, by role; a role launchd has no socket for
    is left out (the daemon binds that one itself)."""
    if activate is None:
        activate = launch_activate_socket
    taken: dict[str, socket.socket] = {}
    try:
        for role, name in LAUNCHD_SOCKETS.items():
            descriptors = activate(name)
            if not descriptors:
                continue
            if len(descriptors) != 1:
                for descriptor in descriptors:
                    os.close(descriptor)
                raise ActivationError(
                    f"launchd passed {len(descriptors)} sockets named {name!r}; credd takes one "
                    "(a SockPathName; run `credd service install` again)"
                )
            taken[role] = _listening(descriptors[0])
    except ActivationError:
        for sock in taken.values():
            sock.close()
        raise
    return taken


def launch_activate_socket(name: str) -> list[int] | None:
    """launchd's descriptors for the plist's socket ``name``; None when launchd has no socket
    by that name (ENOENT), did not start this process (ESRCH), or has no such call."""
    import ctypes

    library = ctypes.CDLL(None)  # libSystem: launch_activate_socket is in liblaunch, part of it
    function = getattr(library, "launch_activate_socket", None)
    if function is None:  # before macOS 10.10: no launchd sockets taken, the daemon binds
        return None
    function.argtypes = (
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.POINTER(ctypes.c_int)),
        ctypes.POINTER(ctypes.c_size_t),
    )
    function.restype = ctypes.c_int
    library.free.argtypes = (ctypes.c_void_p,)
    descriptors = ctypes.POINTER(ctypes.c_int)()
    count = ctypes.c_size_t(0)
    error = function(name.encode(), ctypes.byref(descriptors), ctypes.byref(count))
    if error in (errno.ENOENT, errno.ESRCH):
        return None
    if error:
        raise ActivationError(f"launchd did not pass the socket {name!r}: {os.strerror(error)}")
    try:
        return [descriptors[i] for i in range(count.value)]
    finally:
        library.free(descriptors)


def _listening(descriptor: int) -> socket.socket:
    if sys.platform == "win32":  # no systemd there
        raise ActivationError("no socket activation on Windows")
    sock = socket.socket(fileno=descriptor)
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise ActivationError(
            "a socket the service manager passed is not a Unix stream socket; "
            "credd's socket units need ListenStream= with a path (launchd: SockPathName)"
        )
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()
        raise ActivationError(
            "a socket the service manager passed is not listening (systemd: Accept=yes?)"
        )
    os.set_inheritable(sock.fileno(), False)
    sock.setblocking(False)
    return sock


def notify(*lines: str, env: MutableMapping[str, str] | None = None) -> bool:
    """Send ``KEY=value`` lines to the service manager; False when there is none to tell."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET")
    if not address or sys.platform == "win32":
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        # Python opens every socket close-on-exec (PEP 446): no SOCK_CLOEXEC, absent on macOS.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto("\n".join(lines).encode(), target)
    except OSError as exc:
        log.warning("could not notify the service manager on %s: %s", address, exc)
        return False
    return True
