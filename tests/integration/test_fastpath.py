"""The hot reads answered before FastAPI give, byte for byte, what the app itself gives.

A plain `GET /v1/credentials/{name}` takes the fast path; the same request with an empty
`?include=` goes through FastAPI's route. A list takes the fast path with or without its
`?fields=`, and the route with a `Content-Length` (a GET with a body header never takes the
fast path). Every answer (headers and body) must be the same.
"""

from __future__ import annotations

import contextlib
import json
import socket as socketlib
from pathlib import Path

import pytest

from credd_client import Client
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration


def whole_response(socket_path: Path, target: str, *, routed: bool = False) -> bytes:
    """The raw answer; ``routed`` adds an empty body's header, which the fast path leaves alone."""
    length = "Content-Length: 0\r\n" if routed else ""
    request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{length}\r\n"
    with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(socket_path))
        sock.sendall(request.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/credentials/fast%2Fname",  # found
        "/v1/credentials/ok%20%E2%98%83",  # found, non-ASCII
        "/v1/credentials/missing",  # not_found, from the service
        "/v1/credentials/a%0Ab",  # invalid_request, from the name check
        "/v1/credentials/" + "a" * 257,  # invalid_request: too long
        "/v1/credentials/%FF",  # invalid_request: not UTF-8
        "/v1/credentials/x/refresh",  # GET takes the whole rest as the name
    ],
)
def test_fast_and_routed_answers_are_identical(daemon: DaemonProcess, path: str) -> None:
    with Client(str(daemon.socket)) as client:
        client.set_secret("fast/name", "s3cret-value", username="me", labels={"k": "v"})
        client.set_secret("ok ☃", "other")
    fast = whole_response(daemon.socket, path)
    routed = whole_response(daemon.socket, path + "?include=")
    assert fast.startswith(b"HTTP/1.1 ")
    assert fast == routed


LIST_TARGETS = [
    "/v1/credentials",
    "/v1/credentials?fields=name,kind,username,status",
    "/v1/credentials?fields=labels%2Cversion",
]


def test_the_list_matches_the_app_after_changes(daemon: DaemonProcess) -> None:
    with Client(str(daemon.socket)) as client:
        for step in range(3):
            client.set_secret(f"n{step} ☃", "v", username="me", labels={"step": str(step)})
            client.set_secret("n0 ☃", f"changed {step}", username=f"user{step}")
            if step == 2:
                client.delete("n1 ☃")
            for target in LIST_TARGETS:
                fast = whole_response(daemon.socket, target)
                assert fast == whole_response(daemon.socket, target, routed=True)
        client.lock()
        for target in LIST_TARGETS:
            fast = whole_response(daemon.socket, target)
            assert fast == whole_response(daemon.socket, target, routed=True)
            assert b" 423 " in fast.split(b"\r\n", 1)[0]


def test_status_and_locked_answers_match_the_app(daemon: DaemonProcess) -> None:
    with Client(str(daemon.socket)) as client:
        client.set_secret("name", "value")
        client.lock()
        locked_fast = whole_response(daemon.socket, "/v1/credentials/name")
        locked_routed = whole_response(daemon.socket, "/v1/credentials/name?include=")
        assert locked_fast == locked_routed
        assert b" 423 " in locked_fast.split(b"\r\n", 1)[0]
        client.unlock()
    status = whole_response(daemon.socket, "/v1/status")
    assert status.startswith(b"HTTP/1.1 200 ")
    assert b'"locked":false' in status


def test_a_get_with_a_body_goes_through_the_guards(daemon: DaemonProcess) -> None:
    body = b"x" * (1024 * 1024 + 1)
    head = (
        f"GET /v1/credentials/name HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(daemon.socket))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + body)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    answer = b"".join(chunks)
    assert answer.split(b" ", 2)[1] == b"413"
    assert b"payload_too_large" in answer


def test_a_list_of_chosen_fields_is_the_full_list_narrowed(daemon: DaemonProcess) -> None:
    with Client(str(daemon.socket)) as client:
        client.set_secret("a ☃", "v", username="me", labels={"k": "v"})
        client.set_secret("b", "w")
        full = client.list()
        rows = client.list_fields("name", "username", "kind", "status")
    assert rows == [(c.name, c.username, c.kind, None) for c in full]
    answer = whole_response(daemon.socket, "/v1/credentials?fields=name,name,%20username")
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body == {
        "credentials": [{"name": "a ☃", "username": "me"}, {"name": "b", "username": None}]
    }


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        ("fields=secret", "not secret"),
        ("fields=name,refresh_token", "not refresh_token"),
        ("fields=client_secret", "not client_secret"),
        ("fields=nosuch", "not nosuch"),
        ("fields=", "fields takes names of listed fields"),
        ("fields=name&fields=kind", "one query parameter, fields"),
        ("include=refresh_token", "one query parameter, fields"),
        ("fields=%FF", "fields takes names of listed fields"),
        ("fields=name&", "malformed query"),
    ],
)
def test_a_list_refuses_secret_or_unknown_fields(
    daemon: DaemonProcess, query: str, refusal: str
) -> None:
    with Client(str(daemon.socket)) as client:
        client.set_secret("a", "the-secret-value")
    for routed in (False, True):
        answer = whole_response(daemon.socket, "/v1/credentials?" + query, routed=routed)
        assert answer.split(b" ", 2)[1] == b"400"
        assert b'"invalid_request"' in answer
        assert refusal.encode() in answer
        assert b"the-secret-value" not in answer
