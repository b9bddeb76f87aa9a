"""`credd serve --log-file PATH`: the daemon's own log file, kept from growing without bound.

Where no journal collects the daemon's output (launchd, Task Scheduler, a windowless
`pythonw.exe` that has no standard output at all), the daemon appends to ``credd.log`` in its
state folder. At start a log over `ROTATE_BYTES` is moved aside to ``credd.log.1`` (replacing
the previous one), so the two files hold at most twice that plus one run's output.
Standard output and error are pointed at the file too, so a traceback lands there as well.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TextIO

ROTATE_BYTES = 10 * 1024 * 1024
FILE_MODE = 0o600


def open_log_file(path: Path, rotate_bytes: int = ROTATE_BYTES) -> TextIO:
    """Append to ``path`` (0600, its folder made 0700), rotated first when it is too big."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > rotate_bytes:
            os.replace(path, path.with_name(path.name + ".1"))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    return os.fdopen(descriptor, "a", buffering=1, encoding="utf-8", errors="backslashreplace")


def redirect_output(log: TextIO) -> None:
    """Standard output and error go to the log from now on (pythonw.exe has neither)."""
    sys.stdout = log
    sys.stderr = log
