"""`credd ssh`, sans-I/O: the default view's name, what the remote may name as the forward's
end, and the ssh command lines built around the destination."""

from __future__ import annotations

import pytest

from credd.cli.views import (
    checked_remote_socket,
    default_view_name,
    forward_options,
    session_command,
    split_ssh_args,
)
from credd.views.policy import check_view_name
from credd_client.errors import InvalidRequest


@pytest.mark.parametrize(
    ("destination", "name"),
    [
        ("devbox", "ssh-devbox"),
        ("dev-box", "ssh-dev-box"),
        ("ssh://devbox", "ssh-devbox"),
    ],
)
def test_a_plain_destination_is_its_own_view_name(destination: str, name: str) -> None:
    assert default_view_name(destination) == name
    check_view_name(name)


DESTINATIONS = [
    "alice@dev.box",
    "dev-box:2222",
    "dev-box",
    "dev.box",
    "bob@dev.box",
    "alice@dev.box:2222",
    "ssh://alice@devbox:2222",
    "[::1]:22",
    "::1",
    "é",
    "@",
    "x" * 300,
    "a.b" * 40,
]


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_every_default_view_name_is_a_valid_view_name(destination: str) -> None:
    check_view_name(default_view_name(destination))


def test_destinations_that_differ_get_views_that_differ() -> None:
    names = [default_view_name(d) for d in DESTINATIONS]
    assert len(set(names)) == len(names), names
    assert default_view_name("alice@dev.box") != default_view_name("dev-box:2222")
    # Still readable: the host is in the name.
    assert default_view_name("alice@dev.box").startswith("ssh-alice-dev-box-")


@pytest.mark.parametrize(
    "path",
    [
        "/run/user/1000/credd/credd.sock",
        "/tmp/credd-1000/credd.sock",
        "/home/a.b/x_y+z@1/-.sock",
    ],
)
def test_an_absolute_path_of_safe_characters_is_accepted(path: str) -> None:
    assert checked_remote_socket(path) == path


@pytest.mark.parametrize(
    "answer",
    [
        "0.0.0.0:8022",
        "8022",
        "localhost:8022",
        "/tmp/a:b",
        "/tmp/a b",
        "/tmp/a\\b",
        "/tmp/a\tb",
        "relative/credd.sock",
        "",
        "/tmp/../etc/credd.sock",
        "/tmp/./credd.sock",
        "/tmp/caf\u00e9.sock",
        "/tmp/x\n-R0.0.0.0:1",
        "/tmp/$HOME",
        "/tmp/*",
        "/" + "a" * 103,
    ],
)
def test_anything_else_from_the_remote_is_refused_by_name(answer: str) -> None:
    with pytest.raises(InvalidRequest, match="credd forwards only onto an absolute path"):
        checked_remote_socket(answer)


def test_ssh_args_split_into_options_and_command() -> None:
    args = ["-p", "2222", "-F", "cfg", "-tt", "--", "git", "push"]
    assert split_ssh_args(args) == (["-p", "2222", "-F", "cfg", "-tt"], ["git", "push"])
    assert split_ssh_args(["-v", "ls", "-l"]) == (["-v"], ["ls", "-l"])


def test_the_session_puts_options_before_and_the_command_after_the_destination() -> None:
    # After `--` and the destination, ssh reads no option: the rest is the remote command
    # (a second `--` would be sent as part of it).
    forward = "/r/credd.sock:/l/v.sock"
    forwarding = forward_options(forward)
    assert session_command("ssh", forwarding, "devbox", ["-p", "2222", "--", "ls", "-l"]) == [
        *("ssh", "-o", "ExitOnForwardFailure=yes", "-R", forward, "-p", "2222"),
        *("--", "devbox", "ls", "-l"),
    ]
    # A destination that looks like an option stays a destination.
    assert session_command("ssh", forwarding, "-oProxyCommand=x", [])[-2:] == [
        "--",
        "-oProxyCommand=x",
    ]
