"""ASGI middleware that runs before routing: body size, and credential names from raw paths.

Names are read from the raw (still percent-encoded) path, not through the router: the
router decodes first, so `a%2Fb` and a literal newline would misroute or match the wrong
credential. The route then sees a placeholder path and takes the name from the scope.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credd_client.errors import CreddError, InvalidRequest, PayloadTooLarge

from ..apipaths import (
    CREDENTIALS_PREFIX,
    IMPORT_PATH,
    NAMED_PREFIXES,
    REFRESH_SUFFIX,
    RESTORE_PATH,
    name_from_raw,
)

MAX_BODY = 1024 * 1024
# A restore carries a whole backup (base64) and an import every credential of a file (ten
# thousand git credentials are about 2 MiB): the two bodies allowed to be larger.
MAX_RESTORE_BODY = 64 * MAX_BODY
LARGE_BODY_PATHS = (RESTORE_PATH, IMPORT_PATH)
NAME_PLACEHOLDER = "-"
SCOPE_NAME = "credd.name"
# How much of a refused body is read and dropped, so the client (still sending) gets the
# 413 instead of a reset connection; past this the connection is simply closed.
DRAIN_LIMIT = 16 * MAX_BODY


async def send_error(send: Send, exc: CreddError) -> None:
    body = json.dumps({"error": {"code": exc.code, "message": exc.message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guards:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope = self._route_name(scope)
            receive = await self._bounded_body(scope, receive)
        except CreddError as exc:
            await send_error(send, exc)
            return
        await self.app(scope, receive, send)

    def _route_name(self, scope: Scope) -> Scope:
        raw = scope.get("raw_path") or scope["path"].encode()
        raw = raw.split(b"?", 1)[0]
        prefix = next((p for p in NAMED_PREFIXES if raw.startswith(p)), None)
        if prefix is None:
            return scope
        rest, action = raw[len(prefix) :], ""
        if (
            prefix == CREDENTIALS_PREFIX
            and scope["method"] == "POST"
            and rest.endswith(REFRESH_SUFFIX)
        ):
            rest, action = rest[: -len(REFRESH_SUFFIX)], REFRESH_SUFFIX.decode()
        name = name_from_raw(rest)
        path = f"{prefix.decode()}{NAME_PLACEHOLDER}{action}"
        return {**scope, "path": path, "raw_path": path.encode(), SCOPE_NAME: name}

    async def _bounded_body(self, scope: Scope, receive: Receive) -> Receive:
        """Refuse a body over the limit before any of it reaches a route."""
        raw = scope.get("raw_path") or scope["path"].encode()
        large = raw.split(b"?", 1)[0] in LARGE_BODY_PATHS
        limit = MAX_RESTORE_BODY if large else self.max_body
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                raise InvalidRequest("Content-Length is not a number")
            if int(length) > limit:
                await _drain(receive, DRAIN_LIMIT)
                raise PayloadTooLarge(self._too_large(limit))
            return receive
        if _header(scope, b"transfer-encoding") is None:
            return receive
        # A chunked body: read it whole (it is small or refused) and replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message], receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(self._too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return _replay([whole], receive)

    def _too_large(self, limit: int) -> str:
        return f"the request body is over the limit of {limit} bytes"


async def _drain(receive: Receive, limit: int) -> None:
    drained = 0
    while drained <= limit:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            text: str = value.decode("latin-1").strip()
            return text
    return None


def _replay(messages: list[Message], then: Receive) -> Receive:
    """Hand out what was already read, then go back to the connection."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
