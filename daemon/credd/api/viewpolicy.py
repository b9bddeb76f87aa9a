"""ASGI middleware: the one gate a request through a view passes, before anything else serves it.

It sits right inside the audit and in front of the fast path and FastAPI, so no route and no
shortcut is reachable around it. A request from the main socket passes untouched. A request
from a view (the connection put its `LiveView` in the scope, see server.py) is decided by
`views.policy.decide`: refused with its error, answered here (the view's status and its
filtered list), or passed on.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from credd_client.errors import CreddError, Forbidden

from ..operations import CredentialService
from ..store.records import utc_now
from ..views.manager import view_in
from ..views.policy import Answer, decide
from .envelope import error_response, internal_error
from .guards import send_error
from .listing import fields_from_query, listed_body
from .prefer import wait_in


class ViewPolicy:
    def __init__(self, app: ASGIApp, service: CredentialService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        live = view_in(scope)
        if live is None:
            if scope["type"] == "http":
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # a view serves HTTP only
        now = utc_now()
        try:
            if live.closed or live.view.expired(now):
                raise Forbidden(f"the view {live.view.name!r} has expired or was removed")
            live.used(now)
            raw: bytes = scope.get("raw_path") or scope["path"].encode()
            answer = decide(live.view, scope["method"], raw, scope["query_string"])
        except CreddError as exc:
            await send_error(send, exc)
            return
        if answer is Answer.ON:
            await self.app(scope, receive, send)
            return
        response: Response
        try:
            if answer is Answer.STATUS:
                response = JSONResponse(self.service.status(view=live))
            else:
                fields = fields_from_query(scope["query_string"])
                credentials = await self.service.list(wait_in(scope))
                matching = (c for c in credentials if live.view.matches(c.name))
                response = Response(listed_body(matching, fields), media_type="application/json")
        except CreddError as exc:
            response = error_response(exc.status, exc.code, exc.message)
        except Exception as exc:
            response = internal_error(scope["method"], scope["path"], exc)
        await response(scope, receive, send)
