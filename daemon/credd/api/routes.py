"""The `/v1` routes. Thin: parse, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from credd_client.errors import InvalidRequest

from .. import __version__
from ..audit import AuditLog
from ..aws.routes import aws_router
from ..operations import CredentialService
from ..system.peer import peer_in
from ..views.manager import view_in
from ..views.policy import View
from .audit import Audit
from .envelope import install_error_handlers
from .events import events_router
from .fastpath import FastPath
from .guards import SCOPE_NAME, Guards
from .listing import FIELDS_DESCRIPTION, FIELDS_PATTERN, fields_from_query, listed_body
from .models import (
    SECRET_INCLUDES,
    CredentialIn,
    CredentialList,
    CredentialOut,
    ErrorOut,
    ImportIn,
    ImportOut,
    KubeOut,
    LockState,
    RegistrationIn,
    RegistrationOut,
    RekeyIn,
    RekeyOut,
    StatusOut,
    UnlockIn,
    render_credential,
    render_registration,
)
from .plaintext import OPENAPI_TEXT_ANSWER, plain_secret, wants_plain_secret
from .prefer import wait_in
from .recovery import recovery_router
from .sshkeys import sshkeys_router
from .viewpolicy import ViewPolicy
from .views import views_router

NAME_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]+$"

_INCLUDABLE = "(refresh_token|client_secret|id_token)"
INCLUDE_PATTERN = f"^ *{_INCLUDABLE}? *(, *{_INCLUDABLE}? *)*$"

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 403, 404, 409, 413, 423, 502, 503, 507)
}


# The dependencies are `async def` although they never await: FastAPI runs a plain `def`
# dependency in a worker thread, two thread hops on every request.
async def credential_name(
    request: Request,
    name: Annotated[
        str,
        Path(
            description="the credential's name, percent-encoded: 1 to 256 printable "
            "characters (no control, format or line-separator characters)",
            min_length=1,
            max_length=256,
            # Documents what a JSON Schema pattern can say; the Guards check the rest.
            pattern=NAME_PATTERN,
        ),
    ],
) -> str:
    """The real name, decoded and checked from the raw path by the Guards middleware."""
    del name  # the router only sees a placeholder
    real: str = request.scope[SCOPE_NAME]
    return real


async def parse_include(
    include: Annotated[
        str | None,
        Query(
            description="comma-separated secret fields to add: refresh_token, client_secret, "
            "id_token",
            pattern=INCLUDE_PATTERN,
        ),
    ] = None,
) -> frozenset[str]:
    if not include:
        return frozenset()
    fields = frozenset(part.strip() for part in include.split(",") if part.strip())
    unknown = fields - SECRET_INCLUDES
    if unknown:
        raise InvalidRequest(
            f"include takes {', '.join(sorted(SECRET_INCLUDES))}; not {', '.join(sorted(unknown))}"
        )
    return fields


Name = Annotated[str, Depends(credential_name)]
Issuer = Annotated[
    str, Query(min_length=1, max_length=2048, description="the issuer's URL, as in its metadata")
]
Include = Annotated[frozenset[str], Depends(parse_include)]
# `?fields=` is documented here and read by listing.py, for the fast path and the route
# alike (FastAPI would refuse a bad value in words of its own, not naming the wrong field).
LISTED_FIELDS_PARAMETER = {
    "name": "fields",
    "in": "query",
    "required": False,
    "description": FIELDS_DESCRIPTION,
    "schema": {"type": "string", "pattern": FIELDS_PATTERN},
}


def serving_app(service: CredentialService, audit: AuditLog) -> ASGIApp:
    """What the sockets serve: the audit outermost (it records refusals too), then the views'
    policy (a view's requests go no further unless it allows them), then the fast path for
    the hot reads, then FastAPI with the Guards."""
    return Audit(ViewPolicy(FastPath(create_app(service), service), service), log=audit)


def create_app(service: CredentialService) -> FastAPI:
    app = FastAPI(
        title="credd",
        version=__version__,
        description="A per-user credential daemon, served over a local socket.",
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(_router(service), prefix="/v1")
    app.include_router(recovery_router(service, ERRORS), prefix="/v1")
    app.include_router(views_router(service, ERRORS), prefix="/v1")
    app.include_router(events_router(service), prefix="/v1")
    app.include_router(sshkeys_router(service, ERRORS), prefix="/v1")
    app.include_router(aws_router(service, ERRORS), prefix="/v1")
    app.add_middleware(Guards)
    return app


def _router(service: CredentialService) -> APIRouter:
    router = APIRouter(responses=ERRORS)

    @router.get("/status", response_model=StatusOut)
    async def status() -> JSONResponse:
        return JSONResponse(service.status())

    @router.get(
        "/credentials",
        response_model=CredentialList,
        openapi_extra={"parameters": [LISTED_FIELDS_PARAMETER]},
    )
    async def list_credentials(request: Request) -> Response:
        # The fast path answers this route; a request with a body reaches it, answered alike.
        chosen = fields_from_query(request.scope["query_string"])
        credentials = await service.list(wait_in(request.scope))
        return Response(listed_body(credentials, chosen), media_type="application/json")

    @router.get(
        "/credentials/{name}", response_model=CredentialOut, responses={200: OPENAPI_TEXT_ANSWER}
    )
    async def get_credential(request: Request, name: Name, include: Include) -> Response:
        credential = await service.get(name, peer_in(request.scope), wait_in(request.scope))
        if wants_plain_secret(request.headers.get("accept")):
            return plain_secret(credential)
        return JSONResponse(render_credential(credential, with_secret=True, include=include))

    @router.put("/credentials/{name}", response_model=CredentialOut)
    async def put_credential(request: Request, name: Name, body: CredentialIn) -> JSONResponse:
        credential = await service.put(body.to_credential(name), _view_of(request))
        return JSONResponse(render_credential(credential, with_secret=False))

    @router.delete("/credentials/{name}", status_code=204, response_class=Response)
    async def delete_credential(request: Request, name: Name) -> Response:
        await service.delete(name, _view_of(request))
        return Response(status_code=204)

    @router.post("/credentials/{name}/refresh", response_model=CredentialOut)
    async def refresh_credential(request: Request, name: Name) -> JSONResponse:
        credential = await service.refresh(name, peer_in(request.scope), wait_in(request.scope))
        return JSONResponse(render_credential(credential, with_secret=True))

    @router.get("/kube/{name}", response_model=KubeOut)
    async def kube_credential(request: Request, name: Name) -> JSONResponse:
        """What the Kubernetes exec credential plugin (`credd kube`) needs, fresh."""
        answer = await service.kube(name, peer_in(request.scope))
        return JSONResponse(answer.to_json())

    @router.post("/import", response_model=ImportOut)
    async def import_credentials(request: Request, body: ImportIn) -> JSONResponse:
        """Many credentials in one durable commit: nothing is written unless all of it is."""
        incoming = [c.to_credential(c.name) for c in body.credentials]
        actions, written = await service.import_credentials(
            incoming, overwrite=body.overwrite, dry_run=body.dry_run, peer=peer_in(request.scope)
        )
        results = [
            {"name": c.name, "action": action} for c, action in zip(incoming, actions, strict=True)
        ]
        return JSONResponse({"results": results, "written": written})

    @router.get("/registration", response_model=RegistrationOut)
    async def get_registration(issuer: Issuer) -> JSONResponse:
        """The client credd registered with this issuer (RFC 7591), secrets included."""
        return JSONResponse(render_registration(await service.get_registration(issuer)))

    @router.put("/registration", response_model=RegistrationOut)
    async def put_registration(body: RegistrationIn) -> JSONResponse:
        registration = await service.put_registration(body.to_registration())
        return JSONResponse(render_registration(registration))

    @router.delete("/registration", status_code=204, response_class=Response)
    async def delete_registration(issuer: Issuer) -> Response:
        await service.delete_registration(issuer)
        return Response(status_code=204)

    @router.post("/lock", response_model=LockState)
    async def lock() -> JSONResponse:
        await service.lock()
        return JSONResponse({"locked": True})

    @router.post("/unlock", response_model=LockState)
    async def unlock(body: UnlockIn | None = None) -> JSONResponse:
        await service.unlock(None if body is None else body.passphrase)
        return JSONResponse({"locked": False})

    @router.post("/rekey", response_model=RekeyOut)
    async def rekey(body: RekeyIn) -> JSONResponse:
        return JSONResponse(await service.rekey(body.to, body.passphrase))

    return router


def _view_of(request: Request) -> View | None:
    """The view a request came through (the policy let it by), None on the main socket."""
    live = view_in(request.scope)
    return None if live is None else live.view
