"""`Client` and its records against a small fake daemon on a real AF_UNIX socket.

The fake speaks the daemon's wire format from the standard library's `http.server`, keeps
credentials in a dict, and can be told to answer everything with one canned reply.
"""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import credd_client
from credd_client import (
    Client,
    CreddError,
    Credential,
    DaemonUnavailable,
    InvalidRequest,
    NotFound,
    ProtocolError,
    Status,
)
from credd_client.client import encode_path_segment

STATUS = {
    "pid": 4242,
    "version": "0.1.0",
    "started_at": "2025-01-01T00:00:00Z",
    "uptime_seconds": 12.5,
    "socket": "/run/user/1000/credd/credd.sock",
    "store": {"path": "/s", "exists": True, "size": 10, "state": "ok", "error": None},
    "key_backend": {"name": "keyfile", "detail": "/k", "insecure": True, "reason": "no D-Bus"},
    "locked": False,
    "lock_reason": None,
    "credentials": {"total": 0, "by_kind": {}, "by_status": {}},
    "oauth": {"next_refresh_at": None, "failures": []},
}
HIDDEN_UNLESS_ASKED = ("refresh_token", "client_secret")
SECRET = "hunter2"


class FakeDaemon(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str) -> None:
        super().__init__(path, FakeDaemonHandler)
        self.credentials: dict[str, dict[str, Any]] = {}
        self.locked = False
        self.canned: tuple[int, bytes] | None = None
        self.targets: list[str] = []


class FakeDaemonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5
    server: FakeDaemon

    def do_GET(self) -> None:
        self.route()

    def do_PUT(self) -> None:
        self.route()

    def do_POST(self) -> None:
        self.route()

    def do_DELETE(self) -> None:
        self.route()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def route(self) -> None:
        self.server.targets.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        if self.server.canned is not None:
            self.reply(*self.server.canned)
            return
        path, _, query = self.path.partition("?")
        parts = path.split("/")
        if path == "/v1/status":
            self.reply_json(200, {**STATUS, "locked": self.server.locked})
        elif path == "/v1/credentials":
            listed = [self.public(c, ()) for c in self.server.credentials.values()]
            self.reply_json(200, {"credentials": listed})
        elif path in ("/v1/lock", "/v1/unlock"):
            self.server.locked = path == "/v1/lock"
            self.reply_json(200, {"locked": self.server.locked})
        elif parts[:3] == ["", "v1", "credentials"] and len(parts) in (4, 5):
            name = urllib.parse.unquote(parts[3], errors="strict")
            self.credential(name, parts[4:], urllib.parse.parse_qs(query), body)
        else:
            self.reply_error(404, "not_found", f"no route {self.command} {path}")

    def credential(
        self, name: str, rest: list[str], query: dict[str, list[str]], body: Any
    ) -> None:
        stored = self.server.credentials.get(name)
        if self.command == "PUT":
            stored = {"name": name, "labels": {}, **body, "created_at": "2025-01-01T00:00:00Z"}
            self.server.credentials[name] = stored
            self.reply_json(200, self.public(stored, ()))
        elif stored is None:
            self.reply_error(404, "not_found", f"no credential named {name!r}")
        elif self.command == "DELETE":
            del self.server.credentials[name]
            self.send_response(204)
            self.end_headers()
        elif self.command == "POST" and rest == ["refresh"]:
            stored["secret"] = "refreshed-access-token"
            self.reply_json(200, self.public(stored, (), with_secret=True))
        else:
            include = ",".join(query.get("include", [])).split(",")
            self.reply_json(200, self.public(stored, include, with_secret=True))

    @staticmethod
    def public(
        stored: dict[str, Any], include: Any, *, with_secret: bool = False
    ) -> dict[str, Any]:
        hidden = {key for key in HIDDEN_UNLESS_ASKED if key not in include}
        if not with_secret:
            hidden.add("secret")
        return {key: value for key, value in stored.items() if key not in hidden}

    def reply_json(self, status: int, data: Any) -> None:
        self.reply(status, json.dumps(data).encode())

    def reply_error(self, status: int, code: str, message: str) -> None:
        self.reply_json(status, {"error": {"code": code, "message": message}})

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def daemon() -> Iterator[FakeDaemon]:
    folder = tempfile.mkdtemp(prefix="cc-", dir="/tmp")  # AF_UNIX paths are capped near 100
    server = FakeDaemon(os.path.join(folder, "credd.sock"))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def client(daemon: FakeDaemon) -> Iterator[Client]:
    with Client(str(daemon.server_address), timeout=5) as client:
        yield client


# The calls


def test_status(client: Client) -> None:
    status = client.status()
    assert (status.pid, status.version, status.locked) == (4242, "0.1.0", False)
    assert status.uptime_seconds == 12.5
    assert status.key_backend["name"] == "keyfile"
    assert status.insecure
    assert status.store["state"] == "ok"
    assert status.raw == STATUS
    assert "raw=" not in repr(status)


