"""Ending a short command without the interpreter's teardown.

When `credd get NAME`, `credd list` or a helper's `get` has printed its answer, nothing is
left to do: the socket is closed, nothing was registered with `atexit`, no thread runs. The
interpreter's finalisation (collecting and clearing every module) still costs milliseconds,
as much as a quarter of such a command on a slow machine. `exit_now` flushes what was
printed and ends the process at once. Only the entry points call it, never `main`, so
`main` stays callable from tests and other programs.
"""

from __future__ import annotations

import os
import sys


def exit_now(code: int) -> int:
    """Flush standard output and error, then end the process with ``code``.

    Should a flush fail (a reader that went away), the interpreter's own exit takes over, as
    without this, and ``code`` is returned for it.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stream: let Python report it
        return code
    os._exit(code)
