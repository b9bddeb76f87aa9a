"""`credd`, the command line.

Only the standard library and `credd_client` are imported here, so the everyday commands
(`get`, `list`, ...) start fast; `serve` imports the daemon's dependencies when it runs.
Each module registers its own subcommands; a command returns its exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from credd_client.errors import CreddError

from .. import __version__
from . import admin, credentials, daemon, importer, oauth
from . import exec as exec_command

COMMAND_GROUPS = (daemon, admin, credentials, oauth, exec_command, importer)


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="credd",
        description="One encrypted store and one unlock for every tool's credentials.",
    )
    parser.add_argument("--version", action="version", version=f"credd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except CreddError as exc:
        print(f"credd: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code
