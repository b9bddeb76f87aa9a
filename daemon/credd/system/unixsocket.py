"""A Unix socket file only its user may open: the daemon's main socket and every view's."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

SOCKET_MODE = 0o600
BACKLOG = 128


def bind_private(path: Path) -> socket.socket:
    """A socket bound at ``path``, its file private from the first instant (umask 0177), not
    yet listening: the caller sets SOCKET_MODE and listens. Raises OSError, the socket closed.
    """
    if sys.platform == "win32":
        raise OSError("no Unix socket on Windows")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(previous)
    return sock
