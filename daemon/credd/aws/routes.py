"""`/v1/aws/{name}`: the credential_process document, and an MFA session's login.

The name is read from the raw, still percent-encoded path (as the Guards do for
`/v1/credentials/{name}`), so a name holding `/` or `%` round-trips.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from credd_client.errors import InvalidRequest

from ..api.models import AWSLoginIn, AWSProcessCredentials
from ..api.prefer import wait_in
from ..apipaths import AWS_LOGIN_SUFFIX, AWS_PREFIX, name_from_raw
from ..operations import CredentialService
from ..system.peer import peer_in

NameInPath = Annotated[
    str,
    Path(description="the aws credential's name, percent-encoded", min_length=1),
]


def aws_router(service: CredentialService, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(responses=errors)

    @router.get("/aws/{name:path}", response_model=AWSProcessCredentials)
    async def aws_credentials(request: Request, name: NameInPath) -> JSONResponse:
        """Keys for AWS tools: an STS session valid for the margin (see the README, AWS)."""
        del name  # decoded from the raw path instead
        document = await service.aws_credentials(
            _name(request, b""), peer_in(request.scope), wait_in(request.scope)
        )
        return JSONResponse(document)

    @router.post("/aws/{name:path}/login", response_model=AWSProcessCredentials)
    async def aws_login(request: Request, name: NameInPath, body: AWSLoginIn) -> JSONResponse:
        """Start an MFA session with the device's code; answers its keys."""
        del name
        document = await service.aws_login(
            _name(request, AWS_LOGIN_SUFFIX), body.code, peer_in(request.scope)
        )
        return JSONResponse(document)

    return router


def _name(request: Request, suffix: bytes) -> str:
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    raw = raw.split(b"?", 1)[0]
    if not raw.startswith(AWS_PREFIX) or not raw.endswith(suffix):
        raise InvalidRequest("the path is /v1/aws/NAME, the name percent-encoded")
    return name_from_raw(raw[len(AWS_PREFIX) : len(raw) - len(suffix)])
