"""The Go client and the native helpers (client/go, built by `make go` into build/go/bin):
whole processes against `secret-tool lookup`, git's own cache and the Python helpers, and a get
in-process against the Python client."""

from __future__ import annotations

import json
import subprocess

from credd_client import Client

from .environment import BIN, Environment
from .latency import SECRET, SERVICE, USER, keyring_backend, timed
from .processes import GIT_REQUEST, GIT_STORE, start_git_cache, time_process
from .stats import Sample, latency, median_iqr
from .table import Row, ratio

GO_BIN = BIN.parents[1] / "build" / "go" / "bin"
DOCKER_SERVER = "bench.example"
DOCKER_STORE = json.dumps({"ServerURL": DOCKER_SERVER, "Username": USER, "Secret": SECRET})

GIT_ROW = "Go `git-credential-credd get`, whole process"
GOAL = "≤ secret-tool"


def run(env: Environment) -> list[Row]:
    programs = {name: GO_BIN / name for name in ("git-credential-credd", "docker-credential-credd")}
    getlatency = GO_BIN / "getlatency"
    if not all(path.exists() for path in (*programs.values(), getlatency)):
        return [Row.pending(GIT_ROW, GOAL, "the Go programs are not built (`make go`)")]
    trials = env.sizes.trials
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    # The credentials, stored as git and docker would (through the Python helpers).
    python_git, python_docker = BIN / "git-credential-credd", BIN / "docker-credential-credd"
    git_store = GIT_STORE % SECRET.encode()
    subprocess.run([python_git, "store"], input=git_store, env=credd_env, check=True)
    subprocess.run([python_docker, "store"], input=DOCKER_STORE.encode(), env=credd_env, check=True)
    keyring_backend().set_password(SERVICE, USER, SECRET)  # type: ignore[attr-defined]
    base = env.env
    cache_socket = start_git_cache(env, base, "git-go")

    secret_tool = time_process(
        ["secret-tool", "lookup", "service", SERVICE, "username", USER], base, trials
    )
    git_cache = time_process(
        ["git", "credential-cache", "--socket", cache_socket, "get"], base, trials, GIT_REQUEST
    )
    docker_request = DOCKER_SERVER.encode() + b"\n"
    go_git = time_process(
        [str(programs["git-credential-credd"]), "get"], credd_env, trials, GIT_REQUEST
    )
    py_git = time_process([str(python_git), "get"], credd_env, trials, GIT_REQUEST)
    go_docker = time_process(
        [str(programs["docker-credential-credd"]), "get"], credd_env, trials, docker_request
    )
    py_docker = time_process([str(python_docker), "get"], credd_env, trials, docker_request)

    count = env.sizes.requests
    timings = subprocess.run(
        [str(getlatency), "git:https://bench@bench.example", str(count)],
        env=credd_env,
        capture_output=True,
        check=True,
    )
    go_get = Sample.of([int(line) / 1e9 for line in timings.stdout.split()])
    with Client(str(daemon.socket)) as client:
        timed(lambda: client.get("git:https://bench@bench.example"), max(10, count // 10))
        py_get = timed(lambda: client.get("git:https://bench@bench.example"), count)

    return [
        Row(
            GIT_ROW,
            median_iqr(go_git),
            f"secret-tool lookup: {median_iqr(secret_tool)}",
            ratio(go_git.p50, secret_tool.p50),
            GOAL,
            go_git.p50 <= secret_tool.p50,
        ),
        Row(
            "Go `git-credential-credd get` vs git's cache",
            median_iqr(go_git),
            f"git credential-cache get: {median_iqr(git_cache)}",
            ratio(go_git.p50, git_cache.p50),
        ),
        Row(
            "Go `git-credential-credd get` vs the Python helper",
            median_iqr(go_git),
            f"Python git-credential-credd get: {median_iqr(py_git)}",
            ratio(go_git.p50, py_git.p50),
        ),
        Row(
            "Go `docker-credential-credd get`, whole process",
            median_iqr(go_docker),
            f"secret-tool lookup: {median_iqr(secret_tool)}",
            ratio(go_docker.p50, secret_tool.p50),
            GOAL,
            go_docker.p50 <= secret_tool.p50,
        ),
        Row(
            "Go `docker-credential-credd get` vs the Python helper",
            median_iqr(go_docker),
            f"Python docker-credential-credd get: {median_iqr(py_docker)}",
            ratio(go_docker.p50, py_docker.p50),
        ),
        Row(
            "get, Go client in-process, persistent connection",
            latency(go_get),
            "Python client in-process: " + latency(py_get),
            ratio(go_get.p50, py_get.p50),
        ),
    ]
