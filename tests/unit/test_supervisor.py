"""The child `credd exec` supervises, under each --on-change policy, with real children.

Each child appends what it sees to a log file: the test waits for a line there, then tells
the supervisor of a change from another thread, as the watching thread does.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from credd_client.cli.supervisor import OnChange, Supervisor
from credd_client.errors import InvalidRequest

# argv[1]: the log; logs "start TOKEN", then every signal it gets; exits 3 on SIGTERM.
CHILD = r"""
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
def report(signum, frame):
    log.write(f"signal {signum}\n")
    if signum == signal.SIGTERM:
        sys.exit(3)
for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1):
    signal.signal(sig, report)
log.write(f"start {os.environ['TOKEN']}\n")
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    time.sleep(0.01)
"""
# Ignores SIGTERM: only SIGKILL ends it.
STUBBORN = r"""
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "a").write("start\n")
time.sleep(60)
"""


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def when_logged(log: Path, count: int, then: Callable[[], None]) -> threading.Thread:
    """Call ``then`` (from another thread) once the log has ``count`` lines."""

    def wait() -> None:
        deadline = time.monotonic() + 30
        while len(lines(log)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        then()

    thread = threading.Thread(target=wait)
    thread.start()
    return thread


def supervisor(log: Path, policy: str, tokens: list[str], runs_for: float = 30) -> Supervisor:
    return Supervisor(
        [sys.executable, "-c", CHILD, str(log), str(runs_for)],
        lambda: {"TOKEN": tokens[-1], "PATH": "/usr/bin:/bin"},
        OnChange.parse(policy),
        grace=5,
    )


def test_ignore_leaves_the_child_alone(tmp_path: Path) -> None:
    log = tmp_path / "log"
    running = supervisor(log, "ignore", ["one"], runs_for=1)
    helper = when_logged(log, 1, running.notify_change)
    assert running.run() == 0
    helper.join()
    assert lines(log) == ["start one"]


def test_signal_sends_the_signal(tmp_path: Path) -> None:
    log = tmp_path / "log"
    running = supervisor(log, "signal:HUP", ["one"], runs_for=2)
    helper = when_logged(log, 1, running.notify_change)
    assert running.run() == 0
    helper.join()
    assert lines(log) == ["start one", f"signal {int(signal.SIGHUP)}"]


def test_restart_stops_the_child_and_starts_it_with_the_values_of_now(tmp_path: Path) -> None:
    log = tmp_path / "log"
    tokens = ["one"]
    running = supervisor(log, "restart", tokens, runs_for=2)

    def change() -> None:
        tokens.append("two")
        running.notify_change()
        running.notify_change()  # two changes before the restart: one restart

    helper = when_logged(log, 1, change)
    assert running.run() == 0  # the second child ran to its end
    helper.join()
    assert lines(log) == ["start one", f"signal {int(signal.SIGTERM)}", "start two"]


def test_exit_stops_the_child_and_ends_with_its_status(tmp_path: Path) -> None:
    log = tmp_path / "log"
    running = supervisor(log, "exit", ["one"])
    helper = when_logged(log, 1, running.notify_change)
    assert running.run() == 3  # the child's exit code on SIGTERM
    helper.join()
    assert lines(log) == ["start one", f"signal {int(signal.SIGTERM)}"]


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log"
    running = Supervisor(
        [sys.executable, "-c", STUBBORN, str(log)],
        lambda: {"PATH": "/usr/bin:/bin"},
        OnChange.parse("exit"),
        grace=0.5,
    )
    helper = when_logged(log, 1, running.notify_change)
    started = time.monotonic()
    assert running.run() == -signal.SIGKILL
    assert time.monotonic() - started < 20
    helper.join()
    assert "did not stop within 0.5 s; killing it" in capfd.readouterr().err


def test_a_missing_command_is_127(tmp_path: Path) -> None:
    running = Supervisor(["no-such-command-credd"], dict, OnChange("ignore"))
    assert running.run() == 127


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("restart", OnChange("restart")),
        ("exit", OnChange("exit")),
        ("ignore", OnChange("ignore")),
        ("signal:HUP", OnChange("signal", signal.SIGHUP)),
        ("signal:sigusr1", OnChange("signal", signal.SIGUSR1)),
        ("signal:15", OnChange("signal", signal.SIGTERM)),
    ],
)
def test_policies_parse(text: str, expected: OnChange) -> None:
    assert OnChange.parse(text, platform="linux") == expected


@pytest.mark.parametrize(
    "text", ["", "reload", "restart:now", "signal:", "signal:NOPE", "signal:0"]
)
def test_bad_policies_are_usage_errors(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        OnChange.parse(text, platform="linux")
    assert caught.value.exit_code == 2


def test_signal_is_a_usage_error_on_windows() -> None:
    with pytest.raises(InvalidRequest, match="Windows"):
        OnChange.parse("signal:HUP", platform="win32")
    assert OnChange.parse("restart", platform="win32") == OnChange("restart")
