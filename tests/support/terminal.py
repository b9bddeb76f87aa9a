"""Run a command on a pseudo-terminal, answering its prompts: `script` gives it one.

`script -qec CMD /dev/null` runs CMD with a new pty as its controlling terminal and relays
our pipes to it, so `getpass` sees a real terminal (echo off, /dev/tty). getpass flushes the
terminal's input when it prompts, so each answer is written only once its prompt appeared.
"""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence

from tests.support.requirements import require_program


def _read_until(
    proc: subprocess.Popen[bytes], output: bytearray, wanted: bytes, deadline: float
) -> bool:
    """Read the command's output until ``wanted`` appears (True) or it ends (False)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while wanted not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {wanted!r} on the terminal; so far: {bytes(output)!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                return False
            output.extend(chunk)
    return True


def run_on_terminal(
    argv: Sequence[str],
    env: Mapping[str, str],
    answers: Sequence[tuple[str, str]],
    timeout: float = 60.0,
) -> tuple[int, str]:
    """Run ``argv`` on a pty; for each (prompt, answer), wait for the prompt and type the
    answer and Enter. Returns the exit code and everything the terminal showed."""
    script = require_program("script")
    proc = subprocess.Popen(
        [script, "-q", "-e", "-c", shlex.join(argv), "/dev/null"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
    )
    assert proc.stdin is not None
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        for prompt, answer in answers:
            if not _read_until(proc, output, prompt.encode(), deadline):
                break
            proc.stdin.write(answer.encode() + b"\r")
            proc.stdin.flush()
        _read_until(proc, output, b"\0never\0", deadline)  # to the end
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        if proc.stdout is not None:
            proc.stdout.close()
    return code, output.decode(errors="replace")
