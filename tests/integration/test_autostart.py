"""Autostart: with the user's opt-in, a client that finds no daemon starts one and goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import credd

pytestmark = pytest.mark.integration


def stop_started_daemon(env: dict[str, str]) -> None:
    """Stop the daemon a client started (not our child) by its pid, and wait for it to go."""
    status = credd(env, "status", "--json")
    if status.returncode != 0:
        return
    os.kill(json.loads(status.stdout)["pid"], signal.SIGTERM)
    socket = Path(env["CREDD_SOCKET"])
    deadline = time.monotonic() + 30
    while socket.exists():  # it removes its socket last thing before exiting
        assert time.monotonic() < deadline, "the autostarted daemon did not stop"
        time.sleep(0.05)


def test_without_opt_in_no_daemon_is_started(headless_credd_env: dict[str, str]) -> None:
    home = Path(headless_credd_env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text("autostart = true\n")
    env = {**headless_credd_env, "CREDD_AUTOSTART": "0"}  # the variable wins over the file
    result = credd(env, "list")
    assert result.returncode == 3
    assert "credd serve" in result.stderr
    assert "credd service install" in result.stderr
    assert not Path(env["CREDD_SOCKET"]).exists()


def test_ten_clients_at_once_start_one_daemon_and_all_succeed(
    headless_credd_env: dict[str, str],
) -> None:
    env = headless_credd_env
    home = Path(env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text("autostart = true\n")
    program = str(Path(env["PATH"].split(os.pathsep)[0]) / "credd")
    clients = [
        subprocess.Popen(
            [program, "set", f"name-{i}"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(10)
    ]
    try:
        outcomes = [
            client.communicate(f"value-{i}", timeout=120) for i, client in enumerate(clients)
        ]
        codes = [client.returncode for client in clients]
        assert codes == [0] * 10, outcomes
        starters = [err for _, err in outcomes if "started a daemon" in err]
        assert len(starters) == 1, outcomes
        listed = credd(env, "list").stdout.splitlines()
        assert sorted(line.split("\t")[0] for line in listed) == sorted(
            f"name-{i}" for i in range(10)
        )
        log = (home / "credd.log").read_text()
        assert log.count("serving on") == 1, log
        assert (home / "credd.log").stat().st_mode & 0o777 == 0o600
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()
        stop_started_daemon(env)