def test_set_get_list_delete(client: Client, daemon: FakeDaemon) -> None:
    stored = client.set_secret("github", SECRET, username="octocat", labels={"host": "x"})
    assert (stored.name, stored.kind, stored.secret) == ("github", "secret", None)
    assert daemon.credentials["github"]["secret"] == SECRET

    got = client.get("github")
    assert (got.secret, got.username, got.labels) == (SECRET, "octocat", {"host": "x"})
    assert got.created_at == "2025-01-01T00:00:00Z"

    [listed] = client.list()
    assert (listed.name, listed.secret) == ("github", None)

    client.delete("github")
    assert client.list() == []
    with pytest.raises(NotFound, match="no credential named 'github'"):
        client.delete("github")


def test_put_oauth2_and_ask_for_the_hidden_fields(client: Client, daemon: FakeDaemon) -> None:
    body = {
        "kind": "oauth2",
        "secret": "access",
        "token_endpoint": "https://issuer.example/token",
        "client_id": "cid",
        "client_secret": "csecret",
        "token_endpoint_auth_method": "client_secret_basic",
        "refresh_token": "rtoken",
        "expires_at": "2025-01-01T01:00:00Z",
        "scope": "read",
        "status": "ok",
    }
    client.put("api", body)
    plain = client.get("api")
    assert (plain.secret, plain.refresh_token, plain.client_secret) == ("access", None, None)
    assert plain.token_endpoint == "https://issuer.example/token"
    full = client.get("api", include=["refresh_token", "client_secret"])
    assert (full.refresh_token, full.client_secret) == ("rtoken", "csecret")
    assert client.get("api", include="refresh_token").refresh_token == "rtoken"
    assert daemon.targets[-2:] == [
        "/v1/credentials/api?include=refresh_token,client_secret",
        "/v1/credentials/api?include=refresh_token",
    ]


def test_refresh(client: Client) -> None:
    client.put("api", {"kind": "oauth2", "secret": "old"})
    assert client.refresh("api").secret == "refreshed-access-token"


def test_lock_and_unlock(client: Client, daemon: FakeDaemon) -> None:
    client.lock()
    assert daemon.locked
    assert client.status().locked
    client.unlock()
    assert not daemon.locked


def test_default_socket_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDD_SOCKET", "/nowhere/credd.sock")
    with Client() as client:
        assert client.socket_path == "/nowhere/credd.sock"


def test_no_daemon() -> None:
    with Client("/nowhere/credd.sock") as client, pytest.raises(DaemonUnavailable) as caught:
        client.status()
    assert caught.value.exit_code == 3
    assert "credd serve" in caught.value.message


# Names in paths


@pytest.mark.parametrize("name", ["", "\ud800"])
def test_names_that_cannot_be_sent(client: Client, daemon: FakeDaemon, name: str) -> None:
    with pytest.raises(InvalidRequest):
        client.get(name)
    assert daemon.targets == []


printable_names = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
        include_characters=" /%?#.+&=~",
    ),
    min_size=1,
    max_size=256,
)


@given(printable_names)
@example("a/b c")
@example("%2F?#&=+")
@example("🔑 ключ/密钥")
@example(".")
@example("..")
def test_name_encoding_matches_urllib_and_keeps_to_unreserved(name: str) -> None:
    encoded = encode_path_segment(name)
    assert urllib.parse.unquote(encoded, errors="strict") == name
    if name not in (".", ".."):
        assert encoded == urllib.parse.quote(name, safe="")
    assert set(encoded) <= set(
        "%ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    )
    assert encoded not in (".", "..")


# The fake daemon stays up across examples; each example uses names of its own.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(printable_names)
@example("a/b c%d?e#f🔑")
@example("..")
def test_every_name_round_trips_through_the_daemon(client: Client, name: str) -> None:
    assert client.set_secret(name, "s").name == name
    assert client.get(name).name == name
    client.delete(name)


# Errors


ERROR_CLASSES = [
    getattr(credd_client, n)
    for n in credd_client.__all__
    if isinstance(getattr(credd_client, n), type)
    and issubclass(getattr(credd_client, n), CreddError)
    and n != "CreddError"
]


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_envelope_becomes_its_class(
    client: Client, daemon: FakeDaemon, error_class: type[CreddError]
) -> None:
    envelope = {"error": {"code": error_class.code, "message": "what to do next"}}
    daemon.canned = (error_class.status, json.dumps(envelope).encode())
    with pytest.raises(error_class) as caught:
        client.get("x")
    assert type(caught.value) is error_class
    assert caught.value.message == "what to do next"


def test_unknown_error_code_is_a_credd_error_with_that_code(
    client: Client, daemon: FakeDaemon
) -> None:
    daemon.canned = (418, b'{"error": {"code": "teapot", "message": "short and stout"}}')
    with pytest.raises(CreddError) as caught:
        client.status()
    assert (caught.value.code, caught.value.message) == ("teapot", "short and stout")


@pytest.mark.parametrize(
    "answer",
    [
        (500, b"<html>hunter2</html>"),
        (500, b'{"detail": "hunter2"}'),
        (400, b'{"error": "hunter2"}'),
        (400, b'{"error": {"code": 1, "message": "hunter2"}}'),
        (502, b""),
        (302, b'{"location": "hunter2"}'),
    ],
)
def test_error_answer_without_the_envelope_is_a_protocol_error(
    client: Client, daemon: FakeDaemon, answer: tuple[int, bytes]
) -> None:
    daemon.canned = answer
    with pytest.raises(ProtocolError, match=f"HTTP {answer[0]}") as caught:
        client.delete("x")
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "body", [b"hunter2", b"", b'["hunter2"]', b'"hunter2"', b"\xff\xfe", b"[" * 100_000]
)
def test_success_that_is_not_a_json_object_is_a_protocol_error(
    client: Client, daemon: FakeDaemon, body: bytes
) -> None:
    daemon.canned = (200, body)
    with pytest.raises(ProtocolError, match="not a JSON object") as caught:
        client.get("x")
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        {"credentials": "hunter2"},
        {"credentials": ["hunter2"]},
        {"credentials": [{"name": "x"}]},
        {},
    ],
)
def test_malformed_list_is_a_protocol_error(
    client: Client, daemon: FakeDaemon, answer: dict[str, Any]
) -> None:
    daemon.canned = (200, json.dumps(answer).encode())
    with pytest.raises(ProtocolError) as caught:
        client.list()
    assert SECRET not in str(caught.value)


