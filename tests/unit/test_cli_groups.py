"""The tables of which module registers which command match what the modules register.

`credd` is the client's command (credd_client.cli): its own commands come from COMMANDS,
the daemon's from credd.cli.COMMAND_GROUPS, and the client names the daemon's commands in
DAEMON_COMMANDS for a machine without the daemon.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import pytest

from credd.cli import COMMAND_GROUPS
from credd_client.cli import COMMANDS, DAEMON_COMMANDS
from credd_client.cli.parser import build_parser


class _Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add_parser(self, name: str, **_: Any) -> argparse.ArgumentParser:
        self.names.append(name)
        return argparse.ArgumentParser()


def registered_by(module: str) -> tuple[str, ...]:
    recorder = _Recorder()
    importlib.import_module(module).register(recorder)
    return tuple(recorder.names)


@pytest.mark.parametrize("group", list(COMMANDS))
def test_each_client_module_registers_exactly_its_commands(group: str) -> None:
    assert registered_by(f"credd_client.cli.{group}") == COMMANDS[group]


@pytest.mark.parametrize("group", list(COMMAND_GROUPS))
def test_each_daemon_module_registers_exactly_its_commands(group: str) -> None:
    assert registered_by(f"credd.cli.{group}") == COMMAND_GROUPS[group]


def test_the_client_names_exactly_the_daemons_commands() -> None:
    """A command moved to the client leaves the daemon's table and DAEMON_COMMANDS both."""
    daemon = [name for names in COMMAND_GROUPS.values() for name in names]
    client = [name for names in COMMANDS.values() for name in names]
    assert sorted(DAEMON_COMMANDS) == sorted(daemon)
    assert set(client).isdisjoint(daemon)


@pytest.mark.parametrize("name", ["get", "delete", "refresh", "logout", "serve"])
def test_a_command_parses_the_same_with_its_group_alone_or_with_all(name: str) -> None:
    argv = [name] if name == "serve" else [name, "x"]
    assert vars(build_parser(name).parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_help_lists_every_command() -> None:
    text = build_parser().format_help()
    for name in [*DAEMON_COMMANDS, *(n for names in COMMANDS.values() for n in names)]:
        assert f"    {name} " in text or f"    {name}\n" in text
