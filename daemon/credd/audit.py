"""The audit log: one JSON line per access, in the state folder, size-capped and rotated.

    {"time": "...Z", "op": "get", "name": "github.com", "outcome": "ok", "status": 200,
     "pid": 4242, "uid": 1000, "exe": "/usr/bin/git", "view": null}

``view`` names the view the request came through (null: the main socket).

Never a value: a record is built only from the operation, the credential's name, the
outcome's error code and the peer. Lines go to a buffer that is flushed as soon as the
event loop is free (at once when there is no loop): under load one `write` call carries
many records; no fsync (the log is evidence, not a store). When the file passes `max_bytes` it
becomes ``audit.log.1`` (older ones shift up to ``.{keep}``, the oldest is dropped).
Failing to write the log never fails a request; it is reported in the daemon's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from .store.files import FILE_MODE, ensure_private_folder
from .store.records import format_time, utc_now
from .system.peer import Peer

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024
KEEP = 3


def rotated(path: Path, keep: int = KEEP) -> list[Path]:
    """The log's files, oldest first: ``audit.log.{keep}`` ... ``audit.log.1``, ``audit.log``."""
    return [path.with_name(f"{path.name}.{n}") for n in range(keep, 0, -1)] + [path]


class AuditLog:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._size = 0
        self._failing = False
        self._flush_pending = False

    def record(
        self,
        op: str,
        name: str | None,
        outcome: str,
        status: int | None,
        peer: Peer,
        *,
        view: str | None = None,
        detail: Mapping[str, str | None] | None = None,
    ) -> None:
        """One line; ``detail`` adds fields (a signature's key fingerprint and host key)."""
        entry: dict[str, Any] = {
            "time": format_time(utc_now()),
            "op": op,
            "name": name,
            "outcome": outcome,
            "status": status,
            **peer.to_json(),
            "view": view,
            **(detail or {}),
        }
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            try:
                handle = self._open()
                handle.write(line)
                self._size += len(line.encode())
                if self._size >= self.max_bytes:
                    self._rotate()
                else:
                    self._schedule_flush(handle)
            except OSError as exc:
                self._failed(exc)
                return
            if self._failing:
                log.warning("the audit log %s is written again", self.path)
                self._failing = False

    def flush(self) -> None:
        with self._lock:
            self._flush_pending = False
            if self._handle is None:
                return
            try:
                self._handle.flush()
            except OSError as exc:
                self._failed(exc)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _schedule_flush(self, handle: IO[str]) -> None:
        if self._flush_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            handle.flush()
            return
        self._flush_pending = True
        loop.call_soon(self.flush)

    def _failed(self, exc: OSError) -> None:
        self._close()
        if not self._failing:
            log.warning("cannot write the audit log %s: %s", self.path, exc.strerror or exc)
        self._failing = True

    def _open(self) -> IO[str]:
        if self._handle is None:
            ensure_private_folder(self.path.parent)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
            self._handle = os.fdopen(descriptor, "a", encoding="utf-8")
            self._size = os.fstat(descriptor).st_size
        return self._handle

    def _close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None

    def _rotate(self) -> None:
        self._close()
        files = rotated(self.path, self.keep)
        for older, newer in itertools.pairwise(files):
            with contextlib.suppress(FileNotFoundError):
                os.replace(newer, older)
        self._size = 0
