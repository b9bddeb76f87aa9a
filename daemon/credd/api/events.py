"""`GET /v1/events`: the change events as server-sent events (`text/event-stream`).

    GET /v1/events?name=NAME&name=OTHER&holder=exec

Every `name` narrows the stream to those credentials (none: every one); `holder` says what
the watcher is (`credd status` lists it with its pid, which the socket's peer gives). The
stream opens with a heartbeat comment, so a client knows it is connected; then an event per
change once it is durable, and a heartbeat about every 5 s. Through a view, only the view's
names. It ends when the daemon stops, when the watcher falls too far behind, or when its
view goes.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from credd_client.errors import InvalidRequest

from ..events.changes import EVENT_TYPES, HEARTBEAT
from ..events.hub import EventHub, Watcher
from ..operations import CredentialService
from ..store.records import check_name
from ..system.peer import peer_in
from ..views.manager import view_in

MAX_NAMES = 1024
HOLDER = re.compile(r"[a-z][a-z0-9-]{0,31}")


class EventStream(Response):
    """The open stream of one watcher, ended by the hub or by the client going away."""

    media_type = "text/event-stream"

    def __init__(self, hub: EventHub, watcher: Watcher) -> None:
        super().__init__(headers={"cache-control": "no-store"})
        self.hub = hub
        self.watcher = watcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = self.watcher
        # No Content-Length: the stream is open-ended (chunked).
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.hub.join(watcher)
        gone = asyncio.create_task(_until_disconnect(receive))
        gone.add_done_callback(lambda _: watcher.end())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": HEARTBEAT, "more_body": True})
            while not watcher.ended:
                chunks = await watcher.next_chunks()
                if chunks:
                    await send({"type": "http.response.body", "body": chunks, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()
            self.hub.leave(watcher)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def events_router(service: CredentialService) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/events",
        status_code=200,
        response_class=EventStream,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "server-sent events, each `event: TYPE` and `data:` "
                '{"type", "name", "version"}; types: ' + ", ".join(EVENT_TYPES),
            },
            400: {"content": _ERROR, "description": "a bad name or holder"},
            403: {"content": _ERROR, "description": "a view that expired or was removed"},
        },
    )
    async def events(
        request: Request,
        name: Annotated[
            list[str] | None,
            Query(description="only these credentials (repeatable); none: every one"),
        ] = None,
        holder: Annotated[
            str | None,
            Query(description="what the watcher is (exec, render, ...), for `credd status`"),
        ] = None,
    ) -> Response:
        if name is not None and len(name) > MAX_NAMES:
            raise InvalidRequest(f"a watcher names at most {MAX_NAMES} credentials")
        if holder is not None and not HOLDER.fullmatch(holder):
            raise InvalidRequest(
                "holder is a short lower-case word (exec, render): letters, digits and '-'"
            )
        names = None if name is None else frozenset(check_name(n) for n in name)
        watcher = Watcher(names, holder, peer_in(request.scope), view_in(request.scope))
        return EventStream(service.events, watcher)

    return router
