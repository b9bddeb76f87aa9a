"""The full parser of `credd`: the client's commands, and the daemon's when it is installed.

Only the module of the command being run is imported (`credd set` does not import the
status formatter, nor the daemon's modules); `credd --help`, an unknown command and the
completion scripts see every command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from . import COMMANDS, DAEMON_COMMANDS, DAEMON_INSTALL_HINT, EXIT_NO_DAEMON_PACKAGE, run_guarded

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

DAEMON_MARK = " (daemon: not installed)"


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without `shutil`.

    argparse makes a formatter for every argument it registers, and the stock one imports
    `shutil` (and with it zlib, bz2 and lzma) to ask the terminal's width: milliseconds on
    every command. The width comes from the same places, through `os`.
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


def daemon_cli() -> ModuleType | None:
    """`credd.cli`, the daemon's commands, or None when the daemon is not installed.

    The one place the client reaches for the daemon: a hand-over to an optional part, by
    name, never an import the client needs.
    """
    try:
        return importlib.import_module("credd.cli")
    except ModuleNotFoundError as exc:
        if exc.name != "credd":  # the daemon is there but broken: say so, do not hide it
            raise
        return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of the module registering ``command``."""
    parser = _Parser(
        prog="credd",
        description="One encrypted store and one unlock for every tool's credentials.",
    )
    parser.add_argument("--version", action="version", version=f"credd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    client_groups = [group for group, names in COMMANDS.items() if command in names]
    for group in client_groups or COMMANDS:
        importlib.import_module(f"{__package__}.{group}").register(commands)
    if client_groups:  # a client command: nothing of the daemon's is needed
        return parser
    daemon = daemon_cli()
    if daemon is None:
        for name, summary in DAEMON_COMMANDS.items():
            commands.add_parser(name, help=summary + DAEMON_MARK, add_help=False)
        return parser
    groups = daemon.COMMAND_GROUPS
    chosen = [group for group, names in groups.items() if command in names] or list(groups)
    for group in chosen:
        importlib.import_module(f"credd.cli.{group}").register(commands)
    return parser


def run(argv: Sequence[str]) -> int:
    command = argv[0] if argv else None
    if command in DAEMON_COMMANDS and daemon_cli() is None:
        print(
            f"credd: `credd {command}` is a daemon command: {DAEMON_INSTALL_HINT}", file=sys.stderr
        )
        return EXIT_NO_DAEMON_PACKAGE
    args = build_parser(command).parse_args(argv)
    return run_guarded(args.run, args)
