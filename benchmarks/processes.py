"""Whole processes, fork to exit: `credd get`, the git helper, and what they replace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence

from .environment import BIN, Environment
from .latency import SECRET, SERVICE, USER, keyring_backend
from .stats import Sample, median_iqr
from .table import Row, ratio

GIT_REQUEST = b"protocol=https\nhost=bench.example\n\n"
GIT_STORE = b"protocol=https\nhost=bench.example\nusername=bench\npassword=%s\n\n"


def time_process(
    args: Sequence[str],
    env: dict[str, str],
    trials: int,
    stdin: bytes = b"",
    *,
    prints: bool = True,
) -> Sample:
    """Wall time from fork to exit; every run must succeed (and print, when it should)."""
    samples = []
    for _ in range(trials + 1):  # the first run warms the page cache; not counted
        start = time.perf_counter()
        result = subprocess.run(args, input=stdin, capture_output=True, env=env, check=False)
        elapsed = time.perf_counter() - start
        if result.returncode != 0 or (prints and not result.stdout):
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.decode()[-500:]}"
            )
        samples.append(elapsed)
    return Sample.of(samples[1:])


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
    python = sys.executable

    credd = time_process([str(BIN / "credd"), "get", "bench"], credd_env, trials)
    # The same answer through the full parser and the JSON credential: what the hot path skips.
    full = time_process([str(BIN / "credd"), "get", "--json", "bench"], credd_env, trials)
    secret_tool = time_process(
        ["secret-tool", "lookup", "service", SERVICE, "username", USER], base, trials
    )
    git_cache = time_process(
        ["git", "credential-cache", "--socket", cache_socket, "get"], base, trials, GIT_REQUEST
    )
    one_liner = time_process(
        [
            python,
            "-c",
            f"import keyring; print(keyring.get_password({SERVICE!r}, {USER!r}))",
        ],
        base,
        trials,
    )
    interpreter = time_process([python, "-c", "pass"], base, trials, prints=False)
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
            "`python3 -c pass`: the interpreter's own start",
            median_iqr(interpreter),
            ratio=f"`credd get` is {(credd.p50 - interpreter.p50) * 1e3:.1f} ms above it",
        )
    )
    rows.append(_git_helper_row(credd_env, trials, interpreter, git_cache))
    return rows


def _git_helper_row(
    credd_env: dict[str, str], trials: int, interpreter: Sample, git_cache: Sample
) -> Row:
    metric = "`git-credential-credd get`, whole process"
    goal = "≤ interpreter start + 10 ms"
    helper = shutil.which("git-credential-credd", path=str(BIN))
    if helper is None or not os.access(helper, os.X_OK):
        return Row.pending(metric, goal, "git-credential-credd is not built yet (issue 5)")
    # The helper answers from a credential it stored itself through git's protocol.
    subprocess.run([helper, "store"], input=GIT_STORE % SECRET.encode(), env=credd_env, check=True)
    sample = time_process([helper, "get"], credd_env, trials, GIT_REQUEST)
    return Row(
        metric,
        median_iqr(sample),
        f"python -c pass: {median_iqr(interpreter)}; git credential-cache get: "
        f"{median_iqr(git_cache)}",
        f"+{(sample.p50 - interpreter.p50) * 1e3:.1f} ms over the interpreter",
        goal,
        sample.p50 - interpreter.p50 <= 10e-3,
    )
