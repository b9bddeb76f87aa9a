"""The client's HTTP/1.1 transport against a scripted server on a real AF_UNIX socket.

Each test hands the server a function that serves one connection with canned bytes, so that
framing, keep-alive, retries and malformed answers can be provoked exactly.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pytest

from credd_client import DaemonTimeout, DaemonUnavailable, Forbidden, ProtocolError
from credd_client._transport import UnixTransport

OK_EMPTY_OBJECT = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)
SECRET = b"hunter2"


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def read_request(reader: BinaryIO) -> Request | None:
    """One request as the daemon would parse it; None when the client hung up."""
    line = reader.readline()
    if not line:
        return None
    method, target, _version = line.decode().split(" ")
    headers = {}
    while (header := reader.readline()) not in (b"\r\n", b""):
        name, _, value = header.decode().partition(":")
        headers[name.lower()] = value.strip()
    return Request(method, target, headers, reader.read(int(headers.get("content-length", 0))))


@dataclass
class FakeServer:
    """Listens on `path`; `serve(server, conn, reader)` handles each connection in a thread."""

    path: str
    serve: Callable[[FakeServer, socket.socket, BinaryIO], None]
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._spawn(self._accept_loop)

    def stop(self) -> None:
        self.released.set()
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()
        assert not self.errors, self.errors

    def next_request(self, reader: BinaryIO) -> Request | None:
        request = read_request(reader)
        if request is not None:
            self.requests.append(request)
        return request

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            self._spawn(self._serve_one, conn)

    def _serve_one(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with conn, conn.makefile("rb") as reader:
                self.serve(self, conn, reader)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except BaseException as exc:  # surfaced by stop(), not lost in a thread
            self.errors.append(exc)


@pytest.fixture
def folder() -> Iterator[str]:
    """A short private folder: AF_UNIX paths are capped near 100 bytes."""
    path = tempfile.mkdtemp(prefix="cc-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_server(folder: str) -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(serve: Callable[[FakeServer, socket.socket, BinaryIO], None]) -> FakeServer:
        server = FakeServer(os.path.join(folder, "s.sock"), serve)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def transport(folder: str) -> Iterator[UnixTransport]:
    transport = UnixTransport(os.path.join(folder, "s.sock"), timeout=5)
    yield transport
    transport.close()


def answer_every_request(answer: bytes) -> Callable[[FakeServer, socket.socket, BinaryIO], None]:
    """Serve a keep-alive connection, answering each request with the same bytes."""

    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        while server.next_request(reader) is not None:
            conn.sendall(answer)

    return serve


def answer_once(answer: bytes) -> Callable[[FakeServer, socket.socket, BinaryIO], None]:
    """Answer one request, then close the connection."""

    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        if server.next_request(reader) is not None:
            conn.sendall(answer)

    return serve


# Framing


def test_content_length_answer(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    server = start_server(answer_every_request(OK_EMPTY_OBJECT))
    response = transport.request("GET", "/v1/status")
    assert (response.status, response.body) == (200, b"{}")
    assert response.headers["content-type"] == "application/json"
    [request] = server.requests
    assert (request.method, request.target) == ("GET", "/v1/status")
    assert request.headers["host"] == "localhost"
    assert request.headers["prefer"] == "wait=3"  # RFC 7240: its timeout of 5 s, less 2
    assert "content-length" not in request.headers
    assert "content-type" not in request.headers


def test_request_body_is_sent_as_json_with_its_length(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    server = start_server(answer_every_request(OK_EMPTY_OBJECT))
    transport.request("PUT", "/v1/credentials/a", b'{"kind":"secret"}', {"X-Trace": "1"})
    transport.request("POST", "/v1/lock")
    put, post = server.requests
    assert put.body == b'{"kind":"secret"}'
    assert put.headers["content-type"] == "application/json"
    assert put.headers["content-length"] == "17"
    assert put.headers["x-trace"] == "1"
    assert (post.headers["content-length"], post.body) == ("0", b"")
    assert put.headers["prefer"] == post.headers["prefer"] == "wait=3"


def test_chunked_answer_with_extensions_and_trailers(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;name=value\r\n{"a"\r\nA\r\n:"bcdefgh"\r\n1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n'
    )
    server = start_server(answer_every_request(chunked))
    assert transport.request("GET", "/v1/status").body == b'{"a":"bcdefgh"}'
    assert transport.request("GET", "/v1/status").body == b'{"a":"bcdefgh"}'
    assert server.connections == 1


def test_repeated_headers_are_joined(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    start_server(answer_once(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n"))
    assert transport.request("GET", "/").headers["x-a"] == "1, 2"


def test_answer_without_length_runs_until_close(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    server = start_server(answer_once(b"HTTP/1.1 200 OK\r\n\r\n{}"))
    assert transport.request("GET", "/v1/status").body == b"{}"
    assert transport.request("GET", "/v1/status").body == b"{}"
    assert server.connections == 2


def test_no_content_answer_has_no_body(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    server = start_server(answer_every_request(b"HTTP/1.1 204 No Content\r\n\r\n"))
    assert transport.request("DELETE", "/v1/credentials/a").body == b""
    assert transport.request("DELETE", "/v1/credentials/b").status == 204
    assert server.connections == 1


# Keep-alive and retries


def test_keep_alive_connection_is_reused(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    server = start_server(answer_every_request(OK_EMPTY_OBJECT))
    for _ in range(3):
        transport.request("GET", "/v1/status")
    assert (server.connections, len(server.requests)) == (1, 3)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    ],
)
def test_connection_close_is_honoured(
    start_server: Callable[..., FakeServer], transport: UnixTransport, answer: bytes
) -> None:
    server = start_server(answer_every_request(answer))
    transport.request("GET", "/v1/status")
    transport.request("GET", "/v1/status")
    assert server.connections == 2


def test_close_then_request_opens_a_new_connection(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    server = start_server(answer_every_request(OK_EMPTY_OBJECT))
    transport.request("GET", "/v1/status")
    transport.close()
    transport.close()
    transport.request("GET", "/v1/status")
    assert server.connections == 2


def test_idle_connection_closed_by_the_daemon_is_replaced(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    idle_closed = threading.Event()

    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        if server.next_request(reader) is not None:
            conn.sendall(OK_EMPTY_OBJECT)  # keep-alive promised, then an idle timeout
        conn.shutdown(socket.SHUT_RDWR)
        idle_closed.set()

    server = start_server(serve)
    transport.request("GET", "/v1/status")
    assert idle_closed.wait(5)
    assert transport.request("GET", "/v1/credentials").status == 200
    assert server.connections == 2
    assert [r.target for r in server.requests] == ["/v1/status", "/v1/credentials"]


def test_reused_connection_closed_before_answering_is_retried_once(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        if server.connections == 1:  # answer one request, then drop the next unanswered
            server.next_request(reader)
            conn.sendall(OK_EMPTY_OBJECT)
            server.next_request(reader)
        else:
            answer_every_request(OK_EMPTY_OBJECT)(server, conn, reader)

    server = start_server(serve)
    transport.request("GET", "/v1/status")
    assert transport.request("PUT", "/v1/credentials/a", b"{}").status == 200
    assert server.connections == 2
    assert [r.method for r in server.requests] == ["GET", "PUT", "PUT"]


def test_failure_after_the_first_answer_byte_is_not_retried(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        server.next_request(reader)
        conn.sendall(OK_EMPTY_OBJECT)
        server.next_request(reader)
        conn.sendall(b"HTTP/1.1 200")

    server = start_server(serve)
    transport.request("GET", "/v1/status")
    with pytest.raises(ProtocolError):
        transport.request("POST", "/v1/credentials/a/refresh")
    assert server.connections == 1
    assert len(server.requests) == 2


def test_new_connection_closed_without_answer_is_not_retried(
    start_server: Callable[..., FakeServer], transport: UnixTransport
) -> None:
    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        server.next_request(reader)

    server = start_server(serve)
    with pytest.raises(DaemonUnavailable, match="closed the connection without answering"):
        transport.request("GET", "/v1/status")
    assert server.connections == 1


# Malformed answers


@pytest.mark.parametrize(
    "answer",
    [
        b"hunter2\r\n\r\n",
        b"HTTP/2 200 hunter2\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\nX: hunter2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nhunter2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n hunter2: folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\nhunter2",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhunter2",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhunter2",
        b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\nhunter2",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhunter2",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x7\r\nhunter2\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhunter2\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nhunter2",
        b"HTTP/1.1 200 OK\r\n" + b"X-Hunter2: 1\r\n" * 101 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"hunter2" * 10_000 + b"\r\n\r\n",
    ],
)
def test_malformed_answer_is_a_protocol_error(
    start_server: Callable[..., FakeServer], transport: UnixTransport, answer: bytes
) -> None:
    server = start_server(answer_once(answer))
    with pytest.raises(ProtocolError, match="malformed answer from the daemon") as caught:
        transport.request("GET", "/v1/credentials/a")
    assert SECRET.decode() not in str(caught.value)
    assert server.connections == 1


def test_header_injection_is_refused_before_sending(transport: UnixTransport) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        transport.request("GET", "/v1/status", headers={"X": "1\r\nX-Evil: 1"})
    with pytest.raises(ValueError, match="space"):
        transport.request("GET", "/v1/status HTTP/1.0")


# No daemon, or not one to trust


def assert_no_daemon(error: DaemonUnavailable, path: str) -> None:
    assert f"no daemon answers on {path}" in error.message
    assert "`credd serve`" in error.message
    assert "`credd service install`" in error.message
    assert error.exit_code == 3


def test_missing_socket(folder: str) -> None:
    path = os.path.join(folder, "absent.sock")
    with pytest.raises(DaemonUnavailable) as caught:
        UnixTransport(path, timeout=1).request("GET", "/v1/status")
    assert_no_daemon(caught.value, path)


def test_missing_folder(folder: str) -> None:
    path = os.path.join(folder, "absent", "credd.sock")
    with pytest.raises(DaemonUnavailable) as caught:
        UnixTransport(path, timeout=1).request("GET", "/v1/status")
    assert_no_daemon(caught.value, path)


def test_socket_file_left_by_a_dead_daemon(folder: str) -> None:
    path = os.path.join(folder, "s.sock")
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(path)
    with pytest.raises(DaemonUnavailable) as caught:
        UnixTransport(path, timeout=1).request("GET", "/v1/status")
    assert_no_daemon(caught.value, path)


def test_daemon_with_a_full_listen_queue(folder: str) -> None:
    path = os.path.join(folder, "s.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen(0)
        waiting = []
        while True:  # fill the queue without blocking
            client = socket.socket(socket.AF_UNIX)
            client.setblocking(False)
            waiting.append(client)
            try:
                client.connect(path)
            except BlockingIOError:
                break
        try:
            with pytest.raises(DaemonUnavailable, match="too many waiting"):
                UnixTransport(path, timeout=1).request("GET", "/v1/status")
        finally:
            for client in waiting:
                client.close()


def test_daemon_that_does_not_answer_in_time(
    start_server: Callable[..., FakeServer], folder: str
) -> None:
    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        server.next_request(reader)
        server.released.wait(5)

    start_server(serve)
    transport = UnixTransport(os.path.join(folder, "s.sock"), timeout=0.2)
    with pytest.raises(DaemonTimeout, match=r"^credd did not answer within 0\.2 s") as caught:
        transport.request("GET", "/v1/status")
    assert not isinstance(caught.value, DaemonUnavailable)  # slow is not absent
    assert caught.value.exit_code == 1
    transport.close()


def test_socket_folder_others_may_write_is_refused_before_connecting(
    start_server: Callable[..., FakeServer], transport: UnixTransport, folder: str
) -> None:
    server = start_server(answer_every_request(OK_EMPTY_OBJECT))
    os.chmod(folder, 0o770)
    with pytest.raises(Forbidden, match="chmod 700"):
        transport.request("GET", "/v1/status")
    assert server.connections == 0


def test_daemon_of_another_user_is_refused_before_sending(
    start_server: Callable[..., FakeServer],
    transport: UnixTransport,
    folder: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test gives a folder to another uid and needs root (CI runs as root)")
    received: list[bytes] = []
    hung_up = threading.Event()

    def serve(server: FakeServer, conn: socket.socket, reader: BinaryIO) -> None:
        received.append(reader.read())
        hung_up.set()

    server = start_server(serve)
    # We pose as uid 4242, whose folder this is; the process on the socket runs as root.
    os.chown(folder, 4242, -1)
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    with pytest.raises(Forbidden, match="runs as uid 0, not as you"):
        transport.request("GET", "/v1/credentials/a")
    assert hung_up.wait(5)
    assert server.connections == 1
    assert received == [b""]
