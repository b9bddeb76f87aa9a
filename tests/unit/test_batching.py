"""Group commit: changes that queue during a commit share the next one, each answered after it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from credd.store.batching import GroupCommit
from credd.store.core import Change, DeleteCredential, PutCredential
from credd.store.records import StoreState
from credd_client.errors import NotFound, WriteFailed
from tests.unit.test_vault import MemoryKeys, make_vault, secret


class GatedStore:
    """A commit function over an in-memory state whose first commit waits for a gate."""

    def __init__(self) -> None:
        self.state = StoreState()
        self.commits: list[int] = []  # how many changes each commit held
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls = 0
        self.fail_call: int | None = None  # this commit (1-based) fails as a full disk would

    def commit(self, change: Change) -> StoreState:
        self.calls += 1
        self.started.set()
        assert self.gate.wait(10)
        if self.calls == self.fail_call:
            raise WriteFailed("the disk is full")
        updated = change.apply(self.state)
        self.commits.append(len(getattr(change, "changes", [change])))
        self.state = updated
        return updated


async def _started(store: GatedStore) -> None:
    assert await asyncio.to_thread(store.started.wait, 10)


def test_writes_queued_during_a_commit_share_the_next_one() -> None:
    async def scenario() -> None:
        store = GatedStore()
        writes = GroupCommit(store.commit)
        first = asyncio.create_task(writes.commit(PutCredential(secret("a", "1"))))
        await _started(store)  # the first commit is in flight: the next ones queue
        rest = [
            asyncio.create_task(writes.commit(PutCredential(secret(f"n{i}", str(i)))))
            for i in range(10)
        ]
        await asyncio.sleep(0)
        assert not any(task.done() for task in [first, *rest])  # nobody answered before disk
        store.gate.set()
        states = await asyncio.gather(first, *rest)
        assert store.commits == [1, 10]
        assert set(states[0].credentials) == {"a"}
        # Each caller gets the store as its own change left it, in arrival order.
        for index, state in enumerate(states[1:]):
            assert f"n{index}" in state.credentials
            assert f"n{index + 1}" not in state.credentials

    asyncio.run(scenario())


def test_a_failing_change_fails_alone() -> None:
    async def scenario() -> None:
        store = GatedStore()
        writes = GroupCommit(store.commit)
        first = asyncio.create_task(writes.commit(PutCredential(secret("a", "1"))))
        await _started(store)
        missing = asyncio.create_task(writes.commit(DeleteCredential("missing")))
        kept = asyncio.create_task(writes.commit(PutCredential(secret("b", "2"))))
        await asyncio.sleep(0)
        store.gate.set()
        await first
        with pytest.raises(NotFound):
            await missing
        assert "b" in (await kept).credentials
        assert set(store.state.credentials) == {"a", "b"}

    asyncio.run(scenario())


def test_a_group_of_only_failing_changes_writes_nothing() -> None:
    async def scenario() -> None:
        store = GatedStore()
        store.gate.set()
        writes = GroupCommit(store.commit)
        with pytest.raises(NotFound):
            await writes.commit(DeleteCredential("missing"))
        assert store.commits == []

    asyncio.run(scenario())


def test_a_failed_commit_fails_every_caller_of_its_group_and_writes_none() -> None:
    async def scenario() -> None:
        store = GatedStore()
        store.fail_call = 2
        writes = GroupCommit(store.commit)
        first = asyncio.create_task(writes.commit(PutCredential(secret("a", "1"))))
        await _started(store)
        group = [
            asyncio.create_task(writes.commit(PutCredential(secret(f"n{i}", "v"))))
            for i in range(3)
        ]
        await asyncio.sleep(0)
        store.gate.set()
        await first
        for task in group:
            with pytest.raises(WriteFailed):
                await task
        assert set(store.state.credentials) == {"a"}
        # The queue goes on after a failure.
        assert "b" in (await writes.commit(PutCredential(secret("b", "2")))).credentials

    asyncio.run(scenario())


def test_group_commit_through_the_real_vault_is_durable(tmp_path: Path) -> None:
    vault = make_vault(tmp_path, MemoryKeys())

    async def scenario() -> None:
        writes = GroupCommit(vault.commit)
        await asyncio.gather(
            *(writes.commit(PutCredential(secret(f"n{i}", str(i)))) for i in range(20))
        )

    asyncio.run(scenario())
    reopened = make_vault(tmp_path, vault.keys.keyring)  # type: ignore[arg-type]
    assert set(reopened.state().credentials) == {f"n{i}" for i in range(20)}
