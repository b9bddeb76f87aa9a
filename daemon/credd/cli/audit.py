"""`credd audit [--name N] [--follow] [--json]`: read the daemon's audit log.

It reads the files directly (they are the user's own, 0600, in the state folder): the
rotated ones oldest first, then the current one; `--follow` then waits for new lines, across
rotations.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

POLL_SECONDS = 0.2
KEEP = 3


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="show who accessed which credential, and how")
    audit.add_argument("--name", help="only the records of this credential")
    audit.add_argument("--follow", "-f", action="store_true", help="wait for new records")
    audit.add_argument("--json", action="store_true", help="print the JSON lines as stored")
    audit.set_defaults(run=run_audit)


def log_path() -> Path:
    from ..paths import resolve_paths

    return resolve_paths().audit_log


def run_audit(args: argparse.Namespace) -> int:
    path = log_path()
    files = [path.with_name(f"{path.name}.{n}") for n in range(KEEP, 0, -1)]
    for old in files:
        _print_from(old, args)
    handle = _open(path)
    try:
        if handle is not None:
            for line in handle:
                _show(line, args)
        if args.follow:
            _follow(path, handle, args)
    finally:
        if handle is not None:
            handle.close()
    return 0


def _open(path: Path) -> IO[str] | None:
    try:
        return open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def _print_from(path: Path, args: argparse.Namespace) -> None:
    handle = _open(path)
    if handle is None:
        return
    with handle:
        for line in handle:
            _show(line, args)


def _follow(path: Path, handle: IO[str] | None, args: argparse.Namespace) -> None:
    """Print lines as they come; reopen when the file is rotated (a new inode)."""
    pending = ""
    while True:
        for line in _new_lines(handle):
            pending += line
            if pending.endswith("\n"):
                _show(pending, args)
                pending = ""
        try:
            inode = path.stat().st_ino
        except FileNotFoundError:
            inode = None
        current = None if handle is None else _inode(handle)
        if inode is not None and inode != current:
            if handle is not None:
                for line in _new_lines(handle):  # the rest of the rotated file
                    _show(pending + line, args)
                    pending = ""
                handle.close()
            handle = _open(path)
            continue
        time.sleep(POLL_SECONDS)


def _inode(handle: IO[str]) -> int:
    import os

    return os.fstat(handle.fileno()).st_ino


def _new_lines(handle: IO[str] | None) -> Iterator[str]:
    if handle is None:
        return
    while line := handle.readline():
        yield line


def _show(line: str, args: argparse.Namespace) -> None:
    line = line.rstrip("\n")
    if not line:
        return
    try:
        record = json.loads(line)
    except ValueError:
        return  # a line cut by a crash mid-write
    if not isinstance(record, dict):
        return
    if args.name is not None and record.get("name") != args.name:
        return
    if args.json:
        print(line, flush=True)
        return
    peer = f"pid {record.get('pid')} uid {record.get('uid')} {record.get('exe') or '?'}"
    if record.get("view"):
        peer += f" view {record['view']}"
    name = record.get("name")
    print(
        "\t".join(
            (
                str(record.get("time")),
                str(record.get("op")),
                "-" if name is None else str(name),
                str(record.get("outcome")),
                peer,
            )
        ),
        flush=True,
    )
