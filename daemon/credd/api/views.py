"""`/v1/views`: make, list and remove views (main socket only: a view's policy refuses these)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from credd_client.errors import InvalidRequest

from ..operations import CredentialService
from ..views.manager import Views
from ..views.policy import check_view_name
from .models import ViewIn, ViewList, ViewStatus

ViewName = Annotated[
    str,
    Path(
        description="a plain word: letters, digits, '-' and '_'",
        min_length=1,
        max_length=64,
    ),
]


def views_router(service: CredentialService, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(responses=errors)

    def views() -> Views:
        if service.views is None:
            raise InvalidRequest("views need Unix sockets, which this platform does not serve")
        return service.views

    @router.get("/views", response_model=ViewList)
    async def list_views() -> JSONResponse:
        return JSONResponse({"views": views().statuses()})

    @router.put("/views/{name}", response_model=ViewStatus)
    async def put_view(name: ViewName, body: ViewIn) -> JSONResponse:
        """Make or replace a view; the answer carries its socket's path."""
        check_view_name(name)
        live = await views().add(
            name,
            body.patterns,
            write=body.write,
            ttl=body.ttl,
            uids=body.uids,
            ssh_keys=body.ssh_keys,
        )
        return JSONResponse(live.status())

    @router.delete("/views/{name}", status_code=204, response_class=Response)
    async def delete_view(name: ViewName) -> Response:
        """Remove a view: its socket and every connection on it close at once."""
        check_view_name(name)
        await views().remove(name)
        return Response(status_code=204)

    return router
