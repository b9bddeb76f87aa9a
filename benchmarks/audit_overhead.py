"""What the audit log costs a request: the app in-process, with and without the audit layer.

    .venv/bin/python benchmarks/audit_overhead.py

Drives the real ASGI app (routes, guards, service, an unlocked vault with a key file in a
temporary folder) with GET /v1/credentials/{name}, N times each way, and times
AuditLog.record alone. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from credd.api.audit import Audit
from credd.api.fastpath import FastPath
from credd.api.routes import create_app
from credd.audit import AuditLog
from credd.config import Config
from credd.operations import CredentialService
from credd.paths import StatePaths
from credd.store.core import PutCredential
from credd.store.files import StoreFile
from credd.store.keys import build_key_policy
from credd.store.records import Credential
from credd.store.vault import Vault
from credd.system.peer import SCOPE_PEER, Peer

N = 20000
PEER = Peer(pid=1, uid=0, exe="/usr/bin/python3")


def build(folder: Path) -> CredentialService:
    paths = StatePaths(folder, folder / "config.toml", folder / "s.sock")
    keys = build_key_policy("keyfile", paths.key_file, paths.keyring_account)
    service = CredentialService(Vault(StoreFile(paths.store), keys), Config(), paths)
    logging.disable(logging.WARNING)  # the insecure key file is the point here
    service.vault.unlock()
    service.vault.commit(PutCredential(Credential(name="bench", kind="secret", secret="x")))
    return service


async def drive(app: Any, n: int) -> float:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "path": "/v1/credentials/bench",
        "raw_path": b"/v1/credentials/bench",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": None,
        "server": None,
        SCOPE_PEER: PEER,
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / n


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        service = build(folder)
        log = AuditLog(folder / "audit.log")
        plain = FastPath(create_app(service), service)
        audited = Audit(plain, log=log)
        asyncio.run(drive(plain, 2000))  # warm up
        asyncio.run(drive(audited, 2000))
        # Alternate rounds and keep each side's best: the machine is shared and noisy.
        rounds = [
            (asyncio.run(drive(plain, N // 5)), asyncio.run(drive(audited, N // 5)))
            for _ in range(5)
        ]
        without = min(r[0] for r in rounds)
        with_audit = min(r[1] for r in rounds)
        started = time.perf_counter()
        for _ in range(N):
            log.record("get", "bench", "ok", 200, PEER)
        record = (time.perf_counter() - started) / N
        log.close()
    print(f"GET in-process without audit: {without * 1e6:.1f} µs")
    print(f"GET in-process with audit:    {with_audit * 1e6:.1f} µs")
    print(f"audit overhead per request:   {(with_audit - without) * 1e6:.1f} µs")
    print(f"AuditLog.record alone:        {record * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
