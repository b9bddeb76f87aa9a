"""The fan-out: every watcher of `GET /v1/events` has its own bounded queue.

Events come from the vault after each durable commit (in a worker thread) and from lock and
unlock; the hub hands them to the event loop, where each watcher's queue takes the ones it
may see (its names, its view's names). A watcher holds a queue, a wake-up flag and its
request's task: a thousand cost little. A watcher that falls `MAX_PENDING` events behind is
dropped (its stream ends; its client reconnects and catches up by versions): a slow reader
never holds the daemon's memory. One timer queues a heartbeat for every watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Set
from typing import Any

from ..store.records import StoreState, format_time, utc_now
from ..system.peer import Peer
from ..views.manager import LiveView
from .changes import HEARTBEAT, Event, events_between

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
MAX_PENDING = 1024


class Watcher:
    """One open stream: what it asked for, who holds it, and what waits to be sent."""

    def __init__(
        self,
        names: frozenset[str] | None,
        holder: str | None,
        peer: Peer,
        live: LiveView | None,
    ) -> None:
        self.names = names
        self.holder = holder
        self.peer = peer
        self.live = live
        self.since = utc_now()
        self.ended = False
        self._pending: deque[bytes] = deque()
        self._wake = asyncio.Event()

    def wants(self, event: Event) -> bool:
        if event.name is None:  # locked, unlocked: the whole store
            return True
        if self.names is not None and event.name not in self.names:
            return False
        return self.live is None or self.live.view.matches(event.name)

    def offer(self, chunk: bytes) -> None:
        if len(self._pending) >= MAX_PENDING:
            log.warning("dropped a watcher (pid %s) %d events behind", self.peer.pid, MAX_PENDING)
            self.end()
            return
        self._pending.append(chunk)
        self._wake.set()

    def end(self) -> None:
        self.ended = True
        self._wake.set()

    async def next_chunks(self) -> bytes:
        """What is due to be sent, once there is something (or the stream ends)."""
        await self._wake.wait()
        self._wake.clear()
        chunks = b"".join(self._pending)
        self._pending.clear()
        return chunks

    def status(self) -> dict[str, Any]:
        return {
            "pid": self.peer.pid,
            "exe": self.peer.exe,
            "holder": self.holder,
            "names": None if self.names is None else sorted(self.names),
            "view": None if self.live is None else self.live.view.name,
            "since": format_time(self.since),
        }


class EventHub:
    def __init__(self, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self.watchers: set[Watcher] = set()
        self.stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> asyncio.Task[None]:
        """On the event loop: events are delivered there from now on; runs the heartbeats."""
        self._loop = asyncio.get_running_loop()
        return asyncio.create_task(self._heartbeats(), name="credd-heartbeats")

    def store_changed(
        self, before: StoreState | None, after: StoreState | None, refreshed: Set[str]
    ) -> None:
        """The vault's observer: called, in any thread, once a transition is durable."""
        loop = self._loop
        if loop is None or not self.watchers:
            return
        events = events_between(before, after, refreshed)
        if events:
            with contextlib.suppress(RuntimeError):  # the loop is closing: nobody to tell
                loop.call_soon_threadsafe(self.publish, events)

    def publish(self, events: list[Event]) -> None:
        encoded = [(event, event.encode()) for event in events]
        for watcher in list(self.watchers):
            for event, chunk in encoded:
                if watcher.wants(event):
                    watcher.offer(chunk)

    def join(self, watcher: Watcher) -> None:
        self.watchers.add(watcher)
        if self.stopping:
            watcher.end()

    def leave(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)

    def close(self) -> None:
        """The daemon stops: every stream ends first, so none holds the shutdown up."""
        self.stopping = True
        for watcher in list(self.watchers):
            watcher.end()

    def status(self) -> list[dict[str, Any]]:
        return [w.status() for w in sorted(self.watchers, key=lambda w: w.since)]

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            now = utc_now()
            for watcher in list(self.watchers):
                live = watcher.live
                if live is not None and (live.closed or live.view.expired(now)):
                    watcher.end()  # the view is gone: so is everything seen through it
                else:
                    watcher.offer(HEARTBEAT)
