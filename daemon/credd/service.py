"""The daemon's operations, as the API exposes them: async, over the vault.

Reads are served from memory on the event loop; anything that touches the keyring or the
disk runs in a worker thread so one slow fsync or D-Bus call never stalls other clients.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import datetime
from typing import Any

from credd_client.errors import Locked, NotFound

from . import __version__
from .config import Config
from .oauth.http import HttpxTokenEndpoint
from .oauth.refresher import Refresher
from .paths import StatePaths
from .store.batching import GroupCommit
from .store.core import DeleteCredential, DeleteRegistration, PutCredential, PutRegistration
from .store.records import Credential, Registration, format_time, utc_now
from .store.vault import Vault

# After a failed unlock, requests do not ask the keyring again sooner than this.
UNLOCK_RETRY_SECONDS = 5.0


class CredentialService:
    def __init__(
        self,
        vault: Vault,
        config: Config,
        paths: StatePaths,
        refresher: Refresher | None = None,
    ) -> None:
        self.vault = vault
        self.config = config
        self.paths = paths
        self.refresher = refresher or Refresher(
            vault, config, HttpxTokenEndpoint(config.refresh_timeout)
        )
        self.started_at: datetime = utc_now()
        self._started_monotonic = time.monotonic()
        self._held_locked = False  # `credd lock`: no unlock on demand until `credd unlock`
        self._unlock_gate = asyncio.Lock()
        self._last_failed_unlock: float | None = None
        self._writes = GroupCommit(vault.commit)  # concurrent writes share a durable commit

    # --- lock state ------------------------------------------------------------------------

    async def _ready(self) -> None:
        """Unlock on demand unless the user locked explicitly."""
        if not self.vault.locked:
            return
        if self._held_locked:
            raise Locked("credd is locked; run `credd unlock`")
        failed = self._last_failed_unlock
        if failed is not None and time.monotonic() - failed < UNLOCK_RETRY_SECONDS:
            self.vault.state()  # raises the reason of the last attempt
        await self._unlock()

    async def _unlock(self) -> None:
        async with self._unlock_gate:
            if not self.vault.locked:
                return
            try:
                await asyncio.to_thread(self.vault.unlock)
            except Exception:
                self._last_failed_unlock = time.monotonic()
                raise
            self._last_failed_unlock = None
            self.refresher.changed()

    async def lock(self) -> None:
        self._held_locked = True
        self.vault.lock("locked by `credd lock`; run `credd unlock`")

    async def unlock(self) -> None:
        self._held_locked = False
        self._last_failed_unlock = None
        await self._unlock()

    async def try_unlock_at_start(self) -> None:
        """Fetch the key once at start, so the first client does not wait for the keyring."""
        try:
            await self._unlock()
        except Exception:  # reported by status and on every request; the daemon serves on
            return

    # --- credentials -----------------------------------------------------------------------

    async def list(self) -> list[Credential]:
        await self._ready()
        return sorted(self.vault.state().credentials.values(), key=lambda c: c.name)

    async def get(self, name: str) -> Credential:
        await self._ready()
        credential = self.vault.state().credentials.get(name)
        if credential is None:
            raise NotFound(f"no credential named {name!r}")
        return await self.refresher.fresh(credential)

    async def put(self, credential: Credential) -> Credential:
        await self._ready()
        change = PutCredential(self.refresher.plan(credential))
        state = await self._writes.commit(change)
        self.refresher.changed()
        return state.credentials[credential.name]

    async def refresh(self, name: str) -> Credential:
        await self._ready()
        return await self.refresher.refresh_now(name)

    # --- client registrations (RFC 7591), one per issuer ----------------------------------------

    async def get_registration(self, issuer: str) -> Registration:
        await self._ready()
        registration = self.vault.state().registrations.get(issuer)
        if registration is None:
            raise NotFound(f"no client registration for the issuer {issuer!r}")
        return registration

    async def put_registration(self, registration: Registration) -> Registration:
        await self._ready()
        state = await asyncio.to_thread(self.vault.commit, PutRegistration(registration))
        return state.registrations[registration.issuer]

    async def delete_registration(self, issuer: str) -> None:
        await self._ready()
        await asyncio.to_thread(self.vault.commit, DeleteRegistration(issuer))

    async def delete(self, name: str) -> None:
        await self._ready()
        await self._writes.commit(DeleteCredential(name))

    # --- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        vault = self.vault
        source = vault.key_source()
        version = vault.file.version()
        if vault.unreadable_reason is not None:
            store_state = "unreadable"
        else:
            store_state = "ok" if version is not None else "missing"
        counts: dict[str, Any] = {"total": None, "by_kind": {}, "by_status": {}}
        oauth: dict[str, Any] = {"next_refresh_at": None, "failures": [], "credentials": []}
        if not vault.locked:
            credentials = list(vault.state().credentials.values())
            counts["total"] = len(credentials)
            counts["by_kind"] = dict(Counter(c.kind for c in credentials))
            counts["by_status"] = dict(
                Counter(c.oauth.status for c in credentials if c.oauth is not None)
            )
            oauth = _oauth_summary(credentials)
        return {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": format_time(self.started_at),
            "uptime_seconds": round(time.monotonic() - self._started_monotonic, 3),
            "socket": str(self.paths.socket),
            "store": {
                "path": str(vault.file.path),
                "exists": version is not None,
                "size": None if version is None else version.size,
                "state": store_state,
                "error": vault.unreadable_reason,
            },
            "key_backend": {
                "name": source.name,
                "detail": source.describe(),
                "insecure": source.insecure,
                "reason": source.reason,
            },
            "locked": vault.locked,
            "lock_reason": vault.locked_reason if vault.locked else None,
            "credentials": counts,
            "oauth": oauth,
        }


def _oauth_summary(credentials: list[Credential]) -> dict[str, Any]:
    each = [
        {
            "name": c.name,
            "status": c.oauth.status,
            "expires_at": None if c.oauth.expires_at is None else format_time(c.oauth.expires_at),
            "next_refresh_at": None
            if c.oauth.next_refresh_at is None
            else format_time(c.oauth.next_refresh_at),
            "last_error": c.oauth.last_error,
        }
        for c in sorted(credentials, key=lambda c: c.name)
        if c.oauth is not None
    ]
    pending = [
        c.oauth.next_refresh_at
        for c in credentials
        if c.oauth is not None and c.oauth.next_refresh_at is not None
    ]
    failures = [
        {"name": c.name, "status": c.oauth.status, "last_error": c.oauth.last_error}
        for c in credentials
        if c.oauth is not None and c.oauth.status != "ok"
    ]
    return {
        "next_refresh_at": format_time(min(pending)) if pending else None,
        "failures": failures,
        "credentials": each,
    }
