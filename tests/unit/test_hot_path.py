"""The hot paths (`credd get NAME` and `credd list`, recognised before argparse) mean what
the parser means.

Whatever the argument list, when a hot path takes it the full parser reads it as the plain
`get` of the same name (the plain `list`), run by the same function; a hot path never takes
anything else.
"""

from __future__ import annotations

import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credd_client.cli import is_hot_get, is_hot_list
from credd_client.cli.credentials import run_get, run_list
from credd_client.cli.parser import build_parser

# Arguments like a shell gives: any text, and the shapes that matter to argparse.
arguments = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["get", "--json", "-h", "--help", "--", "-", "--version", "list"]),
    st.text(max_size=6).map(lambda text: "-" + text),
    st.text(max_size=6).map(lambda text: "--" + text),
)


def parsed(argv: list[str]) -> dict[str, object] | None:
    """What the full parser makes of ``argv``, or None when it refuses or exits."""
    quiet = io.StringIO()
    with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
        try:
            return vars(build_parser(argv[0] if argv else None).parse_args(argv))
        except SystemExit:
            return None


# Building the full parser imports every command's module: slow on a loaded machine.
patient = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@patient
@given(st.lists(arguments, max_size=4))
def test_what_the_hot_path_takes_the_parser_reads_as_a_plain_get(argv: list[str]) -> None:
    if is_hot_get(argv):
        assert parsed(argv) == {"command": "get", "name": argv[1], "json": False, "run": run_get}


@patient
@given(st.lists(arguments, max_size=3))
def test_what_the_hot_list_takes_the_parser_reads_as_a_plain_list(argv: list[str]) -> None:
    if is_hot_list(argv):
        assert parsed(argv) == {"command": "list", "json": False, "run": run_list}


def test_the_hot_list_is_list_alone() -> None:
    assert is_hot_list(["list"])
    for argv in ([], ["list", "--json"], ["list", "x"], ["--", "list"], ["get", "list"]):
        assert not is_hot_list(argv), argv


@patient
@given(arguments)
def test_every_get_of_a_name_is_hot(name: str) -> None:
    """`get NAME` with any NAME the parser takes as a name, and not an option, is hot."""
    result = parsed(["get", name])
    if result is not None and result["json"] is False and not name.startswith("-"):
        assert is_hot_get(["get", name])


def test_the_hot_path_refuses_anything_more_or_less() -> None:
    assert is_hot_get(["get", "github.com"])
    assert is_hot_get(["get", "team one/db: pass"])
    for argv in (
        ["get"],
        ["get", "--json", "x"],
        ["get", "x", "--json"],
        ["get", "-x"],
        ["get", "--", "-x"],
        ["list", "x"],
        ["get", "x", "y"],
    ):
        assert not is_hot_get(argv), argv
