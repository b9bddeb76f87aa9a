"""`/v1/backup`, `/v1/restore`, `/v1/reset`: the routes of recovery.

The daemon seals and opens backups itself, so a backup's plaintext never leaves it: the
passphrase comes in the request body over the peer-checked socket, the sealed bytes go out
base64 in the answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .. import backup
from ..operations import CredentialService
from .models import BackupIn, BackupOut, ResetOut, RestoreIn, RestoreOut


def recovery_router(
    service: CredentialService, errors: dict[int | str, dict[str, Any]]
) -> APIRouter:
    router = APIRouter(responses=errors)

    @router.post("/backup", response_model=BackupOut)
    async def make_backup(body: BackupIn) -> JSONResponse:
        blob, count = await service.backup(body.passphrase)
        return JSONResponse({"backup": backup.encode(blob), "count": count})

    @router.post("/restore", response_model=RestoreOut)
    async def restore(body: RestoreIn) -> JSONResponse:
        report = await service.restore(backup.decode(body.backup), body.passphrase, body.overwrite)
        return JSONResponse(report.to_json())

    @router.post("/reset", response_model=ResetOut)
    async def reset() -> JSONResponse:
        return JSONResponse({"moved_to": await service.reset()})

    return router
