"""Replace a file whole, so a reader sees the old content or the new, never a part.

The new content goes to a temporary file in the same folder (0600 from its creation),
which is flushed to disk and renamed over the target; the folder is synced so the rename
lasts. Unless told a mode, a replaced file keeps its permission bits (the user may have
opened them to a group), and a new one is 0600. The result is a new inode: a program holding
the old file open, or a single-file bind mount of it, keeps seeing the old content.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys

NEW_FILE_MODE = 0o600


class FolderNotSynced(OSError):
    """The new content is in place, but its folder could not be synced: the rename may not
    survive a crash. Never "the file is as it was"."""


def replace_file(path: str, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically; `OSError` leaves ``path`` as it was, but for
    `FolderNotSynced`."""
    folder = os.path.dirname(path) or "."
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = NEW_FILE_MODE
    temporary = os.path.join(folder, f".{os.path.basename(path)}.credd-{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if sys.platform != "win32":
                os.fchmod(handle.fileno(), mode)  # whatever the umask
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    try:
        sync_folder(folder)
    except OSError as exc:
        raise FolderNotSynced(exc.errno, exc.strerror) from exc


def sync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows has no folder handles to sync)."""
    if sys.platform == "win32":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
