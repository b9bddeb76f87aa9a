"""Finding 3: a process of the same uid in its own mount namespace (a container) running its
own `/usr/bin/python3` passed a rule naming the host's, and the audit named the wrong program.
Now a peer in another mount namespace has no identifiable program, and through a view no
program-restricted credential is served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import credd_client
from credd_client import Client
from tests.adversarial.conftest import add_view
from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

NAME = "restricted"

_GET = """
import sys
sys.path.insert(0, sys.argv[1])
from credd_client import Client
from credd_client.errors import CreddError
try:
    with Client(sys.argv[2], autostart=False) as client:
        print("ok", client.get(sys.argv[3]).secret)
except CreddError as exc:
    print("refused", exc.code)
"""


def get_as(socket: str, *wrapper: str) -> str:
    client_dir = str(Path(credd_client.__file__).parents[1])
    command = [*wrapper, sys.executable, "-I", "-c", _GET, client_dir, socket, NAME]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def audit_gets(home: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in (Path(home) / "audit.log").read_text().splitlines()]
        gets = [r for r in lines if r["op"] == "get" and r["name"] == NAME]
        if len(gets) >= count or time.monotonic() > deadline:
            return gets
        time.sleep(0.05)


def test_another_mount_namespace_or_a_view_never_passes_a_program_rule(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    if os.geteuid() != 0:
        pytest.fail("unshare --mount needs root (CI runs as root)")
    require_program("unshare")
    env = headless_credd_env
    python = os.path.realpath(sys.executable)
    with Client(env["CREDD_SOCKET"]) as main:
        main.put(NAME, {"secret": "for-python-only", "allowed_programs": [python]})
    view = add_view(env, "ctr", "--allow", "*")
    socket = env["CREDD_SOCKET"]

    assert get_as(socket) == "ok for-python-only"  # the host's program, in credd's namespace
    assert get_as(socket, "unshare", "--mount", "--propagation", "private") == "refused forbidden"
    assert get_as(str(view)) == "refused forbidden"

    here, elsewhere, viewed = audit_gets(env["CREDD_HOME"], 3)[-3:]
    assert (here["outcome"], here["exe"], here["view"]) == ("ok", python, None)
    assert (elsewhere["outcome"], elsewhere["exe"]) == ("forbidden", None)
    assert "runs in another mount namespace" in elsewhere["program_unknown"]
    assert (viewed["outcome"], viewed["view"]) == ("forbidden", "ctr")
    assert "through the view 'ctr'" in viewed["program_unknown"]
