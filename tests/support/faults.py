"""Broken environments for the daemon: a private mount namespace, a resource limit, a
Secret Service that never answers.

    daemon = namespaced(DaemonProcess(...), "mount -t tmpfs -o size=256k,mode=0700 tmpfs {home}")
    in_namespace(daemon.pid, "mount", "-o", "remount,ro", str(home))

Mounts happen in the daemon's own mount namespace (`unshare -m`, root only), so nothing the
test does is visible to the rest of the machine, and everything ends with the daemon.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program


def need_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.fail(f"{what} needs root (CI runs as root)")


def namespaced(daemon: DaemonProcess, setup: str) -> DaemonProcess:
    """Make ``daemon`` start in a new mount namespace after the shell command ``setup``."""
    need_root("a private mount namespace")
    unshare = require_program("unshare")
    daemon.args = [
        unshare,
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        f'{setup} && exec "$@"',
        "sh",
        *daemon.args,
    ]
    return daemon


def in_namespace(pid: int, *command: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` in the mount namespace of process ``pid``."""
    nsenter = require_program("nsenter")
    result = subprocess.run(
        [nsenter, "--target", str(pid), "--mount", *command],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed ({result.returncode}): {result.stderr!r}")
    return result


def set_file_size_limit(pid: int, soft: int | str) -> None:
    """Lower (or raise back to the hard limit) the soft RLIMIT_FSIZE of a running process."""
    prlimit = require_program("prlimit")
    hard = Path(f"/proc/{pid}/limits").read_text()
    line = next(row for row in hard.splitlines() if row.startswith("Max file size"))
    hard_value = line.split()[4]
    hard_arg = "unlimited" if hard_value == "unlimited" else hard_value
    soft_arg = hard_arg if soft == "hard" else str(soft)
    subprocess.run(
        [prlimit, f"--pid={pid}", f"--fsize={soft_arg}:{hard_arg}"],
        capture_output=True,
        timeout=10,
        check=True,
    )


# A process that owns org.freedesktop.secrets on the bus, reads every call and never answers:
# a Secret Service stuck behind a prompt nobody will see.
_SILENT_SERVICE = textwrap.dedent(
    """
    import sys
    from jeepney import DBusAddress, new_method_call
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    conn = open_dbus_connection(bus="SESSION")
    reply = conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets", 4))
    print("owned", reply.body, flush=True)
    while True:
        conn.receive()  # and never a reply
    """
)


class SilentSecretService:
    """A private dbus-daemon whose org.freedesktop.secrets owner never replies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bus: subprocess.Popen[bytes] | None = None
        self.service: subprocess.Popen[str] | None = None
        self.address = f"unix:path={root / 'bus'}"

    def __enter__(self) -> SilentSecretService:
        dbus = require_program("dbus-daemon")
        self.root.mkdir(mode=0o700, exist_ok=True)
        self.bus = subprocess.Popen(
            [dbus, "--session", "--nofork", f"--address={self.address}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not (self.root / "bus").exists():
            assert time.monotonic() < deadline, "dbus-daemon did not start"
            time.sleep(0.05)
        self.service = subprocess.Popen(
            [sys.executable, "-c", _SILENT_SERVICE],
            env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.address},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.service.stdout is not None
        line = self.service.stdout.readline()
        assert line.startswith("owned (1,)"), line  # 1: the primary owner
        return self

    def __exit__(self, *exc_info: object) -> None:
        for proc in (self.service, self.bus):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        if self.service is not None and self.service.stdout is not None:
            self.service.stdout.close()
