"""The store file on disk: locked, atomic, durable reads and writes. Bytes only.

A write goes to a temporary file in the same folder, is fsynced, renamed over the store and
the folder is fsynced, so a crash at any instant leaves the old or the new file whole.
On macOS `fsync` leaves the data in the drive's cache; `F_FULLFSYNC` flushes it. On Windows a
folder cannot be opened to sync it, and need not be: NTFS journals the rename.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from credd_client.errors import StoreUnreadable, WriteFailed

FILE_MODE = 0o600
FOLDER_MODE = 0o700
LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class FileVersion:
    """What identifies one version of the file: a rename gives a new inode."""

    inode: int
    mtime_ns: int
    size: int


def ensure_private_folder(folder: Path) -> None:
    """Create the folder 0700 if absent; refuse one that belongs to someone else."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if sys.platform == "win32":  # the profile folder's ACL protects it
        return
    info = folder.stat()
    if info.st_uid != os.getuid():
        raise StoreUnreadable(
            f"{folder} belongs to uid {info.st_uid}, not to you (uid {os.getuid()}); "
            "credd keeps its state only in a folder you own"
        )
    if info.st_mode & 0o077:
        os.chmod(folder, FOLDER_MODE)


class StoreFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self._lock = FileLock(self.lock_path, timeout=LOCK_TIMEOUT, mode=FILE_MODE)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cross-process lock for a read-modify-write."""
        try:
            ensure_private_folder(self.path.parent)
            self._lock.acquire()
        except Timeout as exc:
            raise WriteFailed(
                f"another process has held {self.lock_path} for over {LOCK_TIMEOUT:.0f} s"
            ) from exc
        except OSError as exc:  # a read-only or full folder: nothing was changed
            raise WriteFailed(
                f"cannot lock {self.lock_path}: {exc.strerror or exc}; the store is unchanged"
            ) from exc
        try:
            yield
        finally:
            self._lock.release()

    def discard_partial_writes(self) -> int:
        """Remove temporaries left by a writer killed mid-write; they never held the store.

        Skipped where the folder cannot be locked (read-only): reading needs no lock.
        """
        try:
            with self.locked():
                return self._remove_leftovers()
        except WriteFailed:
            return 0

    def _remove_leftovers(self) -> int:
        removed = 0
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed += 1
        return removed

    def version(self) -> FileVersion | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return FileVersion(info.st_ino, info.st_mtime_ns, info.st_size)

    def read(self) -> tuple[bytes, FileVersion] | None:
        """The file's bytes and their version, or None when there is no store yet."""
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnreadable(f"cannot read {self.path}: {exc.strerror}") from exc
        return data, FileVersion(info.st_ino, info.st_mtime_ns, info.st_size)

    def write(self, data: bytes) -> FileVersion:
        """Replace the store atomically and durably; returns the new file's version."""
        folder = self.path.parent
        ensure_private_folder(folder)
        try:
            descriptor, temporary = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=folder
            )
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                full_fsync(handle.fileno())
                info = os.fstat(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise _write_error(self.path, exc) from exc
        # The new store is in place from here: a failure is not "the previous store is intact".
        try:
            sync_folder(folder)
        except OSError as exc:
            raise WriteFailed(
                f"wrote {self.path}, but could not sync its folder ({exc.strerror or exc}): "
                "the change is in the store but may not survive a crash or power loss"
            ) from exc
        return FileVersion(info.st_ino, info.st_mtime_ns, info.st_size)


def _write_error(path: Path, exc: OSError) -> WriteFailed:
    return WriteFailed(
        f"could not write {path}: {exc.strerror or exc}; the previous store is intact"
    )


def full_fsync(descriptor: int) -> None:
    """Flush a file to stable storage: the drive's cache too, on macOS (`F_FULLFSYNC`)."""
    if sys.platform == "darwin":
        import fcntl

        try:
            fcntl.fcntl(descriptor, fcntl.F_FULLFSYNC)
        except OSError:  # a file system without it (some network and FAT volumes)
            os.fsync(descriptor)
        return
    os.fsync(descriptor)


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable; nothing to do on Windows (NTFS journals it)."""
    if sys.platform == "win32":
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        full_fsync(descriptor)
    finally:
        os.close(descriptor)
