"""The daemon's operations, as the API exposes them: async, over the vault.

Reads are served from memory on the event loop; anything that touches the keyring or the
disk runs in a worker thread so one slow fsync or D-Bus call never stalls other clients.

Locking: `credd lock` holds the daemon locked until `credd unlock`; `lock_after` drops the key
after that long without a credential request (an idle lock), and the next request unlocks
through the keyring again. A store sealed with a passphrase is never unlocked on demand: only
`credd unlock` with the passphrase opens it. Every lock goes through `_drop_key`: a locked
daemon holds no key, so it refreshes nothing until it is unlocked again (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from credd_client.errors import CreddError, InvalidRequest, Locked, NotFound, StoreUnreadable

from . import __version__
from .access import check_reader
from .aws.keeper import SessionKeeper, aws_summary
from .backup import RestoreReport, check_passphrase, open_backup, plan_restore, seal_backup
from .config import Config
from .events.hub import EventHub
from .imports import Action, ImportCredentials, NothingToImport
from .kube.answer import KubeAnswer, kube_answer
from .oauth.endpoints import check_endpoint
from .oauth.http import HttpxTokenEndpoint
from .oauth.refresher import Refresher
from .oauth.schedule import DEFAULT_WAIT, answer_wait
from .paths import StatePaths
from .store.batching import GroupCommit
from .store.core import (
    Change,
    Checked,
    DeleteCredential,
    DeleteRegistration,
    PutCredential,
    PutRegistration,
)
from .store.records import Credential, Registration, StoreState, format_time, utc_now
from .store.vault import Vault
from .system.peer import UNKNOWN_PEER, Peer, programs
from .views.manager import LiveView, Views
from .views.policy import View, check_write

log = logging.getLogger(__name__)

# After a failed unlock, requests do not ask the keyring again sooner than this.
UNLOCK_RETRY_SECONDS = 5.0
# A due idle lock postponed by a refresh in flight is tried again this often.
IDLE_LOCK_RECHECK = 1.0


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
        self._unlocking: asyncio.Task[None] | None = None  # an unlock on demand in flight
        self._last_failed_unlock: float | None = None
        self._writes = GroupCommit(vault.commit)  # concurrent writes share a durable commit
        self._last_use = time.monotonic()
        self.views: Views | None = None  # set by the server where it serves views
        self.events = EventHub()  # the watchers of GET /v1/events, told of every change
        vault.observer = self.events.store_changed
        # Called by every lock: what holds plaintext beside the vault (the SSH agent's loaded
        # keys) drops it too.
        self.on_lock: list[Callable[[], None]] = []
        self.aws_sessions = SessionKeeper(vault, config)

    # --- lock state ------------------------------------------------------------------------

    async def _ready(self, wait: float = DEFAULT_WAIT) -> None:
        """Unlock on demand unless the user locked explicitly or a passphrase is needed,
        waiting for the keyring at most ``wait`` seconds (what the client waits)."""
        self._last_use = time.monotonic()
        if not self.vault.locked:
            return
        if self._held_locked:
            raise Locked("credd is locked; run `credd unlock`")
        if self.vault.key_source().interactive:
            if self.vault.unreadable_reason is not None:  # a damaged store says so first
                raise StoreUnreadable(self.vault.unreadable_reason)
            raise Locked("credd is locked: run `credd unlock` and type the store's passphrase")
        failed = self._last_failed_unlock
        if failed is not None and time.monotonic() - failed < UNLOCK_RETRY_SECONDS:
            self.vault.state()  # raises the reason of the last attempt
        await self._unlock_within(wait)

    async def _unlock_within(self, wait: float) -> None:
        """Join the unlock in flight (or start one) for at most ``wait`` seconds; past that it
        goes on in the background, and this request is answered `locked`, saying so."""
        task = self._unlocking
        if task is None:
            task = self._unlocking = asyncio.create_task(self._unlock())
            task.add_done_callback(self._unlock_done)
        try:
            await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            raise Locked(
                f"the keyring has not answered within {wait:g} s (as long as the client "
                "waits); credd is still asking it: try again in a moment"
            ) from None

    def _unlock_done(self, task: asyncio.Task[None]) -> None:
        self._unlocking = None
        if not task.cancelled():
            task.exception()  # each waiter got it; retrieved here for the ones that left

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
            self.aws_sessions.changed()

    def _drop_key(self, reason: str) -> None:
        """Every lock comes here: the key and every plaintext leave memory.

        Background refresh needs the key, so it stops with it: the refresher schedules
        nothing while the vault is locked, and refreshes that came due meanwhile start at
        the next unlock. A refresh already sent when `credd lock` comes keeps its answer
        (a rotated refresh token) in memory until the unlock lets it be stored: dropping it
        would lose the grant. An idle lock instead waits until no refresh is in flight.
        """
        self.vault.lock(reason)
        for forget in self.on_lock:
            forget()

    async def lock(self) -> None:
        self._held_locked = True
        self._drop_key("locked by `credd lock`; run `credd unlock`")

    async def unlock(self, passphrase: str | None = None) -> None:
        """Fetch the key again; a passphrase store needs ``passphrase`` (used once, dropped)."""
        self._held_locked = False
        self._last_failed_unlock = None
        self._last_use = time.monotonic()
        source = self.vault.keys.passphrase
        if self.vault.locked and self.vault.key_source().interactive:
            if passphrase is None:
                raise Locked("this store is sealed with a passphrase: `credd unlock` asks for it")
        elif passphrase is not None and self.vault.locked:
            raise InvalidRequest(
                f"this store's key is in {self.vault.key_source().describe()}, not a passphrase"
            )
        async with self._unlock_gate:
            if not self.vault.locked:
                return
            source.provide(passphrase)
            try:
                await asyncio.to_thread(self.vault.unlock)
            finally:
                source.provide(None)
            self._last_use = time.monotonic()  # the idle time counts from the unlock
            self.refresher.changed()
            self.aws_sessions.changed()

    async def rekey(self, target: str, passphrase: str | None = None) -> dict[str, Any]:
        """Re-encrypt the store under a new key source; the old key goes once it is safe."""
        await self._ready()
        new = self.vault.keys.by_name(target)
        if new.interactive and passphrase is None:
            raise InvalidRequest("moving the store to a passphrase needs the new passphrase")
        if not new.interactive and passphrase is not None:
            raise InvalidRequest(f"{target} takes no passphrase")
        async with self._unlock_gate:
            self.vault.keys.passphrase.provide(passphrase)
            try:
                old = await asyncio.to_thread(self.vault.rekey, new)
            finally:
                self.vault.keys.passphrase.provide(None)
        log.info("store re-encrypted: from %s to %s", old.describe(), new.describe())
        return {"from": old.name, "to": new.name, "key_backend": new.describe()}

    async def try_unlock_at_start(self) -> None:
        """Fetch the key once at start, so the first client does not wait for the keyring."""
        if self.vault.key_source().interactive:
            self.vault.lock("waiting for the passphrase: run `credd unlock`")
            return
        try:
            await self._unlock()
        except Exception:  # reported by status and on every request; the daemon serves on
            return

    # --- idle lock -------------------------------------------------------------------------

    def start_background_tasks(self) -> list[asyncio.Task[None]]:
        tasks = []
        if self.config.lock_after is not None:
            tasks.append(asyncio.create_task(self._idle_lock(self.config.lock_after)))
        return tasks

    def locks_in(self) -> float | None:
        """Seconds until the idle lock, or None when none is due (locked, or no lock_after)."""
        if self.config.lock_after is None or self.vault.locked:
            return None
        return max(0.0, self._last_use + self.config.lock_after - time.monotonic())

    async def _idle_lock(self, lock_after: float) -> None:
        while True:
            remaining = self.locks_in()
            if remaining is None:
                remaining = lock_after
            elif remaining <= 0 and (self.refresher.busy() or self.aws_sessions.busy()):
                remaining = IDLE_LOCK_RECHECK  # a refresh's answer must be stored first
            elif remaining <= 0:
                then = (
                    "run `credd unlock`"
                    if self.vault.key_source().interactive
                    else "the next request unlocks again"
                )
                self._drop_key(f"idle for {lock_after:g} s (lock_after); {then}")
                log.info("locked after %g s without requests", lock_after)
                remaining = lock_after
            await asyncio.sleep(remaining)

    # --- credentials -----------------------------------------------------------------------

    def _wait(self, requested: float | None) -> float:
        return answer_wait(requested, self.config.refresh_timeout)

    async def list(self, wait: float | None = None) -> list[Credential]:
        await self._ready(self._wait(wait))
        return sorted(self.vault.state().credentials.values(), key=lambda c: c.name)

    async def get(
        self, name: str, peer: Peer = UNKNOWN_PEER, wait: float | None = None
    ) -> Credential:
        """The credential with its secret, for a peer its `allowed_programs` let read it;
        ``wait``: the client's `Prefer: wait`, which bounds the keyring and the refresh."""
        bound = self._wait(wait)
        started = time.monotonic()
        await self._ready(bound)
        credential = self.vault.state().credentials.get(name)
        if credential is None:
            raise NotFound(f"no credential named {name!r}")
        check_reader(credential, peer)
        left = max(0.0, bound - (time.monotonic() - started))
        return await self.refresher.fresh(credential, left)

    async def aws_credentials(self, name: str, peer: Peer, wait: float | None) -> dict[str, Any]:
        """`credential_process`'s document for an aws credential (see aws/keeper.py); ``wait``
        is the client's `Prefer: wait`."""
        wait = self._wait(wait)
        await self._ready(wait)
        credential = self.vault.state().credentials.get(name)
        if credential is None:
            raise NotFound(f"no credential named {name!r}")
        check_reader(credential, peer)
        return await self.aws_sessions.credentials(credential, wait)

    async def aws_login(self, name: str, code: str, peer: Peer) -> dict[str, Any]:
        await self._ready()
        credential = self.vault.state().credentials.get(name)
        if credential is None:
            raise NotFound(f"no credential named {name!r}")
        check_reader(credential, peer)
        return await self.aws_sessions.login(credential, code)

    async def kube(self, name: str, peer: Peer = UNKNOWN_PEER) -> KubeAnswer:
        """What `credd kube` answers kubectl, from the credential as a GET serves it."""
        credential = await self.get(name, peer)
        return kube_answer(credential, utc_now())

    async def put(self, credential: Credential, view: View | None = None) -> Credential:
        """Create or replace; through ``view``, plain secrets only (`check_write`)."""
        await self._ready()
        change: Change
        if view is None:
            if credential.oauth is not None:
                check_endpoint(credential.oauth.token_endpoint, "token endpoint")
            change = PutCredential(self.refresher.plan(credential.replace(origin=None)))
        else:  # an oauth2 one never gets past check_write: no endpoint to look at
            credential = credential.replace(origin=view.name)
            change = PutCredential(self.refresher.plan(credential))
            change = Checked(change, credential.name, _view_write(view, credential))
        state = await self._writes.commit(change)
        self.refresher.changed()
        self.aws_sessions.changed()
        return state.credentials[credential.name]

    async def import_credentials(
        self,
        credentials: Sequence[Credential],
        *,
        overwrite: bool,
        dry_run: bool,
        peer: Peer = UNKNOWN_PEER,
    ) -> tuple[Sequence[Action], bool]:
        """Compare many credentials with the store and write them in one durable commit.

        Returns what became of each (see imports.py) and whether anything was written.
        With ``dry_run``, only compares with what the file holds now.
        """
        await self._ready()
        for credential in credentials:
            if credential.oauth is not None:
                check_endpoint(
                    credential.oauth.token_endpoint, f"token endpoint of {credential.name!r}"
                )
        change = ImportCredentials([self.refresher.plan(c) for c in credentials], overwrite, peer)
        if dry_run:
            change.plan(await asyncio.to_thread(self.vault.current))
            return change.actions, False
        try:
            await self._writes.commit(change)
        except NothingToImport:
            return change.actions, False
        self.refresher.changed()
        self.aws_sessions.changed()
        return change.actions, True

    async def refresh(
        self, name: str, peer: Peer = UNKNOWN_PEER, wait: float | None = None
    ) -> Credential:
        bound = self._wait(wait)
        started = time.monotonic()
        await self._ready(bound)
        credential = self.vault.state().credentials.get(name)
        if credential is not None:  # an absent one: the refresher says not_found
            check_reader(credential, peer)
        left = max(0.0, bound - (time.monotonic() - started))
        return await self.refresher.refresh_now(name, left)

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

    async def change(self, change: Change) -> StoreState:
        """Commit one change (the SSH keys' own, sshagent/changes.py) durably."""
        await self._ready()
        return await self._writes.commit(change)

    async def delete(self, name: str, view: View | None = None) -> None:
        await self._ready()
        change: Change = DeleteCredential(name)
        if view is not None:
            change = Checked(change, name, _view_write(view, None))
        await self._writes.commit(change)

    # --- recovery: backup, restore, reset ------------------------------------------------

    async def backup(self, passphrase: str) -> tuple[bytes, int]:
        """Every credential as the file holds it now, sealed under the passphrase."""
        check_passphrase(passphrase)
        await self._ready()
        state = await asyncio.to_thread(self.vault.current)
        blob = await asyncio.to_thread(seal_backup, state, passphrase)
        return blob, len(state.credentials)

    async def restore(self, blob: bytes, passphrase: str, overwrite: bool) -> RestoreReport:
        """Merge a backup into the store in one durable write; nothing changes on any error."""
        incoming = await asyncio.to_thread(open_backup, blob, passphrase)
        await self._ready()
        change = RestoreCredentials(incoming, overwrite)
        await asyncio.to_thread(self.vault.commit, change)
        self.refresher.changed()  # restored oauth2 credentials join the refresh schedule
        assert change.report is not None
        return change.report

    async def reset(self) -> str | None:
        """Move aside a store that cannot be opened and start an empty one."""
        if self.vault.locked and not self._held_locked:
            with contextlib.suppress(CreddError):
                await self._unlock()
        if not self.vault.locked:
            raise InvalidRequest(
                "the store opens fine; `credd reset` only moves aside a store credd cannot open"
            )
        if self._held_locked:
            raise Locked("credd is locked by `credd lock`; run `credd unlock` first")
        stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
        moved = await asyncio.to_thread(self.vault.reset, stamp)
        self._last_failed_unlock = None
        self.refresher.changed()
        return None if moved is None else str(moved)

    # --- status ------------------------------------------------------------------------------

    def status(self, view: LiveView | None = None) -> dict[str, Any]:
        """The daemon's health; through a view, `view_status`."""
        if view is not None:
            return self.view_status(view)
        vault = self.vault
        source = vault.key_source()
        version = vault.file.version()
        if vault.unreadable_reason is not None:
            store_state = "unreadable"
        else:
            store_state = "ok" if version is not None else "missing"
        return {
            **self._health(None),
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
            "lock_reason": vault.locked_reason if vault.locked else None,
            "lock_after": self.config.lock_after,
            "locks_at": self._locks_at(),
            "programs": programs.current().to_json(),
            "views": None if self.views is None else self.views.statuses(),
            "view": None,
            # Change events (issue 22): who watches, and which exec/render holds what.
            "watchers": self.events.status(),
        }

    def view_status(self, view: LiveView) -> dict[str, Any]:
        """A view's status: health, version, the view's own expiry and the counts of the names
        it matches. Nothing about the store: its size moves with the length of every secret,
        and paths name the user's folders (so no socket, store, key or lock reason)."""
        own = view.status()
        own["socket"] = None
        return {
            **self._health(view),
            "socket": None,
            "store": None,
            "key_backend": None,
            "lock_reason": None,
            "lock_after": None,
            "locks_at": None,
            "programs": None,
            "views": None,
            "view": own,
            "watchers": None,
        }

    def _health(self, view: LiveView | None) -> dict[str, Any]:
        """What both statuses say: up since when, locked, and the credentials' counts (through
        a view, of its names only)."""
        vault = self.vault
        counts: dict[str, Any] = {"total": None, "by_kind": {}, "by_status": {}}
        oauth: dict[str, Any] = {"next_refresh_at": None, "failures": [], "credentials": []}
        aws: dict[str, Any] = {"next_refresh_at": None, "failures": [], "credentials": []}
        if not vault.locked:
            credentials = list(vault.state().credentials.values())
            if view is not None:
                credentials = [c for c in credentials if view.view.matches(c.name)]
            counts["total"] = len(credentials)
            counts["by_kind"] = dict(Counter(c.kind for c in credentials))
            counts["by_status"] = dict(
                Counter(c.oauth.status for c in credentials if c.oauth is not None)
            )
            oauth = _oauth_summary(credentials)
            aws = aws_summary(credentials)
        return {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": format_time(self.started_at),
            "uptime_seconds": round(time.monotonic() - self._started_monotonic, 3),
            "locked": vault.locked,
            "credentials": counts,
            "oauth": oauth,
            "aws": aws,
        }

    def _locks_at(self) -> str | None:
        remaining = self.locks_in()
        if remaining is None:
            return None
        return format_time(utc_now() + timedelta(seconds=remaining))

    def summary(self) -> str:
        """One line for `systemctl --user status`."""
        source = self.vault.key_source()
        state = "locked" if self.vault.locked else "unlocked"
        insecure = ", INSECURE" if source.insecure else ""
        blind = "" if programs.current().identifiable else "; programs not identifiable"
        return f"serving on {self.paths.socket}; {state}; key: {source.name}{insecure}{blind}"


class RestoreCredentials:
    """The change a restore makes, planned against what the file holds at commit time."""

    def __init__(self, incoming: StoreState, overwrite: bool) -> None:
        self.incoming = incoming
        self.overwrite = overwrite
        self.report: RestoreReport | None = None

    def apply(self, state: StoreState) -> StoreState:
        report = plan_restore(state.credentials, self.incoming.credentials, self.overwrite)
        taken = {name: self.incoming.credentials[name] for name in report.added + report.replaced}
        self.report = report
        # Client registrations (RFC 7591) the store lacks come back too; one it holds is kept.
        registrations = {**self.incoming.registrations, **state.registrations}
        return dataclasses.replace(
            state, credentials={**state.credentials, **taken}, registrations=registrations
        )


def _view_write(view: View, new: Credential | None) -> Callable[[Credential | None], None]:
    def check(stored: Credential | None) -> None:
        check_write(view, stored, new)

    return check


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
