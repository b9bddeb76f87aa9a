"""The table of which module registers which command matches what the modules register."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import pytest

from credd.cli import COMMAND_GROUPS, build_parser


class _Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add_parser(self, name: str, **_: Any) -> argparse.ArgumentParser:
        self.names.append(name)
        return argparse.ArgumentParser()


@pytest.mark.parametrize("group", list(COMMAND_GROUPS))
def test_each_group_registers_exactly_its_commands(group: str) -> None:
    recorder = _Recorder()
    importlib.import_module(f"credd.cli.{group}").register(recorder)
    assert tuple(recorder.names) == COMMAND_GROUPS[group]


@pytest.mark.parametrize("name", ["get", "delete", "refresh", "logout"])
def test_a_command_parses_the_same_with_its_group_alone_or_with_all(name: str) -> None:
    argv = [name, "x"]
    assert vars(build_parser(name).parse_args(argv)) == vars(build_parser().parse_args(argv))
