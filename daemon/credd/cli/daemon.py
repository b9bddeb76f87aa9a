"""`credd serve`: the daemon in the foreground, as systemd and launchd start it."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # `typing` costs milliseconds at every `credd get` start
if TYPE_CHECKING:
    from typing import Any


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the daemon in the foreground")
    serve.set_defaults(run=run_serve)


def run_serve(_: argparse.Namespace) -> int:
    from ..config import ConfigError, load_config
    from ..eventloop import run
    from ..paths import resolve_paths
    from ..server import StartupError, configure_logging, serve

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
