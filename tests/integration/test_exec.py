"""`credd exec` with a child that reports what it sees: its environment, its files, its own
and its parent's command line, the signals it gets."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

SECRET = "exec-canary-7f3a9c"
OTHER = "file-canary-41b2"

# Prints, as JSON, what the child sees; argv[1] is the file to read.
REPORT = r"""
import json, os, stat, sys
path = sys.argv[1]
def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode(errors="replace")
print(json.dumps({
    "env": os.environ.get("TOKEN"),
    "file": open(path).read(),
    "file_mode": stat.S_IMODE(os.stat(path).st_mode),
    "folder_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
    "cmdline": cmdline("self"),
    "parent_cmdline": cmdline(os.getppid()),
    "parent_environ": open(f"/proc/{os.getppid()}/environ", "rb").read().decode(errors="replace"),
}))
"""


@pytest.fixture
def env(headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]) -> dict[str, str]:
    assert credd(headless_credd_env, "set", "tok", input=SECRET).returncode == 0
    assert credd(headless_credd_env, "set", "cfg", input=OTHER).returncode == 0
    return headless_credd_env


def run_exec(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return credd(env, "exec", *args)


def test_env_and_file_reach_the_child_only(env: dict[str, str]) -> None:
    home = Path(env["HOME"])
    result = run_exec(
        env,
        "--env",
        "TOKEN=tok",
        "--file",
        "~/new/deeper/secret.txt=cfg",
        "--",
        sys.executable,
        "-c",
        REPORT,
        str(home / "new" / "deeper" / "secret.txt"),
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["env"] == SECRET
    assert seen["file"] == OTHER
    assert (seen["file_mode"], seen["folder_mode"]) == (0o600, 0o700)
    # Neither process's arguments hold a secret, nor credd's own environment.
    for cmdline in (seen["cmdline"], seen["parent_cmdline"], seen["parent_environ"]):
        assert SECRET not in cmdline
        assert OTHER not in cmdline
    assert "exec" in seen["parent_cmdline"]  # the parent is credd exec itself
    # The file and the folders made for it are gone.
    assert not (home / "new").exists()


def test_exit_codes(env: dict[str, str], short_tmp: Path) -> None:
    assert run_exec(env, "--env", "T=tok", "--", "sh", "-c", "exit 7").returncode == 7
    missing = run_exec(env, "--", "no-such-program-credd")
    assert missing.returncode == 127
    assert "no-such-program-credd" in missing.stderr
    not_executable = short_tmp / "plain.txt"
    not_executable.write_text("#!/bin/sh\n")
    assert run_exec(env, "--", str(not_executable)).returncode == 126
    killed = run_exec(env, "--env", "T=tok", "--", "sh", "-c", "kill -TERM $$")
    assert killed.returncode == -signal.SIGTERM


def test_a_missing_credential_is_named_and_nothing_runs(
    env: dict[str, str], short_tmp: Path
) -> None:
    marker = short_tmp / "ran"
    result = run_exec(env, "--env", "A=tok", "--env", "B=absent-one", "--", "touch", str(marker))
    assert result.returncode == 4
    assert "absent-one" in result.stderr
    assert not marker.exists()
    no_daemon = {**env, "CREDD_SOCKET": str(short_tmp / "nothing.sock")}
    assert run_exec(no_daemon, "--env", "A=tok", "--", "touch", str(marker)).returncode == 3
    assert not marker.exists()


def test_collisions_and_bad_mappings_are_usage_errors(env: dict[str, str], short_tmp: Path) -> None:
    home = env["HOME"]
    cases = [
        ("--env", "A=tok", "--env", "A=cfg"),
        ("--file", "~/x=tok", "--file", f"{home}/./sub/../x=cfg"),
        ("--env", "NOEQUALS"),
        ("--file", "=tok"),
    ]
    (short_tmp / "link").symlink_to(home)
    cases.append(("--file", "~/y=tok", "--file", f"{short_tmp}/link/y=cfg"))
    for case in cases:
        result = run_exec(env, *case, "--", "true")
        assert result.returncode == 2, (case, result.stderr)
        assert SECRET not in result.stderr
    assert not Path(home, "x").exists()


def test_existing_files_are_kept_unless_asked(env: dict[str, str]) -> None:
    target = Path(env["HOME"]) / "existing"
    target.write_text("mine")
    refused = run_exec(env, "--file", f"{target}=tok", "--", "true")
    assert refused.returncode == 2
    assert target.read_text() == "mine"
    kept = run_exec(env, "--keep-files", "--file", f"{target}=tok", "--", "true")
    assert kept.returncode == 0
    assert target.read_text() == SECRET
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


CHILD_WAITS = r"""
import os, signal, sys, time
def report(signum, frame):
    print(f"got {signum}", flush=True)
    if signum == signal.SIGTERM:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
