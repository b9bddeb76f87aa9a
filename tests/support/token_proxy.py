"""An HTTP proxy in front of a real token endpoint, switched at will to hang or to fail.

    with TokenProxy(server.issuer + "/token") as proxy:
        proxy.url                 # a credential's token_endpoint, pointed here
        proxy.mode = "hang"       # take each request and answer nothing, until release()
        proxy.mode = "503"        # answer 503 temporarily_unavailable, forward nothing
        proxy.mode = "pass"       # forward to the real endpoint (the default)
        proxy.release()           # drop every held request: the connection closes, no answer
        proxy.hanging             # requests held right now
        proxy.exchanges           # every forwarded request: when, which refresh token, answer
        proxy.on_answer = f       # called once the real server has answered, before the
                                  # answer is passed on (to kill the daemon in that window)

A held request was never forwarded, so the refresh token it carries is still good at the
server; credd cannot know that (a request out with no answer may have been taken) and must
treat it as an unknown outcome. `exchanges` let a soak see a refresh token presented again
after the server answered it (which revokes the grant) and when that answer came.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qs

import httpx

Mode = Literal["pass", "hang", "503"]
_FORWARDED_HEADERS = ("content-type", "authorization", "accept")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client gone mid-answer (a daemon killed while waiting): no traceback


@dataclass
class Exchange:
    """A request forwarded to the real endpoint (times are `time.monotonic()`)."""

    sent: float
    presented: str | None  # the refresh token in the request, if any
    answered: float | None = None
    status: int | None = None
    issued: str | None = None  # the refresh token in a 200 answer, if any


class TokenProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode: Mode = "pass"
        self.requests = 0  # every request that arrived, whatever became of it
        self.forwarding = 0  # forwarded, answer not back yet
        self.exchanges: list[Exchange] = []
        self.on_answer: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self._held: list[threading.Event] = []
        self._http = httpx.Client(timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._handle(self, body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: nothing of a request reaches a log

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    @property
    def hanging(self) -> int:
        with self._lock:
            return len(self._held)

    def __enter__(self) -> TokenProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def release(self) -> None:
        """Let every held request go: its connection closes with no answer."""
        with self._lock:
            held, self._held = self._held, []
        for event in held:
            event.set()

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.requests += 1
            mode = self.mode
        if mode == "hang":
            event = threading.Event()
            with self._lock:
                self._held.append(event)
            event.wait()
            handler.close_connection = True
            return  # nothing written: the client sees the connection close
        if mode == "503":
            self._answer(handler, 503, b'{"error":"temporarily_unavailable"}')
            return
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() in _FORWARDED_HEADERS
        }
        presented = parse_qs(body.decode("latin-1")).get("refresh_token", [None])[0]
        exchange = Exchange(time.monotonic(), presented)
        with self._lock:
            self.forwarding += 1
            self.exchanges.append(exchange)
        try:
            response = self._http.post(self.upstream, content=body, headers=headers)
            exchange.status = response.status_code
            exchange.answered = time.monotonic()
            if response.status_code == 200:
                issued = json.loads(response.content).get("refresh_token")
                exchange.issued = issued if isinstance(issued, str) else None
        finally:
            with self._lock:
                self.forwarding -= 1
        hook = self.on_answer
        if hook is not None:
            hook()
        self._answer(handler, response.status_code, response.content)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the client is gone (a daemon killed while waiting): nothing to do
            handler.close_connection = True


_KEPT = (
    "kind",
    "secret",
    "username",
    "labels",
    "client_id",
    "client_secret",
    "token_endpoint_auth_method",
    "refresh_token",
    "expires_at",
    "scope",
)


def route_through(socket: str, name: str, token_endpoint: str) -> None:
    """Point an oauth2 credential (after `credd login`) at another token endpoint."""
    from credd_client import Client

    with Client(socket) as client:
        credential = client.get(name, include=("refresh_token", "client_secret"))
        values = {key: getattr(credential, key) for key in _KEPT}
        body = {key: value for key, value in values.items() if value is not None}
        client.put(name, {**body, "token_endpoint": token_endpoint})
