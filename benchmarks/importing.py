"""`credd import` of a big git-credentials file, against one durable commit of the same store.

The baseline is what an import must do at least: seal the credentials it carries into the
store and write that once, durably (credd's own code, in this process, no request and no
parsing). The whole `credd import` process is timed, start to exit, with `--remove-source`.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .environment import BIN, Environment
from .latency import SECRET
from .scale import build_store
from .stats import Sample, median_iqr
from .table import Row, ratio

TRIALS = 3


def git_credentials(count: int) -> str:
    return "".join(f"https://user{i}:{SECRET}-{i}@host{i}.example/repo{i}\n" for i in range(count))


class _AddParsed:
    """The store change the import makes: the file's credentials, parsed once beforehand."""

    def __init__(self, text: str) -> None:
        from credd.cli.import_sources import parse_git_credentials
        from credd.store.records import Credential

        self.credentials = {
            entry.name: Credential(
                name=entry.name,
                kind="secret",
                secret=entry.body["secret"],
                username=entry.body["username"],
                labels=entry.body["labels"],
            )
            for entry in parse_git_credentials(text)
        }

    def apply(self, state: object) -> object:
        from credd.store.records import StoreState

        assert isinstance(state, StoreState)
        return StoreState(credentials={**state.credentials, **self.credentials})


def time_import(env: Environment, text: str) -> float:
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    source = Path(credd_env["CREDD_HOME"], "git-credentials")
    source.write_text(text)
    source.chmod(0o600)
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "credd"), "import", str(source), "--remove-source"],
        env=credd_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=3600,
        check=False,
    )
    elapsed = time.perf_counter() - start
    daemon.stop()
    if done.returncode != 0 or source.exists():
        raise RuntimeError(f"credd import failed (exit {done.returncode}): {done.stderr[-500:]!r}")
    return elapsed


def time_one_commit(env: Environment, change: _AddParsed) -> float:
    credd_env = env.credd_env()
    start = time.perf_counter()
    build_store(credd_env, change)
    return time.perf_counter() - start


def run(env: Environment) -> list[Row]:
    count = env.sizes.credentials
    text = git_credentials(count)
    change = _AddParsed(text)
    imports, commits = [], []
    for _ in range(TRIALS):  # interleaved: both see the same disk and the same load
        imports.append(time_import(env, text))
        commits.append(time_one_commit(env, change))
    credd, baseline = Sample.of(imports), Sample.of(commits)
    return [
        Row(
            f"`credd import` of a {count:,}-line git-credentials file (--remove-source)",
            f"{median_iqr(credd)} ({count / credd.p50:,.0f} credentials/s)",
            f"one durable commit of the same {count:,} credentials, in-process: "
            f"{median_iqr(baseline)}",
            ratio(credd.p50, baseline.p50),
            "< 10 s",
            credd.p50 < 10.0,
        )
    ]
