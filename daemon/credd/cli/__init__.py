"""`credd`, the command line.

Only the standard library and `credd_client` are imported here, so the everyday commands
(`get`, `list`, ...) start fast; `serve` imports the daemon's dependencies when it runs.
Each module registers its own subcommands; a command returns its exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from credd_client.errors import CreddError

from .. import __version__

# The modules of this package that register commands, in help order, with the commands each
# registers. `credd get` imports only the module of `get`: others pull in dataclasses,
# subprocess, typing and more, tens of milliseconds on every start of every command.
# tests/unit/test_cli_groups.py checks this table against what the modules register.
COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "daemon": ("serve",),
    "admin": ("status", "lock", "unlock"),
    "credentials": ("get", "set", "delete", "list"),
    "oauth": ("login", "logout", "refresh"),
    "exec": ("exec",),
    "importer": ("import",),
    "keys": ("rekey",),
    "service": ("service",),
    "audit": ("audit",),
    "recovery": ("backup", "restore", "reset"),
    "views": ("view", "ssh"),
    "kube": ("kube",),
}


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without `shutil`.

    argparse makes a formatter for every argument it registers, and the stock one imports
    `shutil` (and with it zlib, bz2 and lzma) to ask the terminal's width: milliseconds on
    every `credd get`. The width comes from the same places, through `os`.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(1).columns or 80
    except (ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """Every parser and subparser of `credd` uses the light formatter."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of the group registering ``command``."""
    groups = [group for group, names in COMMAND_GROUPS.items() if command in names]
    parser = _Parser(
        prog="credd",
        description="One encrypted store and one unlock for every tool's credentials.",
    )
    parser.add_argument("--version", action="version", version=f"credd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in groups or COMMAND_GROUPS:
        importlib.import_module(f"{__name__}.{group}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        code: int = args.run(args)
    except CreddError as exc:
        print(f"credd: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code
