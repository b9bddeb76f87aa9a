"""Run the project's installed console scripts (`credd`, the helpers) in a test's environment."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping


def run_program(
    env: Mapping[str, str],
    program: str,
    *args: str,
    input: str | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    """One of the project's installed console scripts (credd, the helpers), found on PATH."""
    path = shutil.which(program, path=env["PATH"])
    assert path is not None, f"{program} is not installed in this venv"
    return subprocess.run(
        [path, *args],
        env=dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def credd(
    env: Mapping[str, str], *args: str, input: str | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    return run_program(env, "credd", *args, input=input, timeout=timeout)
