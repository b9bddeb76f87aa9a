"""A socket where something takes every connection and never answers: a daemon alive but
stuck, for the clients' "slow is not absent" (a timeout is exit 1, not exit 3).

    with SilentDaemon(Path(env["CREDD_SOCKET"])):
        ... every request connects, is read, and times out ...

It runs in this process (so the peer check sees the user's own uid), holds every
connection open until it stops, and removes its socket file at the end.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from types import TracebackType


class SilentDaemon:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="silent-daemon", daemon=True)
        self.connections = 0

    def __enter__(self) -> SilentDaemon:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._server.bind(str(self.path))
        self._server.listen(64)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed: stopping
                return
            self._held.append(conn)  # read nothing, answer nothing, keep it open
            self.connections += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(10)
        for conn in self._held:
            conn.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
