"""A token endpoint for the OAuth benchmark: answers every refresh, and counts.

    python -m benchmarks.token_endpoint DELAY_SECONDS

Prints its port on the first line of standard output. `POST /token` with
`grant_type=refresh_token` answers a new access token (an hour's lifetime) and a rotated
refresh token after DELAY_SECONDS (a real server's latency, which makes concurrency visible);
`GET /stats` answers how many refreshes arrived, the most that were in flight at once, and
when each initial refresh token (`rt-<n>`) was first presented (Unix time).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from urllib.parse import parse_qs


class Endpoint:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.first_seen: dict[str, float] = {}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                status, answer = await self.answer(method, target, body)
                payload = json.dumps(answer).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, target: str, body: bytes) -> tuple[str, object]:
        if method == "GET" and target == "/stats":
            return "200 OK", {
                "requests": self.requests,
                "max_in_flight": self.max_in_flight,
                "first_seen": self.first_seen,
            }
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return "400 Bad Request", {"error": "unsupported_grant_type"}
        self.requests += 1
        token = form.get("refresh_token", "")
        self.first_seen.setdefault(token, time.time())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return "200 OK", {
            "access_token": "at-" + secrets.token_hex(8),
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rotated-" + secrets.token_hex(8),
        }


async def serve(delay: float) -> None:
    endpoint = Endpoint(delay)
    server = await asyncio.start_server(endpoint.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1])))
