"""Run a snippet of Python as another uid (nobody) through `setpriv`: root only."""

from __future__ import annotations

import os
import subprocess

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
