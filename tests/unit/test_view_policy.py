"""The views' policy, sans-I/O: what a request through a view gets, and the checks of input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from credd.cli.views import default_view_name, split_ssh_args
from credd.views.policy import (
    View,
    check_pattern,
    check_view_name,
    decide,
    parse_duration,
)
from credd_client.errors import CreddError

READ = View("dev", ("git:https://github.com/*", "docker:*"), "/s/dev.sock")
WRITE = View("dev", ("git:*",), "/s/dev.sock", write=True)
CRED = "/v1/credentials/"


def outcome(view: View, method: str, path: str, query: bytes = b"") -> str:
    try:
        return decide(view, method, path.encode(), query).value
    except CreddError as exc:
        return exc.code


@pytest.mark.parametrize(
    ("view", "method", "path", "expected"),
    [
        (READ, "GET", "/v1/status", "status"),
        (READ, "GET", "/v1/credentials", "list"),
        (READ, "GET", CRED + "git%3Ahttps%3A%2F%2Fgithub.com%2Fa", "on"),
        (READ, "GET", CRED + "docker%3Aghcr.io", "on"),
        (READ, "GET", CRED + "aws%3Aprod", "not_found"),
        (READ, "POST", CRED + "docker%3Aghcr.io/refresh", "on"),
        (READ, "POST", CRED + "aws/refresh", "not_found"),
        (READ, "PUT", CRED + "docker%3Aghcr.io", "forbidden"),
        (READ, "DELETE", CRED + "docker%3Aghcr.io", "forbidden"),
        (READ, "DELETE", CRED + "aws", "forbidden"),
        (WRITE, "PUT", CRED + "git%3Ax", "on"),
        (WRITE, "DELETE", CRED + "git%3Ax", "on"),
        (WRITE, "PUT", CRED + "aws", "forbidden"),
        (WRITE, "DELETE", CRED + "aws", "not_found"),
        (WRITE, "PATCH", CRED + "git%3Ax", "forbidden"),
        (READ, "POST", "/v1/lock", "forbidden"),
        (READ, "POST", "/v1/unlock", "forbidden"),
        (READ, "POST", "/v1/backup", "forbidden"),
        (READ, "GET", "/v1/views", "forbidden"),
        (READ, "PUT", "/v1/views/other", "forbidden"),
        (READ, "GET", "/v1/registration", "forbidden"),
        (READ, "GET", "/openapi.json", "forbidden"),
        (READ, "GET", "/v1/credentials/", "invalid_request"),
        (READ, "GET", "/v1/status/", "forbidden"),
        (READ, "POST", "/v1/status", "forbidden"),
        (READ, "GET", "/v1/events", "on"),  # the stream filters itself by the view
        (READ, "POST", "/v1/events", "forbidden"),
        (READ, "GET", "/v1/events/", "forbidden"),
    ],
)
def test_decide(view: View, method: str, path: str, expected: str) -> None:
    assert outcome(view, method, path) == expected


def test_a_query_is_refused_even_on_a_matching_name() -> None:
    path = CRED + "docker%3Aghcr.io"
    assert outcome(READ, "GET", path, b"include=refresh_token") == "forbidden"


def test_the_event_stream_alone_takes_its_narrowing_query() -> None:
    assert outcome(READ, "GET", "/v1/events", b"name=git%3Ax&holder=exec") == "on"
    assert outcome(READ, "GET", "/v1/status", b"name=x") == "forbidden"


def test_a_glob_does_not_cross_into_a_longer_prefix() -> None:
    assert not READ.matches("git:https://github.com.evil.example/x")
    assert READ.matches("git:https://github.com/org/repo")


def test_expiry() -> None:
    now = datetime.now(UTC)
    view = View("v", ("x",), "/s", expires_at=now + timedelta(seconds=5))
    assert not view.expired(now)
    assert view.expired(now + timedelta(seconds=5))


def test_a_view_round_trips_through_its_file_form() -> None:
    view = View("v", ("a*", "b"), "/s/v.sock", write=True, uids=(1000,), expires_at=None)
    assert View.from_json(view.to_json()) == view


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("8h", 28800), ("2d", 172800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0s", "5", "5x", "-5m", "1.5h", "400d", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(CreddError) as error:
        parse_duration(text)
    assert error.value.code == "invalid_request"


@pytest.mark.parametrize("pattern", ["", "  ", "a[b", "x\n", "[!"])
def test_bad_patterns(pattern: str) -> None:
    with pytest.raises(CreddError):
        check_pattern(pattern)


@pytest.mark.parametrize("pattern", ["git:*", "a[[]b", "x[]]", "docker:ghcr.io/*", "[!a]*"])
def test_good_patterns(pattern: str) -> None:
    assert check_pattern(pattern) == pattern


@pytest.mark.parametrize("name", ["", "a b", "../x", "-x", "x/y", "é", "a" * 65])
def test_bad_view_names(name: str) -> None:
    with pytest.raises(CreddError):
        check_view_name(name)


@pytest.mark.parametrize(
    ("destination", "name"),
    [
        ("devbox", "ssh-devbox"),
        ("alice@devbox.example.com", "ssh-devbox-example-com"),
        ("ssh://alice@devbox:2222", "ssh-devbox"),
        ("[::1]:22", "ssh-1"),
    ],
)
def test_default_view_names(destination: str, name: str) -> None:
    assert default_view_name(destination) == name
    check_view_name(name)


def test_ssh_args_split_into_options_and_command() -> None:
    args = ["-p", "2222", "-F", "cfg", "-tt", "--", "git", "push"]
    assert split_ssh_args(args) == (["-p", "2222", "-F", "cfg", "-tt"], ["git", "push"])
    assert split_ssh_args(["-v", "ls", "-l"]) == (["-v"], ["ls", "-l"])
