"""A daemon that took the connection and does not answer is slow, not absent: every client
says "credd did not answer within 10 s" and exits 1 (exit 3 stays for nothing listening),
and the helpers answer as they do without a daemon, with the reason on standard error.

All the clients run at once against one silent socket, so the test waits one client
timeout (10 s), not one per client.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.silent_daemon import SilentDaemon

pytestmark = pytest.mark.integration

TIMEOUT_MESSAGE = "credd did not answer within 10 s"
NOT_FOUND = "credentials not found in native keychain\n"
KEYRING_BACKEND = "credd_client.keyring_backend.CreddKeyring"


def test_a_daemon_that_does_not_answer_is_a_failure_not_an_absence(
    headless_credd_env: dict[str, str],
) -> None:
    env = headless_credd_env

    def program(name: str) -> str:
        found = shutil.which(name, path=env["PATH"])
        assert found is not None, name
        return found

    runs = {
        "get": ([program("credd"), "get", "x"], None, env),
        "status": ([program("credd"), "status"], None, env),
        "status --json": ([program("credd"), "status", "--json"], None, env),
        "git get": (
            [program("git-credential-credd"), "get"],
            "protocol=https\nhost=h.test\n\n",
            env,
        ),
        "docker get": ([program("docker-credential-credd"), "get"], "ghcr.io\n", env),
        "keyring get": (
            [program("keyring"), "get", "svc", "user"],
            None,
            {**env, "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND},
        ),
    }
    with SilentDaemon(Path(env["CREDD_SOCKET"])) as silent:
        procs = {
            what: subprocess.Popen(
                args,
                env=run_env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for what, (args, _, run_env) in runs.items()
        }
        results = {
            what: (proc, *proc.communicate(runs[what][1], timeout=120))
            for what, proc in procs.items()
        }
        assert silent.connections >= len(runs)
    for what, (proc, out, err) in results.items():
        assert "credd serve" not in out + err, what  # not told to start one: one is there
        if what == "get":
            assert (proc.returncode, out) == (1, "")
            assert f"credd: {TIMEOUT_MESSAGE}" in err
        elif what == "status":
            assert proc.returncode == 1
            assert "credd is running but did not answer" in out
            assert TIMEOUT_MESSAGE in out
        elif what == "status --json":
            assert proc.returncode == 1
            answer = json.loads(out)
            assert answer["running"] is True
            assert answer["answered"] is False
            assert TIMEOUT_MESSAGE in answer["error"]
        elif what == "git get":
            # Nothing answered: git goes on to its other helpers or a prompt.
            assert (proc.returncode, out) == (0, "")
            assert TIMEOUT_MESSAGE in err
        elif what == "docker get":
            assert (proc.returncode, out) == (1, NOT_FOUND)
            assert TIMEOUT_MESSAGE in err
        else:
            assert proc.returncode != 0
            assert TIMEOUT_MESSAGE in err
