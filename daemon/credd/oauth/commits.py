"""Group commit: the refreshes' store changes written together, one durable write per batch.

Every store write rewrites and fsyncs the whole file. A thousand credentials refreshed
together would otherwise mean two thousand full writes in a row; here the changes that
arrive while a write is under way are applied together in the next one. Each change still
succeeds or is `Superseded` on its own; a failed write fails every change in it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..store.core import Change
from ..store.records import StoreState
from ..store.vault import Vault
from .changes import Superseded


@dataclass
class _Batch:
    changes: list[Change]
    superseded: list[bool] = field(default_factory=list)

    def apply(self, state: StoreState) -> StoreState:
        self.superseded = []
        for change in self.changes:
            try:
                state = change.apply(state)
            except Superseded:
                self.superseded.append(True)
            else:
                self.superseded.append(False)
        return state


class GroupCommitter:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._queue: list[tuple[Change, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0  # durable writes made, for tests and figures

    async def commit(self, change: Change) -> None:
        """Returns once ``change`` is durable; raises `Superseded` or the write's error."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((change, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await done

    async def _write_all(self) -> None:
        while self._queue:
            pending, self._queue = self._queue, []
            batch = _Batch([change for change, _ in pending])
            try:
                await asyncio.to_thread(self.vault.commit, batch)
            except BaseException as exc:  # every waiter gets the write's failure
                for _, done in pending:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            self.writes += 1
            for (_, done), superseded in zip(pending, batch.superseded, strict=True):
                if done.done():
                    continue
                if superseded:
                    done.set_exception(Superseded())
                else:
                    done.set_result(None)
