"""Whole processes, fork to exit: `credd get`, the git helper, and what they replace.

`credd` and the helpers run as a user's machine has them: the client installed by uv (as the
README's quick start installs it), beside an interpreter with nothing else installed; the
interpreter's own start is that same interpreter's. pip's launchers import `re` before the
entry point (uv's import nothing): one row shows what that costs, on the development venv's
`credd`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .environment import BIN, Environment
from .latency import SECRET, SERVICE, USER, keyring_backend
from .stats import Sample, median_iqr
from .table import Row, ratio

GIT_REQUEST = b"protocol=https\nhost=bench.example\n\n"
GIT_STORE = b"protocol=https\nhost=bench.example\nusername=bench\npassword=%s\n\n"


@dataclass(frozen=True)
class Command:
    """One process to time: its arguments, environment and standard input."""

    args: Sequence[str]
    env: dict[str, str]
    stdin: bytes = b""
    prints: bool = True  # it must print something, or it failed


def time_process(
    args: Sequence[str],
    env: dict[str, str],
    trials: int,
    stdin: bytes = b"",
    *,
    prints: bool = True,
) -> Sample:
    """Wall time from fork to exit; every run must succeed (and print, when it should)."""
    return time_together({"one": Command(args, env, stdin, prints)}, trials)["one"]


def time_together(commands: dict[str, Command], trials: int) -> dict[str, Sample]:
    """Each command's wall time, fork to exit, the commands taking turns: whatever else
    the machine does meanwhile weighs on all of them alike, so their ratios hold."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for trial in range(trials + 1):  # the first round warms the page cache; not counted
        for name, command in commands.items():
            elapsed = _run_once(command)
            if trial:
                samples[name].append(elapsed)
    return {name: Sample.of(times) for name, times in samples.items()}


def _run_once(command: Command) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        command.args, input=command.stdin, capture_output=True, env=command.env, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or (command.prints and not result.stdout):
        raise RuntimeError(
            f"{command.args[0]} failed ({result.returncode}): {result.stderr.decode()[-500:]}"
        )
    return elapsed


def start_git_cache(env: Environment, base: dict[str, str], folder_name: str = "git") -> str:
    """A git credential-cache daemon of our own, its socket in the run's folder, primed."""
    folder = env.root / folder_name
    folder.mkdir(mode=0o700)
    socket = str(folder / "sock")
    proc = subprocess.Popen(
        ["git", "credential-cache--daemon", socket],
        env=base,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    env.defer(_Stopped(proc))
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != b"ok":
        raise RuntimeError("git credential-cache--daemon did not start")
    proc.stdout.close()
    subprocess.run(
        ["git", "credential-cache", "--socket", socket, "--timeout", "86400", "store"],
        input=GIT_STORE % SECRET.encode(),
        env=base,
        check=True,
    )
    return socket


class _Stopped:
    """A context manager that stops a process by pid on exit."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def __enter__(self) -> _Stopped:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def run(env: Environment) -> list[Row]:
    trials = env.sizes.trials
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    from credd_client import Client

    with Client(str(daemon.socket)) as client:
        client.set_secret("bench", SECRET)
    keyring_backend().set_password(SERVICE, USER, SECRET)  # type: ignore[attr-defined]
    base = env.env
    cache_socket = start_git_cache(env, base)

    installed = env.installed_client()
    # The git helper answers from a credential it stored itself through git's protocol.
    subprocess.run(
        [installed / "git-credential-credd", "store"],
        input=GIT_STORE % SECRET.encode(),
        env=credd_env,
        check=True,
    )
    keyring_one_liner = f"import keyring; print(keyring.get_password({SERVICE!r}, {USER!r}))"
    times = time_together(
        {
            "credd": Command([str(installed / "credd"), "get", "bench"], credd_env),
            # The same answer through the full parser and the JSON credential: what the hot
            # path skips.
            "full": Command([str(installed / "credd"), "get", "--json", "bench"], credd_env),
            "pip launcher": Command([str(BIN / "credd"), "get", "bench"], credd_env),
            "git helper": Command(
                [str(installed / "git-credential-credd"), "get"], credd_env, GIT_REQUEST
            ),
            "secret-tool": Command(
                ["secret-tool", "lookup", "service", SERVICE, "username", USER], base
            ),
            "git cache": Command(
                ["git", "credential-cache", "--socket", cache_socket, "get"], base, GIT_REQUEST
            ),
            "keyring": Command([sys.executable, "-c", keyring_one_liner], base),
            "interpreter": Command([str(installed / "python"), "-c", "pass"], base, prints=False),
        },
        trials,
    )
    credd, full, pip_launcher = times["credd"], times["full"], times["pip launcher"]
    secret_tool, git_cache, one_liner = times["secret-tool"], times["git cache"], times["keyring"]
    interpreter = times["interpreter"]
    rows = [
        Row(
            "`credd get NAME`, whole process",
            median_iqr(credd),
            f"secret-tool lookup: {median_iqr(secret_tool)}",
            ratio(credd.p50, secret_tool.p50),
            "≤ 1.5x secret-tool",
            credd.p50 <= 1.5 * secret_tool.p50,
        ),
        Row(
            "`credd get NAME` (hot path) vs `credd get --json NAME`",
            median_iqr(credd),
            f"credd get --json (argparse, JSON): {median_iqr(full)}",
            ratio(credd.p50, full.p50),
        ),
        Row(
            "`credd get NAME` through pip's launcher (the development venv's, `import re`)",
            median_iqr(pip_launcher),
            f"through uv's: {median_iqr(credd)}",
            ratio(pip_launcher.p50, credd.p50),
        ),
        Row(
            "`credd get NAME` vs git's cache",
            median_iqr(credd),
            f"git credential-cache get: {median_iqr(git_cache)}",
            ratio(credd.p50, git_cache.p50),
        ),
        Row(
            "`credd get NAME` vs Python keyring",
            median_iqr(credd),
            f"python -c 'import keyring; keyring.get_password(...)': {median_iqr(one_liner)}",
            ratio(credd.p50, one_liner.p50),
            "faster than the keyring one-liner",
            credd.p50 < one_liner.p50,
        ),
    ]
    rows.append(
        Row(
            "`python -c pass`: the interpreter's own start",
            median_iqr(interpreter),
            ratio=f"`credd get` is {(credd.p50 - interpreter.p50) * 1e3:.1f} ms above it",
        )
    )
    git_helper = times["git helper"]
    rows.append(
        Row(
            "`git-credential-credd get`, whole process",
            median_iqr(git_helper),
            f"python -c pass: {median_iqr(interpreter)}; git credential-cache get: "
            f"{median_iqr(git_cache)}",
            f"+{(git_helper.p50 - interpreter.p50) * 1e3:.1f} ms over the interpreter",
            "≤ interpreter start + 10 ms",
            git_helper.p50 - interpreter.p50 <= 10e-3,
        )
    )
    return rows
