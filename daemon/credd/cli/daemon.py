"""`credd serve`: the daemon in the foreground, as systemd and launchd start it."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # `typing` costs milliseconds at every `credd get` start
if TYPE_CHECKING:
    from typing import Any


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the daemon in the foreground")
    serve.add_argument(
        "--log-file",
        metavar="PATH",
        help="append the log and all output to PATH (moved to PATH.1 at start when over "
        "10 MiB); the login services of macOS and Windows use it",
    )
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from ..config import ConfigError, load_config
    from ..paths import resolve_paths
    from ..server import StartupError, configure_logging, serve
    from ..system.eventloop import run

    if args.log_file:
        from pathlib import Path

        from ..system.logfile import open_log_file, redirect_output

        redirect_output(open_log_file(Path(args.log_file)))
    paths = resolve_paths()
    try:
        config = load_config(paths.config_file)
    except ConfigError as exc:
        print(f"credd: {exc}", file=sys.stderr)
        return 1
    configure_logging(config.log_level)
    try:
        run(serve(config, paths))
    except StartupError as exc:
        print(f"credd: {exc}", file=sys.stderr)
        return 1
    return 0
