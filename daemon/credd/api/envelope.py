"""Every error leaves the daemon as `{"error": {"code": ..., "message": ...}}`.

Validation messages name the field and the rule, never the value given: a value may be a
secret sent to the wrong place.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from credd_client.errors import CreddError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    404: ("not_found", "no such path; the API lives under /v1 (see /openapi.json)"),
    405: ("method_not_allowed", "this path does not take that method (see /openapi.json)"),
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def describe_validation(errors: Sequence[Any]) -> str:
    problems = []
    for error in errors:
        # The top-level field only: deeper parts of the location are keys the caller
        # chose (a label's name), which may be anything.
        fields = [str(part) for part in error.get("loc", ()) if part != "body"][:1]
        problems.append(f"{fields[0] if fields else 'body'}: {error.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(problems)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CreddError)
    async def credd_error(_: Request, exc: CreddError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_request", describe_validation(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code, message = _HTTP_CODES.get(exc.status_code, ("invalid_request", str(exc.detail)))
        return error_response(exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request.method, request.url.path, exc)


def internal_error(method: str, path: str, exc: Exception) -> JSONResponse:
    # The type and place only: an exception's text could hold a value.
    log.error("internal error handling %s %s: %s", method, path, type(exc).__name__)
    return error_response(500, "internal_error", "internal error; see the daemon's log")
