"""`credd backup|restore|reset`: recovery when a laptop, a keyring or a store is lost.

The passphrase is read from the terminal without echo (twice for a backup), or as the first
line of standard input; never from the arguments. The daemon seals and opens the backup:
this command only moves the sealed bytes between the daemon and the file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from credd_client import Client
from credd_client.errors import CreddError, InvalidRequest

MAX_BACKUP_FILE = 48 * 1024 * 1024


def register(commands: Any) -> None:
    backup = commands.add_parser(
        "backup",
        help="write every credential to FILE, encrypted under a passphrase",
        description="The passphrase is read from the terminal (asked twice) or from the first "
        "line of standard input. FILE must not exist yet; it is written 0600.",
    )
    backup.add_argument("file", metavar="FILE")
    backup.set_defaults(run=run_backup)

    restore = commands.add_parser(
        "restore",
        help="bring back the credentials of a backup FILE",
        description="Adds every credential the store lacks. A credential the store holds "
        "with different contents is kept as it is, unless --overwrite. All or nothing.",
    )
    restore.add_argument("file", metavar="FILE")
    restore.add_argument("--overwrite", action="store_true", help="replace credentials that differ")
    restore.set_defaults(run=run_restore)

    reset = commands.add_parser(
        "reset",
        help="move aside a store credd cannot open (never deleted) and start a new one",
    )
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(run=run_reset)


def read_passphrase(confirm: bool) -> str:
    if sys.stdin.isatty():
        import getpass

        passphrase = getpass.getpass("Backup passphrase: ")
        if confirm and getpass.getpass("Same passphrase again: ") != passphrase:
            raise InvalidRequest("the two passphrases differ; nothing was written")
    else:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    if not passphrase:
        raise InvalidRequest("no passphrase given: type it at the prompt or pipe it in")
    return passphrase


def write_new_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all, 0600, and never over an existing file."""
    if path.exists() or path.is_symlink():
        raise InvalidRequest(f"{path} exists; credd backup never overwrites a file")
    folder = path.parent
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise InvalidRequest(f"{path} exists; credd backup never overwrites a file") from None
    except OSError as exc:
        raise CreddError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def run_backup(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.exists() or path.is_symlink():
        raise InvalidRequest(f"{path} exists; credd backup never overwrites a file")
    passphrase = read_passphrase(confirm=True)
    with Client(timeout=120.0) as client:
        sealed = client.backup(passphrase)
    write_new_file(path, sealed)
    print(f"wrote an encrypted backup to {path}; keep the passphrase apart from it")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        with open(path, "rb") as handle:
            sealed = handle.read(MAX_BACKUP_FILE + 1)
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror}") from None
    if len(sealed) > MAX_BACKUP_FILE:
        raise InvalidRequest(f"{path} is larger than any credd backup can be")
    passphrase = read_passphrase(confirm=False)
    with Client(timeout=120.0) as client:
        report = client.restore(sealed, passphrase, overwrite=args.overwrite)
    for key, verb in (
        ("added", "added"),
        ("replaced", "replaced"),
        ("unchanged", "already there"),
        ("kept", "kept (differs from the backup; --overwrite replaces it)"),
    ):
        for name in report[key]:
            print(f"{verb}: {name}")
    print(f"restored {len(report['added']) + len(report['replaced'])} credential(s) from {path}")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidRequest(
                "credd reset asks for confirmation: run it on a terminal or pass --yes"
            )
        answer = input("Move the current store aside and start an empty one? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing changed")
            return 1
    with Client() as client:
        moved = client.reset()
    if moved is None:
        print("there was no store; a new one is made with the first credential")
    else:
        print(f"moved the unreadable store to {moved} (kept, never deleted); a new store starts")
        print("bring your credentials back with `credd restore FILE`")
    return 0
