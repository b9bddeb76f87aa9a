"""Group commit: the writes that arrive while one durable commit runs share the next one.

A durable commit (encrypt the whole store, write, fsync, rename, fsync the folder) costs
the same for one change as for fifty. While a commit is in flight, further changes wait in
a queue; when it ends, all of them are applied in arrival order to the store and written
in one commit. Each caller is answered only once the commit that holds its change is on
disk, so a write is never acknowledged before it is durable.

A change that fails on its own (deleting a credential that is not there) fails only its
caller; the others in the group are still written. A failure of the commit itself (the
store is locked or unreadable, the disk is full) fails every caller of the group, and
nothing of the group is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from .core import Change, refreshed_names, stamp_versions
from .records import StoreState

Commit = Callable[[Change], StoreState]  # blocking: Vault.commit


class _NothingToWrite(Exception):
    """Every change of the group failed: the store on disk stays as it is."""


class _Group:
    """Many changes as one `Change`; remembers what each one gave (its state, or its error)."""

    def __init__(self, changes: Sequence[Change]) -> None:
        self.changes = changes
        self.outcomes: list[StoreState | Exception] = []
        self.refreshed = frozenset[str]().union(*(refreshed_names(c) for c in changes))

    def apply(self, state: StoreState) -> StoreState:
        self.outcomes = []
        applied = False
        for change in self.changes:
            try:
                state = stamp_versions(state, change.apply(state))
            except Exception as exc:
                self.outcomes.append(exc)
            else:
                self.outcomes.append(state)
                applied = True
        if not applied:
            raise _NothingToWrite
        return state


class GroupCommit:
    """Serialises commits through one worker and batches the changes that queue meanwhile.

    Runs on the event loop; the blocking commit runs in a worker thread.
    """

    def __init__(self, commit: Commit) -> None:
        self._commit = commit
        self._pending: list[tuple[Change, asyncio.Future[StoreState]]] = []
        self._worker: asyncio.Task[None] | None = None
        self.writes = 0  # durable commits made, for tests and figures

    async def commit(self, change: Change) -> StoreState:
        """Commit one change durably; returns the store as this change left it."""
        future: asyncio.Future[StoreState] = asyncio.get_running_loop().create_future()
        self._pending.append((change, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending, []
                await self._write(group)
        finally:
            self._worker = None

    async def _write(self, waiting: list[tuple[Change, asyncio.Future[StoreState]]]) -> None:
        group = _Group([change for change, _ in waiting])
        try:
            await asyncio.to_thread(self._commit, group)
        except _NothingToWrite:
            pass
        except Exception as exc:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        else:
            self.writes += 1
        for (_, future), outcome in zip(waiting, group.outcomes, strict=True):
            if future.done():  # the caller went away; its change is written all the same
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
