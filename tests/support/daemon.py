"""The real daemon, `python -m credd serve`, as a child process of the tests.

    with DaemonProcess(home, socket, env) as daemon:   # ready: GET /v1/status answered 200
        ...
        assert daemon.stop() == 0

Its output goes to ``home / "daemon.log"`` (0600). It is stopped by pid. Readiness is checked
with a few bytes of HTTP written here on a raw AF_UNIX socket, so this module depends on
nothing in the project.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket as socketlib
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType


def raw_request(
    socket_path: Path, method: str, path: str, body: bytes = b"", timeout: float = 5.0
) -> tuple[int, bytes]:
    """One HTTP/1.1 request over the Unix socket: (status, body). Raises OSError."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if body:
        head += "Content-Type: application/json\r\n"
    with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path))
        # A server that answers early (413) and closes: its answer is still readable.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head.encode() + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line, _, rest = response.partition(b"\r\n")
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP response: {response[:200]!r}")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(parts[1]), payload


class DaemonProcess:
    """``credd serve`` with CREDD_HOME=home and CREDD_SOCKET=socket, started and stopped by pid."""

    def __init__(
        self,
        home: Path,
        socket: Path,
        env: Mapping[str, str],
        extra_args: Sequence[str] = (),
    ) -> None:
        self.home = home
        self.socket = socket
        self.env = {**env, "CREDD_HOME": str(home), "CREDD_SOCKET": str(socket)}
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.args = [sys.executable, "-m", "credd", "serve", *extra_args]
        self.log_path = home / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        # Set once the test (or a fixture) asked for the end: stop() or kill().
        self.stopped = False

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the daemon was not started"
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 15.0) -> DaemonProcess:
        """Start the daemon and wait until it answers GET /v1/status with 200."""
        assert self.proc is None, "already started"
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.home,
            )
        finally:
            os.close(log_fd)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Poll the socket until this daemon (its pid, when it reports one) answers 200."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            code = self.proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"credd serve exited with {code} before it was ready\n--- daemon.log ---\n"
                    f"{self.log_text()}"
                )
            try:
                status, body = raw_request(self.socket, "GET", "/v1/status", timeout=2.0)
            except OSError as exc:
                last = repr(exc)
            else:
                if status == 200 and self._reports_our_pid(body):
                    return
                last = f"HTTP {status}: {body[:500]!r}"
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"credd serve was not ready after {timeout} s (last: {last})\n"
                    f"--- daemon.log ---\n{self.log_text()}"
                )
            time.sleep(0.05)

    def _reports_our_pid(self, body: bytes) -> bool:
        # Another daemon answering on the same socket must not pass for this one.
        try:
            pid = json.loads(body).get("pid")
        except (ValueError, AttributeError):
            return True
        return pid is None or pid == self.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``sig`` and wait; SIGKILL after ``timeout`` seconds. Returns the exit code."""
        assert self.proc is not None, "the daemon was not started"
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode

    def kill(self) -> int:
        """SIGKILL: the daemon gets no chance to clean up (a crash)."""
        return self.stop(signal.SIGKILL)

    def __enter__(self) -> DaemonProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            self.stop()
