"""`credd completion bash|zsh|fish`: the shell's completion script, printed.

The commands, their options and which of them take a credential name come from the
argument parser itself (`completion_table`), so the scripts cannot drift from it. Names are
asked of the daemon when a shell completes one (`credd completion --names`): with a 1 s
limit, never starting a daemon, never unlocking one (a locked daemon gives nothing), and
never a value; nothing at all when no daemon runs.
"""

from __future__ import annotations

import argparse
import sys

from ..client import Client
from ..errors import CreddError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SHELLS = ("bash", "zsh", "fish")
NAMES_TIMEOUT = 1.0
# The positional arguments that are a credential's name.
NAME_ARGUMENTS = frozenset({"name"})


def register(commands: Any) -> None:
    completion = commands.add_parser(
        "completion",
        help="print the shell completion script for bash, zsh or fish",
        description="Load it in your shell's start-up file: bash `eval \"$(credd completion "
        'bash)"`, zsh `eval "$(credd completion zsh)"` (after compinit), fish `credd '
        "completion fish | source`. Credential names are asked of a running daemon, with a "
        "1 s limit; it is never started or unlocked for them.",
    )
    completion.add_argument("shell", nargs="?", choices=SHELLS)
    completion.add_argument("--names", action="store_true", help=argparse.SUPPRESS)
    completion.set_defaults(run=run_completion)


def run_completion(args: argparse.Namespace) -> int:
    if args.names:
        print_names()
        return 0
    if args.shell is None:
        print("credd completion: name a shell: bash, zsh or fish", file=sys.stderr)
        return 2
    from . import scripts
    from .parser import build_parser

    table = completion_table(build_parser())
    sys.stdout.write(scripts.render(args.shell, table))
    return 0


def print_names() -> None:
    """Every credential's name, one a line; nothing when no daemon answers or it is locked."""
    try:
        with Client(timeout=NAMES_TIMEOUT, autostart=False) as client:
            if client.status().locked:  # a request for names would unlock an idle-locked one
                return
            names = [credential.name for credential in client.list()]
    except CreddError:
        return
    sys.stdout.write("".join(f"{name}\n" for name in names))


class Command:
    """What a shell needs to know of one command to complete its arguments."""

    def __init__(self, name: str, summary: str) -> None:
        self.name = name
        self.summary = summary
        self.options: list[str] = []
        self.options_with_value: list[str] = []
        self.takes_names = False
        self.takes_files = False  # another positional (a path, a source, a command)
        self.subcommands: list[str] = []


def completion_table(parser: argparse.ArgumentParser) -> list[Command]:
    """The commands of ``parser``'s subparsers, in help order, with what each takes."""
    table = []
    for action in _subparsers(parser):
        summaries = {choice.dest: str(choice.help or "") for choice in action._choices_actions}
        for name, sub in action.choices.items():
            command = Command(name, summaries.get(name, "").replace("\n", " "))
            for argument in sub._actions:
                if isinstance(argument, argparse._SubParsersAction):
                    command.subcommands.extend(argument.choices)
                elif argument.option_strings:
                    if argument.help == argparse.SUPPRESS:
                        continue
                    command.options.extend(argument.option_strings)
                    if argument.nargs != 0:
                        command.options_with_value.extend(argument.option_strings)
                elif argument.dest in NAME_ARGUMENTS:
                    command.takes_names = True
                elif argument.choices:  # `service install|uninstall|status`
                    command.subcommands.extend(map(str, argument.choices))
                else:
                    command.takes_files = True
            table.append(command)
    return table


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction[Any]]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
