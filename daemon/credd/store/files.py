"""The store file on disk: locked, atomic, durable reads and writes. Bytes only.

A write goes to a temporary file in the same folder, is fsynced, renamed over the store and
the folder is fsynced, so a crash at any instant leaves the old or the new file whole.
"""

from __future__ import annotations

import contextlib
import os
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
    if not hasattr(os, "getuid"):  # Windows: the profile folder's ACL protects it
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
        ensure_private_folder(self.path.parent)
        try:
            with self._lock:
                yield
        except Timeout as exc:
            raise WriteFailed(
                f"another process has held {self.lock_path} for over {LOCK_TIMEOUT:.0f} s"
            ) from exc

    def discard_partial_writes(self) -> int:
        """Remove temporaries left by a writer killed mid-write; they never held the store."""
        removed = 0
        with self.locked():
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
                os.fsync(handle.fileno())
                info = os.fstat(handle.fileno())
            os.replace(temporary, self.path)
            _fsync_folder(folder)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise _write_error(self.path, exc) from exc
        return FileVersion(info.st_ino, info.st_mtime_ns, info.st_size)


def _write_error(path: Path, exc: OSError) -> WriteFailed:
    return WriteFailed(
        f"could not write {path}: {exc.strerror or exc}; the previous store is intact"
    )


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
