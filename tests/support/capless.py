"""Commands run with no capability at all, uid 0 or not: what an ordinary same-uid attacker
has (reading another process's /proc files, attaching a debugger). `setpriv` drops them."""

from __future__ import annotations

import subprocess

from tests.support.requirements import require_program

NO_CAPS = ("--bounding-set=-all", "--inh-caps=-all")


def capless(*command: str) -> list[str]:
    """Run ``command`` with no capabilities; `exec` from a shell so the final program is
    started without a change of credentials (which alone would make it non-dumpable)."""
    setpriv = require_program("setpriv")
    return [setpriv, *NO_CAPS, "sh", "-c", 'exec "$@"', "sh", *command]


def read_as_capless(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        capless("cat", path), capture_output=True, text=True, timeout=10, check=False
    )
