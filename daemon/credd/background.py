"""Work in the background per credential: what the OAuth refresher and the AWS session keeper
share.

`PerName` runs at most one task per credential name. Every caller that needs it joins the
task in flight instead of starting another (a burst of GETs sends one refresh), and a caller
that stops waiting (a timeout, a client that hung up) never cancels it: the answer it brings
is stored all the same. `run_schedule` is the loop around it: it asks a `tick` what is due,
then sleeps until the next due time, `MAX_SLEEP` at the most (so a wall clock that jumped,
or a store file another process changed, is noticed), or until woken (`wake`: the store
changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("credd")

MAX_SLEEP = 30.0
# At a stop, how much longer than the request timeout a run in flight may take to finish.
STOP_GRACE = 5.0


class PerName:
    def __init__(
        self, work: Callable[[str], Coroutine[Any, Any, None]], task_name: str, failed: str
    ) -> None:
        """``work(name)`` is one run; ``failed`` the log line of a run that raised, with a
        ``%r`` for the name and a ``%s`` for the exception's type (never its text, which could
        hold a value)."""
        self._work = work
        self._task_name = task_name
        self._failed = failed
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.wake = asyncio.Event()

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def start(self, name: str) -> asyncio.Task[None]:
        """The task in flight for ``name``, started if there is none."""
        task = self._tasks.get(name)
        if task is not None:
            return task
        task = asyncio.create_task(self._work(name), name=self._task_name)
        self._tasks[name] = task

        def finished(done: asyncio.Task[None]) -> None:
            if self._tasks.get(name) is done:
                del self._tasks[name]
            self.wake.set()
            if not done.cancelled() and (exc := done.exception()) is not None:
                log.error(self._failed, name, type(exc).__name__)

        task.add_done_callback(finished)
        return task

    async def join(self, name: str, wait: float | None) -> bool:
        """Start ``name``'s run or join the one in flight, and wait for it (``wait`` s at
        most; None: until it ends). True when it is done, False when it goes on."""
        task = self.start(name)
        try:
            await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            return task.done()
        return True

    async def settle(self, timeout: float) -> None:
        """Let the runs in flight finish (their answers are stored), ``timeout`` s at most."""
        running = list(self._tasks.values())
        if running:
            await asyncio.wait(running, timeout=timeout)

    async def run_schedule(self, tick: Callable[[], float | None]) -> None:
        """Forever: ``tick()`` starts what is due and says the seconds until the next (None:
        nothing scheduled); sleep that long, `MAX_SLEEP` at most, or until woken."""
        while True:
            self.wake.clear()
            delay = tick()
            timeout = MAX_SLEEP if delay is None else min(MAX_SLEEP, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=max(timeout, 0.01))
