"""Background refresh and the lock: a locked daemon refreshes nothing, and an idle lock
waits for a refresh in flight, so a rotated refresh token is never lost to a lock."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from credd.config import Config
from credd.operations import CredentialService
from credd.paths import StatePaths
from credd.store.vault import Vault
from tests.unit.test_oauth_refresher import (
    Clock,
    Endpoint,
    granted,
    make,
    oauth2,
    on_disk,
    store,
)
from tests.unit.test_vault import MemoryKeys, make_vault

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return make_vault(tmp_path, MemoryKeys())


async def until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def service_for(
    vault: Vault, tmp_path: Path, refresher: object, **config: object
) -> CredentialService:
    paths = StatePaths(
        tmp_path, tmp_path / "config.toml", tmp_path / "credd.sock", tmp_path / "views"
    )
    return CredentialService(vault, Config.model_validate(config), paths, refresher=refresher)  # type: ignore[arg-type]


async def test_a_locked_daemon_refreshes_nothing_until_unlocked(
    vault: Vault, tmp_path: Path
) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    refresher = make(vault, endpoint, clock)
    service = service_for(vault, tmp_path, refresher)
    store(vault, refresher, oauth2("n", 300))
    await service.lock()
    refresher.start()
    try:
        clock.advance(299)  # due
        refresher.changed()
        for _ in range(20):  # the refresher's loop runs, and finds the vault locked
            await asyncio.sleep(0.01)
        assert endpoint.presented == []
        await service.unlock()
        await until(lambda: endpoint.presented == ["R1"])
        await until(lambda: on_disk(vault, "n").oauth.refresh_token == "R2")  # type: ignore[union-attr]
    finally:
        await refresher.stop()


async def test_an_idle_lock_waits_for_a_refresh_in_flight(vault: Vault, tmp_path: Path) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    endpoint.gate = asyncio.Event()
    refresher = make(vault, endpoint, clock)
    service = service_for(vault, tmp_path, refresher, lock_after=0.05)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(299)
    refresh = asyncio.create_task(refresher.refresh_now("n"))
    await until(lambda: endpoint.in_flight == 1)
    (idle,) = service.start_background_tasks()
    try:
        await until(lambda: service.locks_in() == 0.0)  # the idle lock is due...
        await asyncio.sleep(0.2)
        assert not vault.locked  # ...and waits: the answer to this refresh must be stored
        endpoint.gate.set()
        await refresh
        await until(lambda: vault.locked)  # then it locks
        assert "lock_after" in (vault.locked_reason or "")
        assert on_disk(vault, "n").oauth.refresh_token == "R2"  # type: ignore[union-attr]
    finally:
        idle.cancel()
        await refresher.stop()
