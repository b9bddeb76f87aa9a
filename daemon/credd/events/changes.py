"""The events a store transition makes, and their server-sent-events form (sans-I/O).

A transition is the store before and after one durable commit, an unlock (before is None)
or a lock (after is None). Events carry a credential's name and version, never a value;
`locked` and `unlocked` concern the whole store and name no credential.
"""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass
from typing import Literal

from ..store.records import StoreState

EventType = Literal["changed", "deleted", "refreshed", "locked", "unlocked"]
EVENT_TYPES: tuple[EventType, ...] = ("changed", "deleted", "refreshed", "locked", "unlocked")

# An SSE comment line: ignored by every event-stream reader, it keeps the connection
# visibly alive (a client counts missed heartbeats, not request timeouts).
HEARTBEAT = b": heartbeat\n\n"


@dataclass(frozen=True)
class Event:
    type: EventType
    name: str | None = None
    version: int | None = None

    def encode(self) -> bytes:
        """One `text/event-stream` event: its type, and the event as one line of JSON."""
        data = json.dumps({"type": self.type, "name": self.name, "version": self.version})
        return f"event: {self.type}\ndata: {data}\n\n".encode()


def events_between(
    before: StoreState | None, after: StoreState | None, refreshed: Set[str] = frozenset()
) -> list[Event]:
    """What a watcher learns from one transition; ``refreshed`` names an OAuth refresh's."""
    if after is None:
        return [] if before is None else [Event("locked")]
    if before is None:
        return [Event("unlocked")]
    events = []
    for name, credential in after.credentials.items():
        previous = before.credentials.get(name)
        if previous is None or previous.version != credential.version:
            kind: EventType = "refreshed" if name in refreshed else "changed"
            events.append(Event(kind, name, credential.version))
    for name, credential in before.credentials.items():
        if name not in after.credentials:
            events.append(Event("deleted", name, credential.version))
    return events