for sig in (signal.SIGUSR1, signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, report)
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_signals_are_forwarded_and_the_childs_death_is_ours(env: dict[str, str]) -> None:
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None
    with subprocess.Popen(
        [program, "exec", "--env", "TOKEN=tok", "--", sys.executable, "-c", CHILD_WAITS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # no terminal: keyboard signals are forwarded too
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
            for sig in (signal.SIGUSR1, signal.SIGHUP, signal.SIGINT):
                proc.send_signal(sig)
                assert proc.stdout.readline() == f"got {int(sig)}\n"
            proc.send_signal(signal.SIGTERM)
            assert proc.stdout.readline() == f"got {int(signal.SIGTERM)}\n"
            assert proc.wait(30) == -signal.SIGTERM
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


SPLIT_WRITER = r"""
import os, sys, time
secret, other = sys.argv[1], sys.argv[2]
for fd, value in ((1, secret), (2, other)):
    half = len(value) // 2
    os.write(fd, b"before " + value[:half].encode())
    time.sleep(0.05)
    os.write(fd, value[half:].encode() + b" after\n")
os.write(1, ("x" * 100000 + secret + "\n").encode())
sys.exit(3)
"""


def test_mask_replaces_secrets_even_split_across_writes(env: dict[str, str]) -> None:
    # The child learns the values from the environment and the file, not from credd's
    # arguments: the test passes them to the child only to print them.
    result = credd(
        env,
        "exec",
        "--mask",
        "--env",
        "TOKEN=tok",
        "--env",
        "CFG=cfg",
        "--",
        sys.executable,
        "-c",
        SPLIT_WRITER,
        SECRET,
        OTHER,
    )
    assert result.returncode == 3
    assert SECRET not in result.stdout
    assert OTHER not in result.stderr
    assert result.stdout.startswith("before <concealed by credd> after\n")
    assert result.stdout.endswith("x" * 100000 + "<concealed by credd>\n")
    assert result.stderr == "before <concealed by credd> after\n"


def test_without_mask_output_passes_untouched(env: dict[str, str]) -> None:
    result = run_exec(env, "--env", "TOKEN=tok", "--", "sh", "-c", 'printf "%s" "$TOKEN"')
    assert (result.returncode, result.stdout) == (0, SECRET)
    assert os.environ.get("TOKEN") != SECRET


def _take_controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_line(master: int, deadline: float) -> str:
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no line from the terminal in time (got {data!r})"
        ready, _, _ = select.select([master], [], [], remaining)
        if ready:
            chunk = os.read(master, 1)
            assert chunk, "the terminal closed"
            data += chunk
    return data.decode().rstrip("\r\n")


def test_ctrl_c_at_a_terminal_reaches_the_command_and_credd_survives(env: dict[str, str]) -> None:
    """At a terminal the keyboard's SIGINT goes to credd and the command alike: the command
    gets it, credd survives it (and does not pass a second one on: not provable here, as the
    kernel merges a signal sent while the same one is pending), and goes on forwarding what
    is sent to it alone, then dies of the command's signal."""
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None
    master, slave = os.openpty()
    try:
        with subprocess.Popen(
            [program, "exec", "--env", "TOKEN=tok", "--", sys.executable, "-c", CHILD_WAITS],
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_controlling_terminal,  # noqa: PLW1509 - the test's own child
        ) as proc:
            os.close(slave)
            slave = -1
            deadline = time.monotonic() + 60
            try:
                assert _read_line(master, deadline) == "ready"
                os.write(master, b"\x03")  # Ctrl-C
                line = _read_line(master, deadline).removeprefix("^C")  # the echo
                assert line == f"got {int(signal.SIGINT)}"
                proc.send_signal(signal.SIGUSR1)
                assert _read_line(master, deadline) == f"got {int(signal.SIGUSR1)}"
                proc.send_signal(signal.SIGTERM)
                assert _read_line(master, deadline) == f"got {int(signal.SIGTERM)}"
                assert proc.wait(30) == -signal.SIGTERM
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
