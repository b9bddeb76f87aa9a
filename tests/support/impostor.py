"""A fake daemon: a real listener run by nobody (setpriv) that records every byte it receives.

    with fake_daemon_in(short_tmp) as fake:    # listening on fake.socket, in nobody's folder
        ...                                    # point a client at it
        fake.control(fake.socket)              # PING: everything before it is recorded
        assert fake.received() == b"CONN 4\nPING\n"   # the client sent nothing

The clients (Python, Go, TypeScript, JVM) must refuse it before sending a single byte.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.other_user import NOBODY, python_as_nobody

LISTENER = """
import os, socket, sys
path, record = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o777)
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(3)
    data = b""
    try:
        while chunk := c.recv(65536):
            data += chunk
    except OSError:
        pass
    with open(record, "ab") as f:
        f.write(b"CONN %d\\n" % len(data) + data + b"\\n")
    c.close()
"""


class FakeDaemon:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "credd.sock"
        self.record = folder / "record"

    def received(self) -> bytes:
        return self.record.read_bytes() if self.record.exists() else b""

    def control(self, path: Path) -> None:
        """Send PING through ``path`` as this test and wait until the listener recorded it."""
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(path))
            sock.sendall(b"PING")
        deadline = time.monotonic() + 15
        while b"PING" not in self.received():
            assert time.monotonic() < deadline, "the fake daemon recorded nothing"
            time.sleep(0.05)


@contextlib.contextmanager
def fake_daemon_in(short_tmp: Path) -> Iterator[FakeDaemon]:
    """A FakeDaemon listening in ``short_tmp/fake`` (a folder of nobody's), until the end."""
    command = python_as_nobody(LISTENER)
    os.chmod(short_tmp, 0o711)
    folder = short_tmp / "fake"
    folder.mkdir(mode=0o700)
    os.chown(folder, NOBODY, NOBODY)
    fake = FakeDaemon(folder)
    with subprocess.Popen(
        [*command, str(fake.socket), str(fake.record)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd="/",
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            yield fake
        finally:
            proc.kill()
            proc.wait(10)
            assert proc.stdout is not None
            proc.stdout.close()
