"""A hot command's exit skips the interpreter's teardown, and loses nothing it printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLIENT_SOURCE = Path(__file__).resolve().parents[2] / "client"

PRINT_THEN_EXIT = """
import atexit, sys
from credd_client._exit import exit_now
atexit.register(print, "teardown ran")  # what exit_now skips
sys.stdout.write("x" * 300_000)  # more than any pipe or buffer holds at once
sys.stderr.write("a warning\\n")
exit_now(int(sys.argv[1]))
"""


def run(code: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", PRINT_THEN_EXIT, str(code)],
        env={"PYTHONPATH": str(CLIENT_SOURCE)},
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_everything_printed_arrives_and_the_code_is_kept() -> None:
    for code in (0, 4):
        result = run(code)
        assert result.returncode == code
        assert result.stdout == b"x" * 300_000  # flushed; and no teardown printed after it
        assert result.stderr == b"a warning\n"


def test_a_reader_gone_early_is_the_interpreters_to_report() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", PRINT_THEN_EXIT, "0"],
        env={"PYTHONPATH": str(CLIENT_SOURCE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader goes away: a write or the flush fails
    _, err = proc.communicate(timeout=60)
    # Reported as Python reports it (a traceback, or 120 when its own flush fails), never
    # a silent success.
    assert proc.returncode in (1, 120)
    assert b"BrokenPipeError" in err
