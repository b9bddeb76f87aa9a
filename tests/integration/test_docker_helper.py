"""`docker-credential-credd` spoken to exactly as docker speaks: the action as the only
argument, the request on standard input, the answer (or error) on standard output."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.cli import credd, run_program
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

NOT_FOUND = "credentials not found in native keychain\n"


def helper(env: dict[str, str], action: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_program(env, "docker-credential-credd", action, input=stdin)


def test_store_get_list_erase(headless_daemon: DaemonProcess, helper_env: dict[str, str]) -> None:
    env = helper_env
    login = {"ServerURL": "https://index.docker.io/v1/", "Username": "octo", "Secret": "dckr_pat_1"}
    stored = helper(env, "store", json.dumps(login))
    assert (stored.returncode, stored.stdout) == (0, ""), stored.stdout
    ghcr = {"ServerURL": "ghcr.io", "Username": "<token>", "Secret": "identity-token"}
    assert helper(env, "store", json.dumps(ghcr)).returncode == 0

    # docker writes the server URL with a trailing newline for get and erase
    got = helper(env, "get", "https://index.docker.io/v1/\n")
    assert got.returncode == 0
    assert json.loads(got.stdout) == login

    listing = helper(env, "list")
    assert json.loads(listing.stdout) == {
        "https://index.docker.io/v1/": "octo",
        "ghcr.io": "<token>",
    }
    names = sorted(line.split("\t")[0] for line in credd(env, "list").stdout.splitlines())
    assert names == ["docker:ghcr.io", "docker:https://index.docker.io/v1/"]

    assert helper(env, "erase", "ghcr.io").returncode == 0
    missing = helper(env, "get", "ghcr.io")
    assert (missing.returncode, missing.stdout) == (1, NOT_FOUND)
    erase_missing = helper(env, "erase", "ghcr.io")
    assert (erase_missing.returncode, erase_missing.stdout) == (1, NOT_FOUND)
    # a plain credential of another integration is not listed
    credd(env, "set", "not-docker", input="x")
    assert json.loads(helper(env, "list").stdout) == {"https://index.docker.io/v1/": "octo"}


def test_bad_requests_get_docker_style_errors(
    headless_daemon: DaemonProcess, helper_env: dict[str, str]
) -> None:
    env = helper_env
    assert helper(env, "get", "\n").stdout == "no credentials server URL\n"
    no_user = helper(env, "store", '{"ServerURL": "r.test", "Username": "", "Secret": "leak-me"}')
    assert (no_user.returncode, no_user.stdout) == (1, "no credentials username\n")
    broken = helper(env, "store", '{"ServerURL": "r.test", "Secret": "leak-me"')
    assert broken.returncode == 1
    assert "leak-me" not in broken.stdout + broken.stderr
    unknown = helper(env, "frobnicate")
    assert unknown.returncode == 1


def test_no_daemon_is_not_found_with_a_hint(helper_env: dict[str, str]) -> None:
    env = helper_env
    got = helper(env, "get", "ghcr.io\n")
    assert (got.returncode, got.stdout) == (1, NOT_FOUND)
    assert "credd serve" in got.stderr
    assert json.loads(helper(env, "list").stdout) == {}
    store = helper(env, "store", '{"ServerURL": "r.test", "Username": "u", "Secret": "leak-me"}')
    assert store.returncode == 1
    assert "credd serve" in store.stdout
    assert "leak-me" not in store.stdout + store.stderr