# The records


def test_credential_repr_never_shows_a_secret() -> None:
    credential = Credential.from_json(
        {
            "name": "api",
            "kind": "oauth2",
            "secret": "hunter2-access",
            "refresh_token": "hunter2-refresh",
            "client_secret": "hunter2-client",
            "future_field": "hunter2-future",
            "scope": "read",
        }
    )
    shown = repr(credential)
    assert "hunter2" not in shown
    assert "hunter2" not in str(credential)
    assert "name='api'" in shown
    assert "scope='read'" in shown
    assert credential.extra == {"future_field": "hunter2-future"}


def test_credential_round_trips_through_json() -> None:
    data = {
        "name": "api",
        "kind": "oauth2",
        "secret": "a",
        "labels": {"k": "v"},
        "expires_at": "2025-01-01T00:00:00Z",
        "new_field": [1, 2],
    }
    credential = Credential.from_json(data)
    assert credential.to_json() == data
    assert Credential.from_json(credential.to_json()) == credential
    assert credential != Credential.from_json({**data, "secret": "b"})


def test_records_are_immutable() -> None:
    credential = Credential(name="a", kind="secret", secret="s")
    with pytest.raises(AttributeError, match="immutable"):
        credential.secret = "t"
    with pytest.raises(AttributeError, match="immutable"):
        del credential.secret
    with pytest.raises(TypeError, match="unhashable"):
        hash(credential)
    assert credential.labels == {}
    assert credential == Credential(name="a", kind="secret", secret="s")


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "secret"},
        {"name": "a", "kind": 1},
        {"name": "a", "kind": "secret", "secret": ["hunter2"]},
        {"name": "a", "kind": "secret", "labels": ["hunter2"]},
        {"name": "a", "kind": "secret", "labels": {"k": 1}},
    ],
)
def test_credential_with_wrong_types_is_a_protocol_error(data: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        Credential.from_json(data)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "change",
    [
        {"pid": "4242"},
        {"pid": True},
        {"locked": None},
        {"version": None},
        {"uptime_seconds": "12"},
        {"uptime_seconds": False},
        {"key_backend": "keyfile"},
    ],
)
def test_status_with_wrong_types_is_a_protocol_error(change: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        Status.from_json({**STATUS, **change})


def test_status_tolerates_missing_reports_and_new_fields() -> None:
    status = Status.from_json({"pid": 1, "version": "9.0", "locked": True, "new": 1})
    assert (status.key_backend, status.uptime_seconds, status.insecure) == ({}, None, False)
    assert status.raw["new"] == 1


def test_get_secret_reads_a_json_answer_too(client: Client) -> None:
    """A daemon that does not answer text/plain (an older one) still gives the secret."""
    client.set_secret("n", SECRET)
    assert client.get_secret("n") == SECRET


def test_list_fields_gives_the_named_fields(client: Client) -> None:
    client.set_secret("a", SECRET, username="me")
    client.set_secret("b", SECRET)
    assert client.list_fields("name", "username", "status") == [
        ("a", "me", None),
        ("b", None, None),
    ]


def test_list_fields_refuses_a_field_that_is_not_text(client: Client, daemon: FakeDaemon) -> None:
    daemon.canned = (200, json.dumps({"credentials": [{"name": 5}]}).encode())
    with pytest.raises(ProtocolError, match="not text"):
        client.list_fields("name")
