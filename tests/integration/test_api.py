"""The HTTP API over the socket: names, the error envelope, limits and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credd_client import Client, InvalidRequest, NotFound
from tests.support.daemon import DaemonProcess, raw_request

pytestmark = pytest.mark.integration

ODD_NAMES = [
    "plain",
    "with/slash",
    "/leading/and/trailing/",
    "spaces in the middle ",
    "percent %2F and %%",
    "query?and#fragment",
    "ends/with/refresh",
    "refresh",
    "ünïcødé ☃ 🔑",
    "a" * 256,
    ".",
    "..",
    "tab\tis not printable? no: tabs are refused",
]


def socket_of(env: dict[str, str]) -> Path:
    return Path(env["CREDD_SOCKET"])


def error_of(body: bytes) -> dict[str, str]:
    document = json.loads(body)
    assert set(document) == {"error"}
    assert set(document["error"]) == {"code", "message"}
    assert document["error"]["message"]
    error: dict[str, str] = document["error"]
    return error


@pytest.mark.parametrize("name", [n for n in ODD_NAMES if n.isprintable()])
def test_every_valid_name_round_trips(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], name: str
) -> None:
    with Client(headless_credd_env["CREDD_SOCKET"]) as client:
        client.set_secret(name, f"value of {name}")
        assert client.get(name).secret == f"value of {name}"
        assert [c.name for c in client.list()] == [name]
        client.delete(name)
        with pytest.raises(NotFound):
            client.get(name)


def test_names_that_differ_only_in_encoding_stay_apart(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    names = ["a/b", "a%2Fb", "a", "a\\b", "A/b"]
    with Client(headless_credd_env["CREDD_SOCKET"]) as client:
        for name in names:
            client.set_secret(name, name)
        for name in names:
            assert client.get(name).secret == name
        assert sorted(c.name for c in client.list()) == sorted(names)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("foo%0A", "newline"),
        ("foo%0Abar", "newline inside"),
        ("%00", "NUL"),
        ("tab%09", "tab"),
        ("a" * 257, "too long"),
        ("%FF%FE", "not UTF-8"),
        ("", "empty"),
    ],
)
def test_invalid_names_are_refused_with_the_envelope(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], raw: str, why: str
) -> None:
    sock = socket_of(headless_credd_env)
    raw_request(sock, "PUT", "/v1/credentials/foo", json.dumps({"secret": "x"}).encode())
    for method in ("GET", "DELETE"):
        status, body = raw_request(sock, method, f"/v1/credentials/{raw}")
        assert status == 400, why
        assert error_of(body)["code"] == "invalid_request"
    # A trailing newline must not silently address "foo".
    status, _ = raw_request(sock, "GET", "/v1/credentials/foo")
    assert status == 200


def test_malformed_bodies_get_400_never_500(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    sock = socket_of(headless_credd_env)
    bodies = [
        b"{not json",
        b"[]",
        b'"a string"',
        b"{}",
        b'{"secret": 5}',
        b'{"secret": "x", "kind": "bogus"}',
        b'{"secret": "x", "unknown_field": 1}',
        b'{"secret": "x", "labels": {"a": 1}}',
        b'{"secret": "x", "kind": "oauth2"}',
        b'{"secret": "x", "client_id": "c"}',
        b'{"secret": "x", "expires_at": "2030-01-01T00:00:00"}',
        b"\xff\xfe",
    ]
    for body in bodies:
        status, answer = raw_request(sock, "PUT", "/v1/credentials/x", body)
        assert status == 400, body
        error = error_of(answer)
        assert error["code"] == "invalid_request"


def test_validation_errors_never_echo_the_value(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    canary = "canary-echo-7c1d"
    body = json.dumps({"secret": canary, "kind": "oauth2", "scope": canary * 500}).encode()
    status, answer = raw_request(socket_of(headless_credd_env), "PUT", "/v1/credentials/x", body)
    assert status == 400
    assert canary.encode() not in answer


def test_bodies_over_one_mebibyte_get_413(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    big = json.dumps({"secret": "x" * (1024 * 1024)}).encode()
    status, answer = raw_request(socket_of(headless_credd_env), "PUT", "/v1/credentials/big", big)
    assert status == 413
    assert error_of(answer)["code"] == "payload_too_large"
    just_under = json.dumps({"secret": "x" * (1024 * 1024 - 100)}).encode()
    status, _ = raw_request(socket_of(headless_credd_env), "PUT", "/v1/credentials/ok", just_under)
    assert status == 200


def test_unknown_paths_and_methods_use_the_envelope(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    sock = socket_of(headless_credd_env)
    status, body = raw_request(sock, "GET", "/nope")
    assert (status, error_of(body)["code"]) == (404, "not_found")
    status, body = raw_request(sock, "PATCH", "/v1/credentials/x")
    assert (status, error_of(body)["code"]) == (405, "method_not_allowed")
    status, body = raw_request(sock, "GET", "/v1/credentials/x?include=password")
    assert (status, error_of(body)["code"]) == (400, "invalid_request")


def test_delete_of_an_absent_credential_is_404(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    with Client(headless_credd_env["CREDD_SOCKET"]) as client, pytest.raises(NotFound):
        client.delete("never-there")


def test_openapi_document_describes_the_api(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    status, body = raw_request(socket_of(headless_credd_env), "GET", "/openapi.json")
    assert status == 200
    paths = json.loads(body)["paths"]
    assert {"/v1/status", "/v1/credentials", "/v1/credentials/{name}", "/v1/lock"} <= set(paths)


def test_client_errors_map_to_classes(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    with Client(headless_credd_env["CREDD_SOCKET"]) as client:
        with pytest.raises(InvalidRequest):
            client.put("x", {"secret": "v", "kind": "nope"})
        with pytest.raises(InvalidRequest):
            client.get("bad\nname")


def test_a_secret_keeps_its_expiry_and_refresh_token_across_a_restart(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    """git's password_expiry_utc and oauth_refresh_token, as the git helper stores them."""
    sock = socket_of(headless_credd_env)
    body = {"secret": "s", "expires_at": "2099-01-01T01:00:00+01:00", "refresh_token": "rt-9c2e"}
    status, _ = raw_request(sock, "PUT", "/v1/credentials/e", json.dumps(body).encode())
    assert status == 200
    headless_daemon.stop()
    home = Path(headless_credd_env["CREDD_HOME"])
    with DaemonProcess(home, sock, headless_credd_env):
        status, answer = raw_request(sock, "GET", "/v1/credentials/e")
        assert (status, json.loads(answer)["expires_at"]) == (200, "2099-01-01T00:00:00Z")
        assert "refresh_token" not in json.loads(answer)
        status, answer = raw_request(sock, "GET", "/v1/credentials")
        assert b"rt-9c2e" not in answer
        status, answer = raw_request(sock, "GET", "/v1/credentials/e?include=refresh_token")
        assert json.loads(answer)["refresh_token"] == "rt-9c2e"
