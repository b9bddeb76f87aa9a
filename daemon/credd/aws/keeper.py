"""The STS sessions of `aws` credentials: handed out, cached in the store, renewed ahead.

The same machinery as the OAuth refresher (oauth/refresher.py), for sessions:

- One renewal in flight per credential: every GET that finds its session due joins it.
- A semaphore bounds the renewals in flight overall (`max_concurrent_refreshes`).
- The schedule is the store's `next_refresh_at`, so it survives a restart; a failed
  renewal is retried with the OAuth schedule's backoff and jitter, while the cached
  session is served until it truly expires.
- Every answer within a bound: a GET waits for a renewal at most the client's
  `Prefer: wait` (capped at `refresh_timeout`), and a session still valid when the GET came
  is answered before it stops being valid.
- A locked credd renews nothing (the long-lived key is in the locked store); renewals that
  came due start at the next unlock.
- An MFA session is never renewed in the background (it needs a code): at its expiry a GET
  answers `needs_login` naming `credd aws login NAME`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shlex
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from credd_client.errors import CreddError, InvalidRequest, NeedsLogin, NotFound, RefreshFailed

from ..background import STOP_GRACE, PerName
from ..config import Config
from ..oauth import schedule as oauth_schedule
from ..oauth.changes import Superseded
from ..store.batching import GroupCommit
from ..store.core import Change
from ..store.records import AWSFields, Credential, StoreState, format_time, utc_now
from ..store.vault import Vault
from . import schedule
from .changes import RecordSessionFailure, StoreSession
from .sts import (
    BotocoreSTS,
    EndpointRefused,
    Failed,
    Keys,
    Session,
    SessionRequest,
    endpoint,
)

log = logging.getLogger(__name__)


class STS(Protocol):
    def request_session(self, request: SessionRequest) -> Session | Failed: ...


def login_command(name: str) -> str:
    return f"credd aws login {shlex.quote(name)}"


class SessionKeeper:
    def __init__(
        self,
        vault: Vault,
        config: Config,
        sts: STS | None = None,
        clock: Callable[[], datetime] = utc_now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.vault = vault
        self.config = config
        self.clock = clock
        self.rand = rand
        self._sts = sts
        self._limit = asyncio.Semaphore(config.max_concurrent_refreshes)
        self._inflight = PerName(
            self._renew_once, "credd-aws-session", "renewing the STS session of %r failed: %s"
        )
        self._attempts: dict[str, int] = {}
        self.committer = GroupCommit(self._write)
        self._task: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None

    def _write(self, change: Change) -> StoreState:
        return self.vault.commit(change)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="credd-aws-sessions")

    async def _warm(self) -> None:
        """botocore takes a second or more to load: done once, as soon as the store holds a
        credential that needs sessions, so a tool's first call does not wait for it."""
        try:
            sts = self._client()
        except EndpointRefused:
            return  # said by the first renewal, in the credential's last_error
        if isinstance(sts, BotocoreSTS):
            await asyncio.to_thread(sts.warm)

    async def stop(self) -> None:
        if self._warming is not None:
            self._warming.cancel()  # its thread ends by itself; nothing waits for it
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._inflight.settle(self.config.refresh_timeout + STOP_GRACE)

    def changed(self) -> None:
        """The store changed (an unlock): look at the schedule again."""
        self._inflight.wake.set()

    def busy(self) -> bool:
        return bool(self._inflight)

    # --- what the API calls ----------------------------------------------------------------

    async def credentials(self, credential: Credential, wait: float) -> dict[str, Any]:
        """The credential_process document: a session valid for the margin when it can."""
        aws = _aws(credential)
        name = credential.name
        now = self.clock()
        if not schedule.wants_session(aws):
            if not schedule.usable(aws.expires_at, now):
                assert aws.expires_at is not None
                raise RefreshFailed(
                    f"the temporary keys of {name!r} expired at {format_time(aws.expires_at)}; "
                    "store new ones (`credd aws add`, `credd import aws`)"
                )
            return schedule.process_document(
                aws.access_key_id, credential.secret, aws.session_token, aws.expires_at
            )
        if schedule.fresh(aws, now):
            return _session_document(aws)
        if aws.mfa_serial is not None:
            if schedule.session_usable(aws, now):
                return _session_document(aws)
            what = "has expired" if aws.sts_access_key_id is not None else "has not started"
            raise NeedsLogin(f"the MFA session of {name!r} {what}; run `{login_command(name)}`")
        expires = aws.sts_expires_at if aws.sts_access_key_id is not None else None
        until = schedule.wait_until(now, expires, wait)
        await self._renew(name, (until - now).total_seconds())
        aws = _aws(self._stored(name))
        if schedule.session_usable(aws, self.clock()):
            return _session_document(aws)
        if name in self._inflight:
            raise RefreshFailed(
                f"no valid STS session for {name!r} yet: {self._describe_sts()} has not "
                f"answered within {wait:g} s; credd keeps asking in the background"
            )
        raise RefreshFailed(
            f"no valid STS session for {name!r}: {aws.last_error or 'no answer from STS'}"
        )

    async def login(self, credential: Credential, code: str) -> dict[str, Any]:
        """An MFA session: STS asked once with the code, the session stored, then handed out."""
        aws = _aws(credential)
        name = credential.name
        if aws.mfa_serial is None:
            raise InvalidRequest(f"{name!r} has no MFA device (mfa_serial): it needs no login")
        if not schedule.wants_session(aws):
            raise InvalidRequest(f"{name!r} has sessions off: it needs no login")
        outcome = await self._ask(credential, code)
        if isinstance(outcome, Failed):
            raise RefreshFailed(f"no MFA session for {name!r}: {outcome.reason}")
        await self._store(credential, outcome, next_refresh_at=None)
        return _session_document(_aws(self._stored(name)))

    # --- renewing --------------------------------------------------------------------------

    async def _renew(self, name: str, wait: float) -> bool:
        return await self._inflight.join(name, max(wait, 0.0))

    async def _renew_once(self, name: str) -> None:
        async with self._limit:
            try:
                credential = self._stored(name)
            except CreddError:  # deleted, or the store locked meanwhile
                return
            aws = credential.aws
            if aws is None or not schedule.wants_session(aws) or aws.mfa_serial is not None:
                return
            outcome = await self._ask(credential, None)
            now = self.clock()
            if isinstance(outcome, Session):
                self._attempts.pop(name, None)
                lifetime = (outcome.expires_at - now).total_seconds()
                at = schedule.renew_at(now, outcome.expires_at, lifetime, self.rand())
                await self._store(credential, outcome, next_refresh_at=at)
                return
            attempt = self._attempts.get(name, 0)
            self._attempts[name] = attempt + 1
            at = oauth_schedule.retry_at(now, attempt, self.rand())
            reason = f"{outcome.reason}; next attempt at {format_time(at)}"
            log.warning("%r: STS session not renewed: %s", name, reason)
            await self._commit(
                RecordSessionFailure(
                    name,
                    aws.access_key_id,
                    credential.secret,
                    status="error",
                    last_error=reason,
                    next_refresh_at=at,
                )
            )

    async def _ask(self, credential: Credential, code: str | None) -> Session | Failed:
        aws = _aws(credential)
        request = SessionRequest(
            keys=Keys(aws.access_key_id, credential.secret, aws.session_token),
            duration=schedule.duration(aws),
            role_arn=aws.role_arn,
            mfa_serial=aws.mfa_serial,
            mfa_code=code,
        )
        try:
            sts = self._client()
        except EndpointRefused as exc:
            return Failed(str(exc))
        return await asyncio.to_thread(sts.request_session, request)

    async def _store(
        self, credential: Credential, session: Session, next_refresh_at: datetime | None
    ) -> None:
        aws = _aws(credential)
        log.info("%r: STS session until %s", credential.name, format_time(session.expires_at))
        await self._commit(
            StoreSession(
                credential.name,
                aws.access_key_id,
                credential.secret,
                session=session,
                next_refresh_at=next_refresh_at,
                now=self.clock(),
            )
        )

    async def _commit(self, change: StoreSession | RecordSessionFailure) -> None:
        try:
            await self.committer.commit(change)
        except Superseded:
            log.info("%r was replaced during its STS call; the result is dropped", change.name)
        except CreddError as exc:
            log.error("cannot store the STS session state of %r: %s", change.name, exc.message)

    def _client(self) -> STS:
        if self._sts is None:
            where = endpoint(self.config.aws_endpoint_url_sts, self.config.aws_region, os.environ)
            self._sts = BotocoreSTS(where, self.config.refresh_timeout)
        return self._sts

    def _describe_sts(self) -> str:
        sts = self._sts
        return f"STS at {sts.where.describe()}" if isinstance(sts, BotocoreSTS) else "STS"

    # --- the schedule ----------------------------------------------------------------------

    async def _run(self) -> None:
        await self._inflight.run_schedule(self._tick)

    def _tick(self) -> float | None:
        """Start every renewal that is due; the seconds until the next one (None: none)."""
        if self.vault.locked:
            return None
        now = self.clock()
        soonest: datetime | None = None
        for credential in self.vault.state().credentials.values():
            aws = credential.aws
            name = credential.name
            if self._warming is None and aws is not None and schedule.wants_session(aws):
                self._warming = asyncio.create_task(self._warm(), name="credd-aws-warm")
            if aws is None or name in self._inflight or aws.next_refresh_at is None:
                continue
            if schedule.due(aws, now):
                self._inflight.start(name)
            elif schedule.wants_session(aws) and aws.mfa_serial is None:
                at = aws.next_refresh_at
                soonest = at if soonest is None or at < soonest else soonest
        return None if soonest is None else (soonest - now).total_seconds()

    def _stored(self, name: str) -> Credential:
        credential = self.vault.state().credentials.get(name)
        if credential is None:
            raise NotFound(f"no credential named {name!r}")
        return credential


