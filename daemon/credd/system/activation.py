"""systemd's side of the daemon: an inherited listening socket, and readiness notices.

Socket activation (sd_listen_fds(3)): systemd binds the socket, passes it as descriptor 3 and
sets ``LISTEN_PID`` and ``LISTEN_FDS``. The descriptor is taken only when ``LISTEN_PID`` is
this process (the variables may have leaked from a parent) and only when it is a listening
``AF_UNIX`` stream socket; the variables are then removed so no child inherits them.

Notices (sd_notify(3)): one datagram of ``KEY=value`` lines to ``$NOTIFY_SOCKET``, a path or
``@name`` in the abstract namespace. Without ``NOTIFY_SOCKET`` nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

LISTEN_FDS_START = 3
_LISTEN_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


class ActivationError(Exception):
    """systemd passed something the daemon cannot serve on."""


def inherited_socket(env: MutableMapping[str, str] | None = None) -> socket.socket | None:
    """The listening socket systemd passed to this process, or None when there is none."""
    if sys.platform == "win32":  # no systemd, no AF_UNIX
        return None
    env = os.environ if env is None else env
    pid, count = env.get("LISTEN_PID"), env.get("LISTEN_FDS")
    if not pid or not count:
        return None
    if not pid.isdigit() or int(pid) != os.getpid():
        log.info("ignoring LISTEN_FDS meant for process %s", pid)
        return None
    for name in _LISTEN_VARS:
        env.pop(name, None)
    if not count.isdigit() or int(count) != 1:
        raise ActivationError(
            f"systemd passed {count} sockets; credd.socket must declare exactly one"
        )
    sock = socket.socket(fileno=LISTEN_FDS_START)
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise ActivationError(
            "the socket systemd passed is not a Unix stream socket; "
            "credd.socket needs ListenStream= with a path"
        )
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()
        raise ActivationError("the socket systemd passed is not listening (Accept=yes?)")
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
