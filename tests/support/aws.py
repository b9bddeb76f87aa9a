"""A local AWS for the tests: moto's server (STS, IAM, S3), and a proxy that breaks it.

    with MotoServer(auth_after=5) as moto:       # signature and policy checks after 5 calls
        moto.url                                 # http://127.0.0.1:PORT
    with FaultProxy(moto.url) as proxy:          # what the daemon is pointed at
        proxy.mode = "503" | "hang" | "pass"     # fail, hold every request, forward

Readiness is a TCP connect, not an HTTP probe: moto counts every request against
INITIAL_NO_AUTH_ACTION_COUNT. The server is stopped by its pid.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx

from tests.support.requirements import require_path

Mode = Literal["pass", "hang", "503"]
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class MotoServer:
    def __init__(self, log: Path, auth_after: int | None = None) -> None:
        self.port = free_port()
        self.log = log
        self.auth_after = auth_after
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> MotoServer:
        program = str(require_path(MOTO_SERVER, "moto_server (moto[server])"))
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        if self.auth_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(self.auth_after)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [program, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"moto_server did not start: {self.log.read_text()}")
            time.sleep(0.1)
        return self

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client gone mid-answer: no traceback


class FaultProxy:
    """Forwards every POST to ``upstream`` (headers but Host), or fails as ``mode`` says."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode: Mode = "pass"
        self.requests = 0
        self.bodies: list[bytes] = []  # what was forwarded (the tests look for TokenCode)
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._http = httpx.Client(timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._handle(self, body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # nothing of a request reaches a log

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.requests += 1
            mode = self.mode
        if mode == "hang":
            self._release.wait(120)
            handler.close_connection = True
            return
        if mode == "503":
            self._answer(handler, 503, b"<Error><Code>ServiceUnavailable</Code></Error>")
            return
        with self._lock:
            self.bodies.append(body)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        response = self._http.post(self.upstream + handler.path, content=body, headers=headers)
        self._answer(handler, response.status_code, response.content)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "text/xml")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            handler.close_connection = True
