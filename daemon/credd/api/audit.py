"""ASGI middleware that writes one audit record per request under ``/v1`` (status excepted).

It sits outside every other layer, so refusals (a bad name, a body too large, a program
not allowed) are recorded too. The credential's name is read from the raw path the same way
the Guards do; the outcome is ``ok`` or the error envelope's code, never anything else of a
body.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credd_client.errors import CreddError

from ..apipaths import CREDENTIALS_PREFIX, KUBE_PREFIX, REFRESH_SUFFIX, name_from_raw
from ..audit import AuditLog
from ..system.peer import peer_in
from ..views.manager import view_in

_FIXED = {
    ("GET", b"/v1/credentials"): "list",
    ("POST", b"/v1/lock"): "lock",
    ("POST", b"/v1/unlock"): "unlock",
    ("POST", b"/v1/backup"): "backup",
    ("POST", b"/v1/restore"): "restore",
    ("POST", b"/v1/import"): "import",
    ("POST", b"/v1/reset"): "reset",
    ("GET", b"/v1/registration"): "get-registration",
    ("PUT", b"/v1/registration"): "set-registration",
    ("DELETE", b"/v1/registration"): "delete-registration",
    ("GET", b"/v1/views"): "list-views",
    ("GET", b"/v1/events"): "watch",
}
_VIEWS_PREFIX = b"/v1/views/"
_ON_VIEW = {"PUT": "add-view", "DELETE": "remove-view"}
_ON_CREDENTIAL = {"GET": "get", "PUT": "set", "DELETE": "delete"}
_NOT_AUDITED = {b"/v1/status"}
_MAX_ERROR_BODY = 64 * 1024


def classify(
    method: str, raw_path: bytes, through_view: bool = False
) -> tuple[str, str | None] | None:
    """(operation, credential name) of a request; None for what is not audited.

    Through a view everything is audited, its status and paths outside /v1 included.
    """
    path = raw_path.split(b"?", 1)[0]
    if through_view and (not path.startswith(b"/v1/") or path in _NOT_AUDITED):
        return ("status" if path in _NOT_AUDITED else "unknown"), None
    if not path.startswith(b"/v1/") or path in _NOT_AUDITED:
        return None
    fixed = _FIXED.get((method, path))
    if fixed is not None:
        return fixed, None
    if path.startswith(_VIEWS_PREFIX):
        return _ON_VIEW.get(method, "unknown"), None
    if path.startswith(KUBE_PREFIX):  # what `credd kube` asks: a read of the secret
        rest, op = path[len(KUBE_PREFIX) :], "kube" if method == "GET" else "unknown"
    elif path.startswith(CREDENTIALS_PREFIX):
        rest = path[len(CREDENTIALS_PREFIX) :]
        op = _ON_CREDENTIAL.get(method, "unknown")
        if method == "POST" and rest.endswith(REFRESH_SUFFIX):
            rest, op = rest[: -len(REFRESH_SUFFIX)], "refresh"
    else:
        return "unknown", None
    try:
        name: str | None = name_from_raw(rest)
    except CreddError:
        name = None
    return op, name


def _error_code(body: bytes) -> str:
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "error"
    return code if isinstance(code, str) else "error"


class Audit:
    def __init__(self, app: ASGIApp, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        live = view_in(scope)
        what = classify(
            scope["method"], scope.get("raw_path") or scope["path"].encode(), live is not None
        )
        if what is None:
            await self.app(scope, receive, send)
            return
        status: int | None = None
        error_body: list[bytes] = []

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif (
                message["type"] == "http.response.body"
                and status is not None
                and status >= 400
                and sum(map(len, error_body)) < _MAX_ERROR_BODY
            ):
                error_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if status is None:
                outcome = "aborted"
            elif status < 400:
                outcome = "ok"
            else:
                outcome = _error_code(b"".join(error_body))
            view = None if live is None else live.view.name
            self.log.record(what[0], what[1], outcome, status, peer_in(scope), view=view)
