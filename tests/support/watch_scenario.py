"""One scenario every client's `watch` passes against the real daemon: live events, then a
daemon restart during which the store changes, then the catch-up by versions.

The client's own test (Go, TypeScript, JVM) does its part and pytest does the daemon's:

    client test                               pytest (`drive`)
    set w/kept, w/moved, w/gone = version 1
    watch [w/kept, w/moved, w/gone, w/new]
    set w/kept: sees changed w/kept 2
    write "ready" to $CREDD_TEST_WATCH_READY  waits for it; stops the daemon; another daemon of
                                              the same store (another socket) sets w/moved (2),
                                              deletes w/gone, sets w/new (1); starts it again
    sees changed w/moved 2, deleted w/gone 1,
    changed w/new 1 (any order), then
    set w/kept: sees changed w/kept 3; exits
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from credd_client import Client
from tests.support.daemon import DaemonProcess

READY_TIMEOUT = 120.0


def drive(
    proc: subprocess.Popen[str], daemon: DaemonProcess, ready: Path, elsewhere: Path
) -> DaemonProcess:
    """Do pytest's part while the client's test runs in ``proc``; returns the new daemon."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError("the client's watch test ended before it was ready")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the client's watch test was never ready")
        time.sleep(0.05)
    started = time.monotonic()
    assert daemon.stop() == 0, daemon.log_text()
    assert time.monotonic() - started < 5.0  # an open stream does not hold the stop up
    other = DaemonProcess(daemon.home, elsewhere, daemon.env)
    with other, Client(str(elsewhere)) as client:
        client.set_secret("w/moved", "2")
        client.delete("w/gone")
        client.set_secret("w/new", "1")
    assert other.stop() == 0
    return DaemonProcess(daemon.home, daemon.socket, daemon.env).start()
