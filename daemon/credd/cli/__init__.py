"""`credd`, the command line.

Only the standard library and `credd_client` are imported here, so the everyday commands
(`get`, `list`, ...) start fast; `serve` imports the daemon's dependencies when it runs.
Each module registers its own subcommands; a command returns its exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from credd_client.errors import CreddError

from .. import __version__
from . import admin, audit, credentials, daemon, importer, keys, oauth, recovery, service
from . import exec as exec_command

COMMAND_GROUPS = (
    daemon,
    admin,
    credentials,
    oauth,
    exec_command,
    importer,
    keys,
    service,
    audit,
    recovery,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