def aws_summary(credentials: list[Credential]) -> dict[str, Any]:
    """The sessions for `credd status`, in the OAuth summary's shape."""
    states = []
    for credential in sorted(credentials, key=lambda c: c.name):
        aws = credential.aws
        if aws is None or not schedule.wants_session(aws):
            continue
        states.append(
            {
                "name": credential.name,
                "status": aws.status,
                "expires_at": None
                if aws.sts_expires_at is None
                else format_time(aws.sts_expires_at),
                "next_refresh_at": None
                if aws.next_refresh_at is None
                else format_time(aws.next_refresh_at),
                "last_error": aws.last_error,
            }
        )
    pending = [s["next_refresh_at"] for s in states if s["next_refresh_at"] is not None]
    failures = [
        {"name": s["name"], "status": s["status"], "last_error": s["last_error"]}
        for s in states
        if s["status"] != "ok"
    ]
    return {
        "next_refresh_at": min(pending) if pending else None,
        "failures": failures,
        "credentials": states,
    }


def _aws(credential: Credential) -> AWSFields:
    if credential.aws is None:
        raise InvalidRequest(f"{credential.name!r} is a {credential.kind} credential, not aws")
    return credential.aws


def _session_document(aws: AWSFields) -> dict[str, Any]:
    assert aws.sts_access_key_id is not None
    assert aws.sts_secret_access_key is not None
    return schedule.process_document(
        aws.sts_access_key_id, aws.sts_secret_access_key, aws.sts_session_token, aws.sts_expires_at
    )
