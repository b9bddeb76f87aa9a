"""The hot reads, answered before FastAPI: `GET /v1/credentials/{name}`, `GET /v1/status`
and `GET /v1/credentials`.

FastAPI's routing and dependency resolution cost more per request than everything else a
get does (see README, Performance). This ASGI layer sits in front of the app and answers
the reads every tool makes, in their plain form (GET, no query string but a list's
`fields`, no body), with
the very same code the routes use: `Guards` decodes and checks the name, the service reads
memory, `render_credential` and `JSONResponse` build the answer, and the error envelope is
the app's; `Accept: text/plain` gets the secret alone (plaintext.py); the list is
listing.py's, as the route's is. Anything else, `?include=` included, goes to the app
unchanged, so the OpenAPI document and every other route stay FastAPI's.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from credd_client.errors import CreddError

from ..apipaths import CREDENTIALS_PREFIX, LIST_PATH, STATUS_PATH, name_from_raw
from ..operations import CredentialService
from ..system.peer import peer_in
from .envelope import error_response, internal_error
from .guards import send_error
from .listing import fields_from_query, listed_body
from .models import render_credential
from .plaintext import plain_secret, wants_plain_secret
from .prefer import wait_in

_BODY_HEADERS = (b"content-length", b"transfer-encoding")


class FastPath:
    def __init__(self, app: ASGIApp, service: CredentialService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or _has_body(scope):
            await self.app(scope, receive, send)
            return
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        if raw == LIST_PATH:
            await self._list(scope, receive, send)
        elif scope["query_string"]:
            await self.app(scope, receive, send)
        elif raw == STATUS_PATH:
            await self._answer(scope, receive, send, None)
        elif raw.startswith(CREDENTIALS_PREFIX):
            try:
                name = name_from_raw(raw[len(CREDENTIALS_PREFIX) :])
            except CreddError as exc:  # as Guards answers it, before any route
                await send_error(send, exc)
                return
            await self._answer(scope, receive, send, name)
        else:
            await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, name: str | None) -> None:
        response: Response
        try:
            if name is None:
                response = JSONResponse(self.service.status())
            else:
                credential = await self.service.get(name, peer_in(scope), wait_in(scope))
                if wants_plain_secret(_header(scope, b"accept")):
                    response = plain_secret(credential)
                else:
                    response = JSONResponse(render_credential(credential, with_secret=True))
        except CreddError as exc:
            response = error_response(exc.status, exc.code, exc.message)
        except Exception as exc:
            response = internal_error(scope["method"], scope["path"], exc)
        await response(scope, receive, send)

    async def _list(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        try:
            fields = fields_from_query(scope["query_string"])
            credentials = await self.service.list(wait_in(scope))
            body = listed_body(credentials, fields, self.service.vault.state().encoded)
            response = Response(body, media_type="application/json")
        except CreddError as exc:
            response = error_response(exc.status, exc.code, exc.message)
        except Exception as exc:
            response = internal_error(scope["method"], scope["path"], exc)
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _has_body(scope: Scope) -> bool:
    return any(key.lower() in _BODY_HEADERS for key, _ in scope["headers"])
