"""Other users, root only: a snippet of Python run as nobody through `setpriv`, and a
throwaway local account (`ThrowawayUser`) made with useradd for one test."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
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
            subprocess.run(["userdel", self.name], capture_output=True, check=False)
            self._made = False
        shutil.rmtree(self.home, ignore_errors=True)
