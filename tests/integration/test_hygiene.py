"""Memory and process hygiene of the running daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.capless import capless, read_as_capless
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration


def test_the_daemon_is_not_dumpable(credd_env: dict[str, str]) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test drops capabilities with setpriv and needs root (CI runs as root)")
    # Control: the same kind of process, without the prctl, can be read by a peer.
    with subprocess.Popen(
        capless(sys.executable, "-c", "import time; time.sleep(60)"), env=credd_env
    ) as control:
        try:
            deadline = time.monotonic() + 10
            while read_as_capless(f"/proc/{control.pid}/cmdline").stdout.count("sleep") == 0:
                assert time.monotonic() < deadline, "the control process did not start"
                time.sleep(0.05)
            assert read_as_capless(f"/proc/{control.pid}/environ").returncode == 0
        finally:
            control.kill()
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    daemon = DaemonProcess(home, sock, credd_env)
    daemon.args = capless(*daemon.args)
    with daemon:
        for part in ("environ", "mem", "maps"):
            result = read_as_capless(f"/proc/{daemon.pid}/{part}")
            assert result.returncode != 0
            assert "Permission denied" in result.stderr
        limits = Path(f"/proc/{daemon.pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"]
        assert "non-dumpable" not in daemon.log_text()
        assert daemon.stop() == 0


def test_no_secret_in_the_daemons_arguments_or_environment(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    canary = "CANARY-hygiene-9e02"
    assert credd(credd_env, "set", "h", input=canary).returncode == 0
    assert credd(credd_env, "get", "h").stdout == canary + "\n"
    for part in ("cmdline", "environ"):
        assert canary.encode() not in Path(f"/proc/{daemon.pid}/{part}").read_bytes()


def test_lock_drops_every_plaintext(daemon: DaemonProcess, credd_env: dict[str, str]) -> None:
    assert credd(credd_env, "set", "h", input="x").returncode == 0
    assert credd(credd_env, "lock").returncode == 0
    status = json.loads(credd(credd_env, "status", "--json").stdout)
    assert status["locked"] is True
    assert status["credentials"]["total"] is None  # nothing left to count
    got = credd(credd_env, "get", "h")
    assert got.returncode == 1
    assert "locked" in got.stderr
    listed = credd(credd_env, "list")
    assert listed.returncode == 1
    assert credd(credd_env, "unlock").returncode == 0
    assert credd(credd_env, "get", "h").stdout == "x\n"
