"""The integrations' naming scheme, the git helper's request parsing and matching, and the
parsers of `credd import` (no daemon needed)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credd.cli.import_sources import (
    SourceError,
    detect,
    docker_without,
    parse_credd_json,
    parse_docker_config,
    parse_git_credentials,
)
from credd_client.git_helper import matches, read_request, target_of
from credd_client.names import GitTarget, keyring_name, quote_user, unquote_user


@given(st.text())
def test_usernames_round_trip(username: str) -> None:
    quoted = quote_user(username)
    assert "@" not in quoted
    assert "/" not in quoted
    assert unquote_user(quoted) == username


@given(
    protocol=st.sampled_from(["https", "http", "ssh"]),
    host=st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True),
    path=st.from_regex(r"([a-z0-9._-]{1,8}/){0,3}[a-z0-9._-]{0,8}", fullmatch=True),
    username=st.text(),
)
def test_git_names_parse_back(protocol: str, host: str, path: str, username: str) -> None:
    target = GitTarget(protocol, host, path, username)
    parsed = GitTarget.from_name(target.name())
    assert parsed is not None
    assert (parsed.protocol, parsed.host, parsed.path, parsed.username) == (
        protocol,
        host,
        path.strip("/"),
        username,
    )


def test_git_names_look_like_urls() -> None:
    assert (
        GitTarget("https", "github.com", "", "octocat").name() == "git:https://octocat@github.com"
    )
    assert GitTarget("https", "h:8443", "/a/b.git", "").name() == "git:https://h:8443/a/b.git"
    assert GitTarget.from_name("github.com") is None
    assert keyring_name("svc", "a@b") == "keyring:a%40b@svc"
    assert keyring_name("svc", None) == "keyring:svc"


def test_read_request_stops_at_the_blank_line_and_keeps_unknown_keys_apart() -> None:
    lines = ["protocol=https\n", "host=h\r\n", "wwwauth[]=Basic\n", "junk\n", "\n", "host=x\n"]
    attributes = read_request(lines)
    assert attributes == {"protocol": "https", "host": "h", "wwwauth[]": "Basic"}
    assert target_of({"host": "h"}) is None


def test_matching_rules() -> None:
    request = GitTarget("https", "h:1", "", "")
    assert matches(request, "git:https://u@h:1", None)
    assert not matches(request, "git:https://u@h:1/p", None)
    assert not matches(request, "git:https://u@h", None)
    assert not matches(request, "git:http://u@h:1", None)
    assert not matches(request, "keyring:u@h:1", None)
    with_user = GitTarget("https", "h:1", "", "u")
    assert matches(with_user, "git:https://h:1", "u")
    assert not matches(with_user, "git:https://v@h:1", None)


def test_git_credentials_parse() -> None:
    entries = parse_git_credentials("https://a%40b:p%3Aw@h.test:8443/x/y.git\n\nhttp://u:v@h\n")
    assert [(e.name, e.origin) for e in entries] == [
        ("git:https://a%40b@h.test:8443/x/y.git", "line 1"),
        ("git:http://u@h", "line 3"),
    ]
    assert entries[0].body["secret"] == "p:w"
    assert entries[0].body["username"] == "a@b"
    with pytest.raises(SourceError, match="line 2") as caught:
        parse_git_credentials("https://u:p@h\nhttps://no-password-canary@h\n")
    assert "canary" not in str(caught.value)


def test_docker_config_parse_and_rewrite() -> None:
    auth = base64.b64encode(b"u:p:with:colons").decode()
    text = json.dumps({"auths": {"r": {"auth": auth}, "s": {}}, "credsStore": "desktop"})
    [entry] = parse_docker_config(text)
    assert (entry.name, entry.body["username"], entry.body["secret"]) == (
        "docker:r",
        "u",
        "p:with:colons",
    )
    assert json.loads(docker_without(text, {"r"})) == {
        "auths": {"r": {}, "s": {}},
        "credsStore": "credd",
    }
    with pytest.raises(SourceError, match=r"auths\[r\]\.auth"):
        parse_docker_config(json.dumps({"auths": {"r": {"auth": "not base64!"}}}))


def test_detection_and_credd_json() -> None:
    assert detect("https://u:p@h\n") == "git"
    assert detect('{"auths": {}}') == "docker"
    assert detect('{"credentials": []}') == "json"
    for text in ("hello", "{}", "{broken"):
        with pytest.raises(SourceError):
            detect(text)
    [entry] = parse_credd_json(
        '{"credentials": [{"name": "n", "secret": "s", "updated_at": "x", "status": null}]}'
    )
    assert entry.body == {"secret": "s", "kind": "secret"}
    with pytest.raises(SourceError, match="secret"):
        parse_credd_json('{"credentials": [{"name": "n"}]}')
