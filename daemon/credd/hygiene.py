"""Process hygiene at daemon start: no core dumps, no ptrace by other same-uid processes.

`prctl(PR_SET_DUMPABLE, 0)` tells the kernel never to write a core file of this process
(it would hold the store key and every plaintext) and makes ``/proc/<pid>/mem``, ``environ``
and ptrace attach unavailable to unprivileged processes, the user's own included.
A zero `RLIMIT_CORE` backs it up where prctl is missing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import resource
import sys

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None


def make_undumpable() -> bool:
    """Forbid core dumps of this process; True when the kernel confirmed it."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    if libc is None:
        log.warning("cannot load libc to call prctl; core dumps are limited by RLIMIT_CORE only")
        return False
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_DUMPABLE, 0) failed (errno %d)", ctypes.get_errno())
        return False
    return bool(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
