"""The views' policy, sans-I/O: what a request through a view gets, and the checks of input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from credd.store.records import Credential, OAuthFields
from credd.views.policy import (
    POLICY,
    Answer,
    Rule,
    View,
    check_pattern,
    check_view_name,
    check_write,
    decide,
    parse_duration,
)
from credd_client.errors import CreddError, Forbidden, NotFound
from tests.support.api_contract import openapi_document

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


def test_every_route_of_the_app_has_its_row_and_every_row_a_route() -> None:
    """A route another branch adds fails here until the table says what a view gets of it."""
    document = openapi_document()
    routes = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch", "head", "options")
    }
    routes.add(("GET", "/openapi.json"))
    assert routes - set(POLICY) == set(), "routes without a row in views/policy.py POLICY"
    assert set(POLICY) - routes == set(), "rows of POLICY for routes the app does not have"


def test_only_the_credential_reads_and_writes_are_open() -> None:
    opened = {route for route, rule in POLICY.items() if rule is not Rule.FORBIDDEN}
    assert opened == {
        ("GET", "/v1/status"),
        ("GET", "/v1/credentials"),
        ("GET", "/v1/credentials/{name}"),
        ("POST", "/v1/credentials/{name}/refresh"),
        ("PUT", "/v1/credentials/{name}"),
        ("DELETE", "/v1/credentials/{name}"),
        ("GET", "/v1/events"),  # its stream carries the view's names only
        ("GET", "/v1/aws/{name}"),  # a matching aws credential's credential_process keys
        ("GET", "/v1/kube/{name}"),  # a matching credential as an exec plugin's answer
    }


def test_an_aws_answer_is_read_like_a_credential_and_its_login_forbidden() -> None:
    view = View(name="v", patterns=("aws:*",), socket="/s")
    assert decide(view, "GET", b"/v1/aws/aws%3Adev", b"") is Answer.ON
    with pytest.raises(NotFound):
        decide(view, "GET", b"/v1/aws/other", b"")
    with pytest.raises(Forbidden):
        decide(view, "POST", b"/v1/aws/aws%3Adev/login", b"")


def test_the_events_stream_is_open_with_its_narrowing_query_only() -> None:
    view = View(name="v", patterns=("git:*",), socket="/s")
    assert decide(view, "GET", b"/v1/events", b"name=git%3Ax&holder=exec") is Answer.ON
    with pytest.raises(Forbidden):
        decide(view, "POST", b"/v1/events", b"")


def _secret(name: str = "git:x") -> Credential:
    return Credential(name=name, kind="secret", secret="s")


def _oauth2(name: str = "git:x", endpoint: str = "https://as.example/token") -> Credential:
    fields = OAuthFields(token_endpoint=endpoint, client_id="c", refresh_token="r")
    return Credential(name=name, kind="oauth2", secret="a", oauth=fields)


@pytest.mark.parametrize(
    ("stored", "new", "allowed"),
    [
        (None, _secret(), True),  # make a secret
        (_secret(), _secret(), True),  # replace a secret
        (_secret(), None, True),  # delete a secret
        (None, None, True),  # delete what is not there: the store says not_found
        (None, _oauth2(), False),  # make an oauth2 credential (finding 1)
        (_secret(), _oauth2(), False),  # turn a secret into one
        (_oauth2(), _secret(), False),  # replace an oauth2 credential by a secret
        (_oauth2(), _oauth2(endpoint="http://10.0.0.1/t"), False),  # change its endpoint
        (_oauth2(), None, False),  # delete one
    ],
)
def test_a_view_writes_plain_secrets_only(
    stored: Credential | None, new: Credential | None, allowed: bool
) -> None:
    if allowed:
        check_write(WRITE, stored, new)
        return
    with pytest.raises(CreddError) as refused:
        check_write(WRITE, stored, new)
    assert refused.value.code == "forbidden"
    assert "plain secrets only" in refused.value.message


def test_a_query_is_refused_even_on_a_matching_name() -> None:
    path = CRED + "docker%3Aghcr.io"
    assert outcome(READ, "GET", path, b"include=refresh_token") == "forbidden"


def test_the_event_stream_and_the_list_alone_take_their_narrowing_query() -> None:
    assert outcome(READ, "GET", "/v1/events", b"name=git%3Ax&holder=exec") == "on"
    # The list's fields are read (and any other query refused) where the list is answered.
    assert outcome(READ, "GET", "/v1/credentials", b"fields=name,kind") == "list"
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
