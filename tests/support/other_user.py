"""Other users, root only: a snippet of Python run as nobody through `setpriv`, and a
throwaway local account (`ThrowawayUser`) made with useradd for one test."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest

from tests.support.requirements import require_program

NOBODY = 65534
# The system interpreter: the venv's may live under /root, which nobody cannot enter.
SYSTEM_PYTHON = "/usr/bin/python3"


def python_as_nobody(code: str, *args: str) -> list[str]:
    """The command line that runs ``code`` as nobody; fails the test without root."""
    if os.geteuid() != 0:
        pytest.fail(
            "this test switches to another uid with setpriv and needs root (CI runs as root)"
        )
    setpriv = require_program("setpriv")
    return [
        setpriv,
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        SYSTEM_PYTHON,
        "-I",
        "-c",
        code,
        *args,
    ]


def run_as_nobody(code: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        python_as_nobody(code),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd="/",
    )


# Throwaway accounts take a free uid here; their names start with the caller's prefix.
THROWAWAY_UIDS = range(61150, 61200)


class ThrowawayUser:
    """A local account for one test, with ``home`` (0700, its own) and a shell, that sshd
    admits with a key: `useradd` leaves the password locked (`!`), which sshd refuses without
    PAM even for keys, hence `usermod -p '*'`. Removed on exit, with its home."""

    def __init__(self, home: Path, prefix: str = "cduser") -> None:
        self.home = home
        self.name = f"{prefix}{secrets.token_hex(3)}"
        self.uid = -1
        self._made = False

    def own(self, path: Path) -> Path:
        """Give ``path`` to this user (a file the test put in its home); returns it."""
        os.chown(path, self.uid, self.uid)
        return path

    def __enter__(self) -> ThrowawayUser:
        if os.geteuid() != 0:
            pytest.fail(
                "this test makes a local user with useradd and needs root (CI runs as root)"
            )
        for program in ("useradd", "userdel", "usermod"):
            require_program(program)
        taken = {entry.pw_uid for entry in pwd.getpwall()}
        self.uid = next(uid for uid in THROWAWAY_UIDS if uid not in taken)
        try:
            subprocess.run(
                [
                    "useradd",
                    "-M",
                    "-d",
                    str(self.home),
                    "-u",
                    str(self.uid),
                    "-U",
                    "-s",
                    "/bin/sh",
                    self.name,
                ],
                check=True,
                capture_output=True,
            )
            self._made = True
            subprocess.run(["usermod", "-p", "*", self.name], check=True, capture_output=True)
            self.home.mkdir(mode=0o700)
            self.own(self.home)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._made:
            # userdel refuses a user that still runs a process (an sshd session closing, a
            # daemon its client started): those are this test's, ended by pid.
            for _ in range(20):
                deleted = subprocess.run(["userdel", self.name], capture_output=True, check=False)
                if deleted.returncode == 0:
                    break
                for pid in self._processes():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.1)
            else:
                raise RuntimeError(f"userdel {self.name}: {deleted.stderr.strip()}")
            self._made = False
        shutil.rmtree(self.home, ignore_errors=True)

    def _processes(self) -> list[int]:
        """The pids running as this user (their real uid: /proc/PID itself belongs to root
        for a process that is not dumpable, as a credd daemon is)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, StopIteration):
                status = (entry / "status").read_text()
                uids = next(line for line in status.splitlines() if line.startswith("Uid:"))
                if int(uids.split()[1]) == self.uid:
                    pids.append(int(entry.name))
        return pids
