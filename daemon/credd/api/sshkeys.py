"""The `/v1/ssh-keys` routes: store, make, order and offer SSH keys (issue 20).

Deleting one is `DELETE /v1/credentials/{name}`; reading one is `GET /v1/credentials/{name}`
(its `secret` is the public key line). No route answers a private key. Through a view every
route here is forbidden (the view policy has no row for them).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from credd_client.errors import InvalidRequest

from ..operations import CredentialService
from ..sshagent.changes import AddKeys, NewKey, OrderKeys, SetOffered, ssh_keys
from ..sshagent.keys import BadKey, generate, load_file
from .models import (
    CredentialList,
    CredentialOut,
    SSHKeyGenerateIn,
    SSHKeyNamesIn,
    SSHKeysImportIn,
    SSHKeysImportOut,
    render_credential,
)


def sshkeys_router(
    service: CredentialService, errors: dict[int | str, dict[str, Any]]
) -> APIRouter:
    router = APIRouter(responses=errors)

    async def listing() -> JSONResponse:
        await service.list()  # unlocks as any list does (or says why not)
        keys = ssh_keys(service.vault.state())
        return JSONResponse(
            {"credentials": [render_credential(c, with_secret=False) for c in keys]}
        )

    @router.get("/ssh-keys", response_model=CredentialList)
    async def list_keys() -> JSONResponse:
        """Every ssh-key, in the order the agent offers them."""
        return await listing()

    @router.post("/ssh-keys", response_model=SSHKeysImportOut)
    async def import_keys(body: SSHKeysImportIn) -> JSONResponse:
        """Store unencrypted private keys in one durable commit (all of them, or none)."""
        keys = []
        for item in body.keys:
            try:
                key = load_file(item.private_key.encode(), None, item.comment)
            except BadKey as exc:
                raise InvalidRequest(f"the key for {item.stem!r}: {exc}") from None
            keys.append(NewKey(item.stem, key, tuple(item.allowed_programs)))
        change = AddKeys(keys)
        if body.dry_run:
            change.apply(await asyncio.to_thread(service.vault.current))
            written = False
        else:
            await service.change(change)
            written = any(action != "unchanged" for _, action, _ in change.results)
        results = [
            {"name": name, "action": action, "fingerprint": fingerprint}
            for name, action, fingerprint in change.results
        ]
        return JSONResponse({"results": results, "written": written})

    @router.post("/ssh-keys/generate", response_model=CredentialOut)
    async def generate_key(body: SSHKeyGenerateIn) -> JSONResponse:
        """A new key, made and kept by the daemon; the answer carries its public key line."""
        key = await asyncio.to_thread(generate, body.type, body.comment)
        change = AddKeys([NewKey(body.name, key, tuple(body.allowed_programs))], exact_names=True)
        state = await service.change(change)
        credential = state.credentials[change.results[0][0]]
        return JSONResponse(render_credential(credential, with_secret=True))

    @router.put("/ssh-keys/order", response_model=CredentialList)
    async def order_keys(body: SSHKeyNamesIn) -> JSONResponse:
        """Offer these keys first, in this order."""
        await service.change(OrderKeys(body.names))
        return await listing()

    @router.post("/ssh-keys/offer", response_model=CredentialList)
    async def offer_keys(body: SSHKeyNamesIn) -> JSONResponse:
        """Offer keys again that `ssh-add -d/-D` (or a lifetime) stopped offering."""
        await service.change(SetOffered(True, names=frozenset(body.names)))
        return await listing()

    return router
