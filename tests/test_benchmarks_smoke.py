"""The benchmarks cannot rot: `python -m benchmarks --quick` runs them all at tiny sizes.

No time is asserted (speed belongs to the benchmarks' own table); only that every benchmark
ran against the real components and the table came out whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.table import COLUMNS

from tests.support.requirements import require_program

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_quick_run_prints_the_whole_table() -> None:
    for program in (
        "dbus-daemon",
        "gnome-keyring-daemon",
        "dbus-send",
        "secret-tool",
        "git",
        "sshd",
        "ssh",
        "ssh-agent",
        "ssh-add",
    ):
        require_program(program)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDD_")}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    metrics = [
        line.split(" | ")[0].removeprefix("| ") for line in lines[2:] if line.startswith("|")
    ]
    for expected in (
        "get, client in-process, persistent connection",
        "get, JVM client in-process (warm JVM), persistent connection",
        "get, Node client (credd-client) in-process, persistent connection",
        "`credd get NAME`, whole process",
        "`git-credential-credd get`, whole process",
        "Go `git-credential-credd get`, whole process",
        "daemon memory (RSS), idle after start",
        "`import credd_client` (fresh interpreter)",
    ):
        assert expected in metrics
    assert any(m.startswith("throughput,") for m in metrics)
    assert any("OAuth credentials expiring within" in m for m in metrics)
    assert any("durable writes in a row" in m for m in metrics)
    assert any(m.endswith("daemon start to first answer") for m in metrics)
    assert "get through a view (local socket), persistent connection" in metrics
    assert any(m.startswith("get through an SSH forward of a view") for m in metrics)
    assert any(
        m.endswith("views with a connection each, made and removed 4 times") for m in metrics
    )
    assert any(m.startswith("SSH sign, ed25519") for m in metrics)
    assert any(m.startswith("`ssh -o BatchMode=yes") for m in metrics)
    assert any(m.startswith("credd exec --file: PUT sent to the new file content") for m in metrics)
    assert any(m.startswith("event latency,") and "watchers" in m for m in metrics)
    assert any(m.startswith("daemon RSS with") and "watchers open" in m for m in metrics)
