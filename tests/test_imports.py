"""The client package stays light: standard library only, and no heavy parts of it.

Every `credd get`, git and docker helper call pays the client's import time, and the client
must install and run without the daemon's dependencies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import credd_client

CLIENT_SOURCE = Path(__file__).resolve().parents[1] / "client"

# Daemon-side or heavy modules: http.client and email alone cost more than the whole client;
# typing and urllib.parse are left out on purpose too (see credd_client/_paths.py).
FORBIDDEN = {
    "cryptography",
    "email",
    "fastapi",
    "http",
    "httpx",
    "keyring",
    "pydantic",
    "starlette",
    "typing",
    "urllib",
    "uvicorn",
}

REPORT_NEW_MODULES = """
import sys
before = set(sys.modules)
import {module}
print("\\n".join(sorted(set(sys.modules) - before)))
"""


def modules_gained_by_importing_the_client(module: str = "credd_client") -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(CLIENT_SOURCE)}
    result = subprocess.run(
        [sys.executable, "-c", REPORT_NEW_MODULES.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    return set(result.stdout.split())


def test_import_pulls_in_the_standard_library_only() -> None:
    gained = modules_gained_by_importing_the_client()
    assert "credd_client.client" in gained
    outside = {
        name
        for name in gained
        if name.partition(".")[0] not in sys.stdlib_module_names
        and name.partition(".")[0] != "credd_client"
    }
    assert outside == set()


def test_import_pulls_in_nothing_heavy() -> None:
    gained = modules_gained_by_importing_the_client()
    assert {name.partition(".")[0] for name in gained} & FORBIDDEN == set()
    assert "credd_client.watch" not in gained  # only Client.watch imports it


def test_the_watch_stays_on_the_standard_library() -> None:
    gained = modules_gained_by_importing_the_client("credd_client.watch")
    roots = {name.partition(".")[0] for name in gained}
    assert roots - set(sys.stdlib_module_names) == {"credd_client"}
    assert roots & FORBIDDEN == set()


@pytest.mark.parametrize(
    "helper", ["credd_client.git_helper", "credd_client.docker_helper", "credd_client.cli.kube"]
)
def test_credential_helpers_stay_light(helper: str) -> None:
    """git runs its helper on every fetch, kubectl its exec plugin on every start: standard
    library only, nothing heavy."""
    gained = modules_gained_by_importing_the_client(helper)
    roots = {name.partition(".")[0] for name in gained}
    assert roots - set(sys.stdlib_module_names) == {"credd_client"}
    assert roots & FORBIDDEN == set()


def test_public_names() -> None:
    assert credd_client.__all__ == [
        "Client",
        "CreddError",
        "Credential",
        "DaemonTimeout",
        "DaemonUnavailable",
        "Forbidden",
        "InternalError",
        "InvalidRequest",
        "Locked",
        "NeedsLogin",
        "NotFound",
        "PayloadTooLarge",
        "ProtocolError",
        "RefreshFailed",
        "Status",
        "StoreUnreadable",
        "WriteFailed",
        "__version__",
        "socket_path",
    ]
    assert all(hasattr(credd_client, name) for name in credd_client.__all__)
    assert credd_client.__version__ == "0.1.0"


def test_the_command_line_stays_light() -> None:
    """`credd` is the client's: its entry point imports no daemon and nothing heavy."""
    gained = modules_gained_by_importing_the_client("credd_client.cli")
    roots = {name.partition(".")[0] for name in gained}
    assert roots - set(sys.stdlib_module_names) == {"credd_client"}
    assert roots & (FORBIDDEN | {"argparse", "json", "credd"}) == set()


@pytest.mark.parametrize("command", ["credd_client.cli.exec", "credd_client.cli.render"])
def test_client_side_commands_need_only_the_client(command: str) -> None:
    """`credd exec` and `credd render` run on a machine with only credd-client installed."""
    gained = modules_gained_by_importing_the_client(command)
    roots = {name.partition(".")[0] for name in gained}
    assert roots - set(sys.stdlib_module_names) == {"credd_client"}
    assert roots & FORBIDDEN - {"typing"} == set()
