"""A loopback TCP port that forwards each connection to a Unix socket, for tools (such as
schemathesis through `requests`) that speak HTTP over TCP only.

    with UnixForwarder(socket_path) as port:
        ... http://127.0.0.1:{port}/ ...

It binds 127.0.0.1 on a free port, copies bytes both ways with one thread per direction,
and stops (closing every connection) on exit. The daemon sees the test process as its peer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from types import TracebackType


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


class UnixForwarder:
    def __init__(self, unix_path: Path) -> None:
        self.unix_path = unix_path
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._stopping = False

    def __enter__(self) -> int:
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        accept = threading.Thread(target=self._accept, name="forwarder", daemon=True)
        accept.start()
        self._threads.append(accept)
        port: int = self._server.getsockname()[1]
        return port

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(str(self.unix_path))
            except OSError:
                client.close()
                upstream.close()
                continue
            self._open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=_pump, args=(source, target), daemon=True)
                thread.start()
                self._threads.append(thread)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(10)
