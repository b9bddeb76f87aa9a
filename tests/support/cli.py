"""Run the real `credd` command (the installed console script) in a test's environment."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping


def credd(
    env: Mapping[str, str], *args: str, input: str | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None, "the credd console script is not installed in this venv"
    return subprocess.run(
        [program, *args],
        env=dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
