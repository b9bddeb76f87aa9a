"""Python's floor on this machine: an asyncio server on a Unix socket with a fixed answer.

    python -m benchmarks.floor SOCKET

It reads requests (headers, and a body by Content-Length) and answers each with the same
small JSON response, on the event loop credd's daemon uses (uvloop where installed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import cast

BODY = b'{"name":"bench","kind":"secret","secret":"x"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + b"content-length: %d\r\n\r\n" % len(BODY)
    + BODY
)


class FixedAnswer(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(RESPONSE)


async def serve(path: str) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    server = await loop.create_unix_server(FixedAnswer, path)
    os.chmod(path, 0o600)
    async with server:
        await stop


def main() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the plain asyncio loop is the floor then
        asyncio.run(serve(sys.argv[1]))
    else:
        uvloop.run(serve(sys.argv[1]))


if __name__ == "__main__":
    main()
