"""Process hygiene at daemon start: no core dumps, no debugger attaching from the same uid.

Linux: `prctl(PR_SET_DUMPABLE, 0)` tells the kernel never to write a core file of this
process (it would hold the store key and every plaintext) and makes ``/proc/<pid>/mem``,
``environ`` and ptrace attach unavailable to unprivileged processes, the user's own included.
macOS: no prctl; a zero `RLIMIT_CORE` stops core files and `ptrace(PT_DENY_ATTACH)` refuses
debuggers (and task-port based readers that go through them). Windows: neither exists here;
Windows Error Reporting settings decide about dumps. A zero `RLIMIT_CORE` backs every Unix up.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import sys
from dataclasses import dataclass

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
PT_DENY_ATTACH = 31  # macOS <sys/ptrace.h>


@dataclass(frozen=True)
class Protection:
    """What is in force against core dumps and debuggers; ``complete`` when nothing is missing."""

    complete: bool
    summary: str


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None


def _no_core_files() -> bool:
    """A zero core size limit, soft and hard; False where it cannot be set."""
    if sys.platform == "win32":
        return False
    import resource  # Unix only

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        return True
    return False


def make_undumpable() -> Protection:
    """Forbid core dumps of this process and debuggers attaching to it, as the OS allows."""
    core = _no_core_files()
    core_text = "core files off (RLIMIT_CORE 0)" if core else "RLIMIT_CORE could not be set"
    if sys.platform == "win32":
        return Protection(
            False,
            "no core-dump or debugger protection on Windows (Windows Error Reporting "
            "settings decide about crash dumps)",
        )
    libc = _libc()
    if libc is None:
        return Protection(False, f"{core_text}; cannot load libc")
    if sys.platform == "darwin":
        return _deny_attach(libc, core, core_text)
    if sys.platform.startswith("linux"):
        return _not_dumpable(libc, core_text)
    return Protection(False, f"{core_text}; no prctl on {sys.platform}: ptrace is not limited")


def _deny_attach(libc: ctypes.CDLL, core: bool, core_text: str) -> Protection:
    if libc.ptrace(PT_DENY_ATTACH, 0, None, 0) != 0:
        errno = ctypes.get_errno()
        return Protection(False, f"{core_text}; ptrace(PT_DENY_ATTACH) failed (errno {errno})")
    return Protection(core, f"{core_text}; debuggers refused (ptrace PT_DENY_ATTACH)")


def _not_dumpable(libc: ctypes.CDLL, core_text: str) -> Protection:
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        return Protection(False, f"{core_text}; prctl(PR_SET_DUMPABLE, 0) failed (errno {errno})")
    if libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0:
        return Protection(False, f"{core_text}; the kernel kept the process dumpable")
    return Protection(True, "no core file, no ptrace by other processes (prctl PR_SET_DUMPABLE 0)")
