"""`Client.watch`: the daemon's change events, kept flowing across daemon restarts.

    with Client() as client:
        watch = client.watch(["work"], holder="exec")
        for event in watch:   # `watch.close()`, from any thread, ends it
            ...  # event.type, event.name, event.version: never a value

The stream (`GET /v1/events`) carries `changed`, `deleted`, `refreshed`, `locked` and
`unlocked`. The daemon sends a heartbeat about every `HEARTBEAT_SECONDS`; three missed in a
row mean the connection is lost, whatever the client's request timeout. A lost connection (a
daemon restart, a stop, a silence) is opened again, and then, as after an `unlocked`, the
watch catches up by versions: it lists the credentials and yields `changed` for each name
whose version moved and `deleted` for each that vanished. Events are never replayed; a
version already seen is not yielded twice.

Imported only by `Client.watch`, never on the `credd get` path.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from ._transport import Response, UnixTransport
from .client import encode_path_segment, error_from
from .errors import DaemonTimeout, DaemonUnavailable, Locked, ProtocolError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from .client import Client

HEARTBEAT_SECONDS = 5.0
MISSED_HEARTBEATS = 3
# A reconnection waits this long at first, doubling up to the longest, so a restart is caught
# within a fraction of a second and a daemon that stays away costs little.
FIRST_RETRY_SECONDS = 0.05
LONGEST_RETRY_SECONDS = 2.0
EVENT_TYPES = frozenset({"changed", "deleted", "refreshed", "locked", "unlocked"})


@dataclass(frozen=True)
class Event:
    """One change: its type and, but for `locked`/`unlocked`, the credential's name and
    version."""

    type: str
    name: str | None = None
    version: int | None = None


class _ConnectionLost(Exception):
    pass


class Watch:
    """An iterator of `Event`s that runs until `close` (callable from another thread)."""

    def __init__(
        self,
        client: Client,
        names: Iterable[str] | None,
        holder: str | None,
        versions: Mapping[str, int] | None = None,
    ) -> None:
        self._client = client
        # What the caller read before watching: a change before the first connection is
        # caught up like one during a reconnection.
        self._since = None if versions is None else dict(versions)
        self._wanted = None if names is None else frozenset(names)
        self._target = _events_target(self._wanted, holder)
        self._closed = threading.Event()
        self._transport: UnixTransport | None = None
        self._events = self._run()

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def close(self) -> None:
        """Stop: the iteration ends at once, wherever it waits."""
        self._closed.set()
        transport = self._transport
        if transport is not None:
            transport.abort()

    def _open(self) -> Iterator[bytes]:
        self._transport = UnixTransport(self._client.socket_path, self._client.timeout)
        answer = self._transport.stream(self._target, {}, HEARTBEAT_SECONDS * MISSED_HEARTBEATS)
        if isinstance(answer, Response):
            raise error_from(answer)
        return answer

    def _run(self) -> Iterator[Event]:
        client, wanted = self._client, self._wanted
        known = self._since
        delay = FIRST_RETRY_SECONDS
        while not self._closed.is_set():
            try:
                stream = self._open()
                if self._closed.is_set():  # closed while connecting
                    return
                for event in _catch_up(client, wanted, known):
                    known = _learn(known, event)
                    yield event
                if known is None:
                    known = _versions(client, wanted)
                delay = FIRST_RETRY_SECONDS
                for event in _events(stream):
                    if event.type == "unlocked":
                        yield event
                        for missed in _catch_up(client, wanted, known):
                            known = _learn(known, missed)
                            yield missed
                        if known is None:  # watching since before the unlock: now a baseline
                            known = _versions(client, wanted)
                    elif _is_new(known, event):
                        known = _learn(known, event)
                        yield event
            except (DaemonUnavailable, DaemonTimeout, _ConnectionLost):
                if self._closed.wait(delay):
                    return
                delay = min(delay * 2, LONGEST_RETRY_SECONDS)


def _events_target(names: frozenset[str] | None, holder: str | None) -> str:
    query = [f"name={encode_path_segment(name)}" for name in sorted(names or ())]
    if holder is not None:
        query.append(f"holder={encode_path_segment(holder)}")
    return "/v1/events" + ("?" + "&".join(query) if query else "")


def _versions(client: Client, wanted: frozenset[str] | None) -> dict[str, int] | None:
    """Every watched credential's version now; None while the daemon is locked."""
    try:
        listed = client.list()
    except Locked:
        return None
    return {c.name: c.version or 1 for c in listed if wanted is None or c.name in wanted}


def _catch_up(
    client: Client, wanted: frozenset[str] | None, known: dict[str, int] | None
) -> list[Event]:
    """What moved while the watch was not listening: `changed` and `deleted` by version."""
    if known is None:
        return []
    current = _versions(client, wanted)
    if current is None:
        return []
    moved = [
        Event("changed", name, version)
        for name, version in sorted(current.items())
        if known.get(name) != version
    ]
    gone = [Event("deleted", name, version) for name, version in sorted(known.items())]
    return moved + [event for event in gone if event.name not in current]


def _is_new(known: dict[str, int] | None, event: Event) -> bool:
    if known is None or event.name is None:
        return True
    if event.type == "deleted":
        return event.name in known
    return known.get(event.name) != event.version


def _learn(known: dict[str, int] | None, event: Event) -> dict[str, int] | None:
    if known is None or event.name is None:
        return known
    if event.type == "deleted":
        known.pop(event.name, None)
    elif event.version is not None:
        known[event.name] = event.version
    return known


def _events(stream: Iterator[bytes]) -> Iterator[Event]:
    """Parse `text/event-stream`; a heartbeat is a comment, its arrival is what counts."""
    buffer = b""
    kind = data = None
    try:
        for chunk in stream:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.rstrip(b"\r").decode("utf-8")
                if line.startswith(":"):
                    continue
                if line:
                    field, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if field == "event":
                        kind = value
                    elif field == "data":
                        data = value
                    continue
                if kind is not None and data is not None:
                    event = _decode(kind, data)
                    if event is not None:
                        yield event
                kind = data = None
    except ProtocolError as exc:  # a daemon killed mid-answer: its last chunk cut short
        raise _ConnectionLost from exc
    raise _ConnectionLost  # the daemon ended the stream: it is stopping


def _decode(kind: str, data: str) -> Event | None:
    """An event of a known type; one a newer daemon adds is skipped."""
    if kind not in EVENT_TYPES:
        return None
    try:
        document = json.loads(data)
    except ValueError:
        raise ProtocolError("unexpected event from the daemon: not JSON") from None
    name, version = document.get("name"), document.get("version")
    if (name is not None and not isinstance(name, str)) or (
        version is not None and (isinstance(version, bool) or not isinstance(version, int))
    ):
        raise ProtocolError("unexpected event from the daemon: a name or version of a wrong type")
    return Event(kind, name, version)
