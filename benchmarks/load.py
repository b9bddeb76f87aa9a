"""A load generator: N connections, each sending one request after another for a while.

asyncio protocols on uvloop where installed, parsing only what framing needs (status,
Content-Length), so the generator costs the same against credd and the floor server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

Request = bytes
Chooser = Callable[[int, int], Request]  # (client, sequence number) -> request bytes


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        marker = head.find(b"content-length:")
        length = int(head[marker + 15 :].split(b"\r\n", 1)[0]) if marker >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        self.buffer = self.buffer[end + 4 + length :]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    async def exchange(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def _client(
    socket: str, number: int, choose: Chooser, deadline: float, result: LoadResult
) -> None:
    loop = asyncio.get_running_loop()
    _, connection = await loop.create_unix_connection(_Connection, socket)
    clock = time.perf_counter
    sequence = 0
    try:
        while clock() < deadline:
            request = choose(number, sequence)
            sequence += 1
            start = clock()
            try:
                status = await connection.exchange(request)
            except ConnectionError:
                result.errors += 1
                return
            result.latencies.append(clock() - start)
            result.requests += 1
            if not 200 <= status < 300:
                result.errors += 1
    finally:
        if connection.transport is not None:
            connection.transport.close()


async def _run(socket: str, clients: int, duration: float, choose: Chooser) -> LoadResult:
    result = LoadResult()
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(_client(socket, n, choose, deadline, result) for n in range(clients)))
    result.elapsed = time.perf_counter() - start
    return result


def run_load(socket: str, clients: int, duration: float, choose: Chooser) -> LoadResult:
    """Run the load on a fresh event loop (uvloop where installed) and return what it did."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(_run(socket, clients, duration, choose))
    return uvloop.run(_run(socket, clients, duration, choose))


def get_request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()


def put_request(path: str, body: bytes) -> bytes:
    return (
        f"PUT {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
