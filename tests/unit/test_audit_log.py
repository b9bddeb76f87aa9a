"""The audit log writer: JSON lines, 0600, rotated at its cap, and what is recorded for what."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from credd.api.audit import classify
from credd.audit import AuditLog, rotated
from credd.system.peer import Peer

PEER = Peer(pid=42, uid=1000, exe="/usr/bin/git")


def test_a_record_is_one_json_line_with_the_peer(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "state" / "audit.log")
    log.record("get", "github.com", "ok", 200, PEER)
    log.record("get", "other", "forbidden", 403, PEER)
    lines = (tmp_path / "state" / "audit.log").read_text().splitlines()
    first = json.loads(lines[0])
    assert first["op"] == "get"
    assert first["name"] == "github.com"
    assert first["outcome"] == "ok"
    assert first["status"] == 200
    assert (first["pid"], first["uid"], first["exe"]) == (42, 1000, "/usr/bin/git")
    assert first["time"].endswith("Z")
    assert json.loads(lines[1])["outcome"] == "forbidden"
    assert stat.S_IMODE((tmp_path / "state" / "audit.log").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    log.close()


def test_the_log_is_rotated_at_its_cap_keeping_three(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, max_bytes=2000)
    for n in range(200):
        log.record("get", f"name-{n:03}", "ok", 200, PEER)
    log.close()
    files = [p for p in rotated(path) if p.exists()]
    assert [p.name for p in files] == ["audit.log.3", "audit.log.2", "audit.log.1", "audit.log"]
    for file in files:
        assert file.stat().st_size < 2000 + 200
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    names = [json.loads(line)["name"] for f in files for line in f.read_text().splitlines()]
    assert names == sorted(names)  # oldest first, none out of order
    assert names[-1] == "name-199"


def test_an_unwritable_log_does_not_fail_the_caller(tmp_path: Path) -> None:
    (tmp_path / "audit.log").mkdir()  # cannot be opened as a file
    log = AuditLog(tmp_path / "audit.log")
    log.record("get", "x", "ok", 200, PEER)  # no exception


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", b"/v1/credentials", ("list", None)),
        ("GET", b"/v1/credentials/a%2Fb", ("get", "a/b")),
        ("GET", b"/v1/credentials/x?include=refresh_token", ("get", "x")),
        ("PUT", b"/v1/credentials/x", ("set", "x")),
        ("DELETE", b"/v1/credentials/x", ("delete", "x")),
        ("POST", b"/v1/credentials/x/refresh", ("refresh", "x")),
        ("POST", b"/v1/lock", ("lock", None)),
        ("POST", b"/v1/backup", ("backup", None)),
        ("POST", b"/v1/restore", ("restore", None)),
        ("POST", b"/v1/reset", ("reset", None)),
        ("GET", b"/v1/credentials/bad%0Aname", ("get", None)),
        ("GET", b"/v1/nowhere", ("unknown", None)),
        ("GET", b"/v1/status", None),
        ("GET", b"/openapi.json", None),
    ],
)
def test_what_each_request_is_recorded_as(
    method: str, path: bytes, expected: tuple[str, str | None] | None
) -> None:
    assert classify(method, path) == expected


def test_records_are_flushed_as_soon_as_the_loop_is_free(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "audit.log"
    log = AuditLog(path)

    async def burst() -> tuple[int, int]:
        for n in range(50):
            log.record("get", f"n{n}", "ok", 200, PEER)
        before = len(path.read_text().splitlines())  # buffered: one write for the burst
        await asyncio.sleep(0)
        return before, len(path.read_text().splitlines())

    before, after = asyncio.run(burst())
    assert before < 50
    assert after == 50
    log.close()
