"""The audit log through the real daemon, `credd audit`, and per-program access."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

# What /proc/<pid>/exe says for the `credd` command: the venv's interpreter, resolved.
CLI_EXE = os.path.realpath(sys.executable)


def audit_records(env: dict[str, str]) -> list[dict[str, object]]:
    result = credd(env, "audit", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_every_access_is_recorded_with_the_peer(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    canary = "CANARY-audit-5c1d"
    assert credd(credd_env, "set", "svc/one", input=canary).returncode == 0
    assert credd(credd_env, "get", "svc/one").stdout == canary + "\n"
    assert credd(credd_env, "get", "absent").returncode == 4
    assert credd(credd_env, "list").returncode == 0
    assert credd(credd_env, "delete", "svc/one").returncode == 0

    records = audit_records(credd_env)
    summary = [(r["op"], r["name"], r["outcome"]) for r in records]
    assert summary == [
        ("set", "svc/one", "ok"),
        ("get", "svc/one", "ok"),
        ("get", "absent", "not_found"),
        ("list", None, "ok"),
        ("delete", "svc/one", "ok"),
    ]
    for record in records:
        assert record["uid"] == os.getuid()
        assert isinstance(record["pid"], int)
        assert record["pid"] != daemon.pid
        assert record["exe"] == CLI_EXE
        assert str(record["time"]).endswith("Z")
    log = Path(credd_env["CREDD_HOME"]) / "audit.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert canary.encode() not in log.read_bytes()

    # The human form and the filter.
    text = credd(credd_env, "audit", "--name", "absent")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert len(lines) == 1
    assert "\tget\tabsent\tnot_found\t" in lines[0]
    assert CLI_EXE in lines[0]


def test_audit_follow_prints_new_records(daemon: DaemonProcess, credd_env: dict[str, str]) -> None:
    program = shutil.which("credd", path=credd_env["PATH"])
    assert program is not None
    with subprocess.Popen(
        [program, "audit", "--follow", "--json", "--name", "followed"],
        env=credd_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as follower:
        try:
            assert credd(credd_env, "set", "followed", input="x").returncode == 0
            assert follower.stdout is not None
            line = follower.stdout.readline()  # waits for the record (bounded by the timeout)
            assert json.loads(line)["op"] == "set"
            assert credd(credd_env, "get", "followed").returncode == 0
            assert json.loads(follower.stdout.readline())["op"] == "get"
        finally:
            follower.kill()


def test_a_program_not_allowed_is_forbidden_and_audited(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    canary = "CANARY-program-77ab"
    true = shutil.which("true")
    assert true is not None
    result = credd(credd_env, "set", "git-only", "--allow-program", "true", input=canary)
    assert result.returncode == 0, result.stderr
    listed = json.loads(credd(credd_env, "list", "--json").stdout)["credentials"][0]
    assert listed["allowed_programs"] == [os.path.realpath(true)]

    refused = credd(credd_env, "get", "git-only")
    assert refused.returncode == 1
    assert canary not in refused.stdout + refused.stderr
    assert "may not read 'git-only'" in refused.stderr
    assert CLI_EXE in refused.stderr

    forbidden = [r for r in audit_records(credd_env) if r["outcome"] == "forbidden"]
    assert len(forbidden) == 1
    assert forbidden[0]["name"] == "git-only"
    assert forbidden[0]["exe"] == CLI_EXE
    assert forbidden[0]["status"] == 403

    # Naming the reader's interpreter (through a symlink, resolved) lets it in.
    link = Path(credd_env["HOME"]) / "py"
    link.symlink_to(sys.executable)
    body = json.dumps({"secret": canary, "allowed_programs": [str(link)]})
    assert credd(credd_env, "set", "py-only", "--json", input=body).returncode == 0
    assert credd(credd_env, "get", "py-only").stdout == canary + "\n"


def test_allowed_programs_must_be_absolute_paths(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    body = json.dumps({"secret": "x", "allowed_programs": ["git"]})
    result = credd(credd_env, "set", "rel", "--json", input=body)
    assert result.returncode == 2
    assert "absolute paths" in result.stderr
    missing = credd(credd_env, "set", "rel", "--allow-program", "no-such-program-x", input="x")
    assert missing.returncode == 2
    assert "no executable" in missing.stderr


def test_a_refused_uid_is_audited(daemon: DaemonProcess, credd_env: dict[str, str]) -> None:
    from tests.integration.test_security import CONNECT_AND_ASK
    from tests.support.other_user import run_as_nobody

    sock = Path(credd_env["CREDD_SOCKET"])
    for folder in (sock.parent, *sock.parents):
        if str(folder).startswith(str(Path(credd_env["CREDD_HOME"]).parent)):
            os.chmod(folder, 0o755)
    os.chmod(sock, 0o666)
    result = run_as_nobody(CONNECT_AND_ASK.format(path=str(sock)))
    assert "403" in result.stdout
    deadline = time.monotonic() + 10
    while True:
        refused = [r for r in audit_records(credd_env) if r["op"] == "connect"]
        if refused or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert refused, "the refused connection was not audited"
    assert refused[0]["uid"] == 65534
    assert refused[0]["outcome"] == "forbidden"


def test_audit_follow_goes_on_across_rotations(credd_env: dict[str, str]) -> None:
    from credd.audit import AuditLog
    from credd.system.peer import Peer

    home = Path(credd_env["CREDD_HOME"])
    log = AuditLog(home / "audit.log", max_bytes=1500)
    peer = Peer(pid=1, uid=os.getuid(), exe="/bin/x")
    log.record("get", "before-0", "ok", 200, peer)
    program = shutil.which("credd", path=credd_env["PATH"])
    assert program is not None
    with subprocess.Popen(
        [program, "audit", "--follow", "--json"],
        env=credd_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as follower:
        try:
            assert follower.stdout is not None
            assert json.loads(follower.stdout.readline())["name"] == "before-0"
            names = [f"during-{n:02}" for n in range(30)]  # two rotations
            for name in names:
                log.record("get", name, "ok", 200, peer)
                time.sleep(0.05)  # the follower polls every 0.2 s
            seen = [json.loads(follower.stdout.readline())["name"] for _ in names]
            assert seen == names
        finally:
            follower.kill()
            log.close()
