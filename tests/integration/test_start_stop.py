"""Daemons started at once, and a daemon stopped in the middle of writes."""

from __future__ import annotations

import os
import signal
import socket as socketlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from credd_client import Client, CreddError, DaemonUnavailable
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration


def test_daemons_started_at_once_leave_exactly_one_running(
    headless_credd_env: dict[str, str],
) -> None:
    env = headless_credd_env
    Path(env["CREDD_HOME"]).mkdir(mode=0o700)
    log = Path(env["CREDD_HOME"]) / "race.log"
    # A stale socket, as a killed daemon leaves: every starter sees it and wants to replace
    # it; only the lock around check-and-bind keeps one from unlinking another's new socket.
    stale = Path(env["CREDD_SOCKET"])
    stale.parent.mkdir(mode=0o700)
    with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as dead:
        dead.bind(str(stale))
    with log.open("wb") as output:
        daemons = [
            subprocess.Popen(
                [sys.executable, "-m", "credd", "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            for _ in range(4)
        ]
    try:
        # The losers exit by themselves; the winner keeps serving.
        deadline = time.monotonic() + 60
        while sum(daemon.poll() is not None for daemon in daemons) < 3:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        losers = [daemon.returncode for daemon in daemons if daemon.returncode is not None]
        assert losers == [1, 1, 1], log.read_text()
        running = [d for d in daemons if d.poll() is None]
        assert len(running) == 1
        assert credd(env, "set", "x", input="v").returncode == 0
        with Client(env["CREDD_SOCKET"], autostart=False) as client:
            assert client.status().pid == running[0].pid
        assert log.read_text().count("already answers on") == 3
        assert log.read_text().count("replacing the stale socket") == 1
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(30)


def test_sigterm_during_writes_loses_no_acknowledged_write(
    headless_credd_env: dict[str, str],
) -> None:
    env = headless_credd_env
    home, socket = Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"])
    acknowledged: list[str] = []
    failures: list[CreddError] = []
    started = threading.Event()

    def writer(prefix: str) -> None:
        with Client(str(socket), autostart=False) as client:
            for i in range(10_000):
                name = f"{prefix}-{i}"
                try:
                    client.set_secret(name, f"value of {name}")
                except CreddError as exc:
                    failures.append(exc)
                    return
                acknowledged.append(name)
                if len(acknowledged) >= 20:
                    started.set()

    daemon = DaemonProcess(home, socket, env).start()
    writers = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for thread in writers:
        thread.start()
    assert started.wait(60), "the writers did not get going"
    assert daemon.stop(signal.SIGTERM) == 0
    for thread in writers:
        thread.join(60)
    assert failures  # every writer saw the daemon go (and none hung)
    assert all(isinstance(exc, DaemonUnavailable) for exc in failures), failures

    with DaemonProcess(home, socket, env):
        with Client(str(socket), autostart=False) as client:
            stored = {c.name for c in client.list()}
            for name in acknowledged[-5:]:
                assert client.get(name).secret == f"value of {name}"
        assert set(acknowledged) <= stored
    assert not list(home.glob(".store.credd.*.tmp"))
    assert os.stat(home / "store.credd").st_mode & 0o777 == 0o600
