"""The background refresher: one asyncio task that keeps every oauth2 credential fresh.

- The schedule is the store's `next_refresh_at` fields, so it survives a restart: on start,
  anything overdue is refreshed at once.
- One refresh in flight per credential: a `GET` that finds its credential due joins the
  refresh already running (or starts it), and every waiter sees the same result.
- A semaphore bounds the refreshes in flight overall (`max_concurrent_refreshes`).
- Rotation: the answer's refresh token is committed to the store, durably, before the new
  access token is returned to anyone (callers read the credential back from the store).
  If the commit fails, the answer is kept in memory and the commit retried; the refresh
  token is not sent again meanwhile.
- A refresh token that may have reached the server without an answer coming back is not
  sent again until the current access token has expired (see schedule.py). Before a
  refresh token is sent, the store records that a refresh started (`refresh_started_at`),
  so a daemon that died with the request out finds the unknown outcome at its next start
  instead of sending the possibly spent token again at once.
- Every answer within a bound: a GET (or POST .../refresh) waits for a refresh at most as
  long as its client will (`wait`, see schedule.answer_wait), and a token still valid
  when the GET came is answered before it stops being valid (schedule.wait_until). Past
  that the refresh goes on in the background and the GET answers the valid token, or
  `refresh_failed` saying what the token endpoint did, since when, and when the next
  attempt is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from credd_client.errors import CreddError, InvalidRequest, NeedsLogin, NotFound, RefreshFailed

from ..background import STOP_GRACE, PerName
from ..config import Config
from ..store.batching import GroupCommit
from ..store.core import Change
from ..store.records import Credential, OAuthFields, StoreState, format_time, utc_now
from ..store.vault import Vault
from . import schedule
from .changes import ApplyRefresh, BeginRefresh, RecordFailure, Superseded
from .endpoints import endpoint_refusal
from .http import MaybeSent, NotSent, TokenEndpoint
from .idtoken import jwt_expiry
from .tokens import Granted, LoginNeeded, Outcome, Retry, Unknown, classify, refresh_request

log = logging.getLogger(__name__)


def login_command(credential: Credential) -> str:
    issuer = credential.labels.get("issuer")
    command = f"credd login {shlex.quote(credential.name)}"
    return command + (f" --issuer {shlex.quote(issuer)}" if issuer else " --issuer URL")


@dataclass
class _Unsaved:
    """A token answer whose commit failed: kept here and committed again, never re-fetched."""

    change: ApplyRefresh
    retry_at: datetime
    attempt: int


class Refresher:
    def __init__(
        self,
        vault: Vault,
        config: Config,
        endpoint: TokenEndpoint,
        clock: Callable[[], datetime] = utc_now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.vault = vault
        self.config = config
        self.endpoint = endpoint
        self.clock = clock
        self.rand = rand
        self._limit = asyncio.Semaphore(config.max_concurrent_refreshes)
        self._inflight = PerName(self._refresh_once, "credd-refresh", "refreshing %r failed: %s")
        self._attempts: dict[str, int] = {}
        self._unsaved: dict[str, _Unsaved] = {}
        self._held: dict[str, datetime] = {}
        # For the messages of GETs that cannot wait: when the request in flight was sent, and
        # since when refreshes have failed (in memory: a restart starts counting again).
        self._sent_at: dict[str, datetime] = {}
        self._failing_since: dict[str, datetime] = {}
        # Refreshes due together share durable writes; each change still stands alone.
        self.committer = GroupCommit(self._write)
        self._task: asyncio.Task[None] | None = None

    def _write(self, change: Change) -> StoreState:
        """Blocking, in the group commit's worker thread. `vault.commit` is looked up at each
        write, not bound once, so it can be replaced (a full disk, in the tests)."""
        return self.vault.commit(change)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="credd-refresher")

    async def stop(self) -> None:
        """Stop scheduling; let refreshes already sent finish (their answers are stored)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._inflight.settle(self.config.refresh_timeout + STOP_GRACE)
        await self.endpoint.aclose()

    def changed(self) -> None:
        """The store changed (a PUT, an unlock): look at the schedule again."""
        self._inflight.wake.set()

    def busy(self) -> bool:
        """A refresh is in flight, or its answer is not stored yet: an idle lock waits."""
        return bool(self._inflight or self._unsaved)

    # --- what the API calls ----------------------------------------------------------------

    def plan(self, credential: Credential) -> Credential:
        """A credential about to be stored by a PUT: status reset and its refresh scheduled."""
        oauth = credential.oauth
        if oauth is None:
            return credential
        now = self.clock()
        next_refresh = None
        if oauth.refresh_token is not None:
            lifetime = None
            renew_by = schedule.renew_by(oauth.expires_at, oauth.id_token_expires_at)
            if renew_by is not None:
                lifetime = (renew_by - now).total_seconds()
            next_refresh = schedule.refresh_at(
                now,
                renew_by,
                lifetime=lifetime,
                configured_margin=self.config.refresh_margin,
                rand=self.rand(),
            )
        fields = replace(oauth, status="ok", last_error=None, next_refresh_at=next_refresh)
        self._failing_since.pop(credential.name, None)
        return credential.replace(oauth=fields)

    async def fresh(
        self, credential: Credential, wait: float = schedule.DEFAULT_WAIT
    ) -> Credential:
        """For GET: the credential with a token valid for the margin, refreshed first if due,
        waiting for that refresh at most ``wait`` seconds.

        During an outage the still-valid token is returned; `RefreshFailed` only once it has
        expired, `NeedsLogin` once the grant is gone.
        """
        oauth = credential.oauth
        if oauth is None:
            return credential
        name = credential.name
        now = self.clock()
        if oauth.status != "needs_login" and schedule.due(oauth, now):
            # Bounded, and a token that still works is answered before it stops working.
            until = schedule.wait_until(now, oauth, wait)
            await self._refresh(name, (until - now).total_seconds())
            credential = self._stored(name)
            oauth = credential.oauth
            if oauth is None:  # replaced meanwhile by a plain secret
                return credential
        if oauth.status == "needs_login":
            raise NeedsLogin(self._needs_login_message(credential))
        if schedule.usable(oauth, self.clock()):
            return credential
        if oauth.refresh_token is None:
            raise NeedsLogin(
                f"the access token of {credential.name!r} has expired and there is no refresh "
                f"token; run `{login_command(credential)}`"
            )
        if name in self._inflight:
            raise RefreshFailed(
                f"the access token of {name!r} has expired and its refresh is not done: "
                f"{self._pending(credential)}"
            )
        raise RefreshFailed(self._failed_message(credential))

    async def refresh_now(self, name: str, wait: float = schedule.DEFAULT_WAIT) -> Credential:
        """For POST .../refresh: refresh now, whatever the schedule says (waiting ``wait`` s)."""
        credential = self._stored(name)
        if credential.oauth is None:
            raise InvalidRequest(f"{name!r} is a plain secret, not an oauth2 credential")
        if credential.oauth.status == "needs_login" or credential.oauth.refresh_token is None:
            raise NeedsLogin(self._needs_login_message(credential))
        done = await self._refresh(name, wait)
        credential = self._stored(name)
        oauth = credential.oauth
        if oauth is None:
            return credential
        if not done:
            raise RefreshFailed(
                f"refreshing {name!r} is not done: {self._pending(credential)}"
                f"{self._still_served(oauth)}"
            )
        if oauth.status == "needs_login":
            raise NeedsLogin(self._needs_login_message(credential))
        if oauth.status != "ok":
            why = oauth.last_error or "no answer"
            raise RefreshFailed(f"refreshing {name!r} failed: {why}{self._still_served(oauth)}")
        return credential

    def _still_served(self, oauth: OAuthFields) -> str:
        if schedule.usable(oauth, self.clock()) and oauth.expires_at is not None:
            return f"; the current access token is served until {format_time(oauth.expires_at)}"
        return ""

    def _pending(self, credential: Credential) -> str:
        """What a refresh still in flight is waiting for, for a client that cannot wait."""
        oauth = credential.oauth
        assert oauth is not None
        host = urlsplit(oauth.token_endpoint).netloc or oauth.token_endpoint
        now = self.clock()
        since = self._failing_since.get(credential.name)
        failing = "" if since is None else f"; refreshes have failed since {format_time(since)}"
        sent = self._sent_at.get(credential.name)
        if sent is None:  # waiting for a free slot, or for the store's write of its trace
            return (
                f"it has not been sent yet (at most {self.config.max_concurrent_refreshes} "
                f"refreshes are in flight at once){failing}; it goes on in the background"
            )
        gives_up = sent + timedelta(seconds=self.config.refresh_timeout)
        return (
            f"the token endpoint at {host} has not answered the request sent at "
            f"{format_time(sent)} ({(now - sent).total_seconds():.0f} s ago){failing}; "
            f"credd waits for its answer in the background until {format_time(gives_up)} "
            f"(refresh_timeout), then tries again"
        )

    # --- refreshing ------------------------------------------------------------------------

    async def _refresh(self, name: str, wait: float | None = None) -> bool:
        """Start a refresh of ``name`` or join the one in flight; wait for it (or ``wait`` s).

        True when it is done, False when it goes on in the background.
        """
        return await self._inflight.join(name, wait)

    async def _refresh_once(self, name: str) -> None:
        async with self._limit:
            unsaved = self._unsaved.get(name)
            if unsaved is not None:
                await self._commit_unsaved(name, unsaved)
                return
            held = self._held.get(name)
            if held is not None and held > self.clock():
                return  # the store could not be written lately: nothing is sent until then
            try:
                credential = self._stored(name)
            except CreddError:  # deleted, or the store locked meanwhile
                return
            oauth = credential.oauth
            if oauth is None or oauth.refresh_token is None or oauth.status == "needs_login":
                return
            started = oauth.refresh_started_at
            if started is not None:
                # A refresh sent before credd stopped (or before a write failed) never had
                # its result stored: the token may be spent. Not sent now; see schedule.py.
                reason = f"credd stopped during a refresh started at {format_time(started)}"
                outcome = Unknown(reason)
                await self._record(
                    self._failed(credential, oauth.refresh_token, outcome, self.clock())
                )
                return
            refusal = endpoint_refusal(oauth.token_endpoint, "token endpoint", credential.origin)
            if refusal is not None:
                # Stored before the rule (or restored): served until expiry, never sent.
                log.warning("%r is not refreshed: %s", name, refusal)
                failure = RecordFailure(
                    name=name,
                    used_refresh_token=oauth.refresh_token,
                    status="error",
                    last_error=f"not refreshed: {refusal}; log in again with `credd login`",
                    next_refresh_at=None,
                )
                await self._record(failure)
                return
            await self._send(credential, oauth, oauth.refresh_token)

    async def _send(self, credential: Credential, oauth: OAuthFields, used: str) -> None:
        name = credential.name
        # The trace first, durably: a crash while the request is out is then known.
        try:
            await self.committer.commit(BeginRefresh(name, used, started_at=self.clock()))
        except Superseded:
            return
        except CreddError as exc:
            self._hold(name, exc)
            return
        request = refresh_request(
            oauth.token_endpoint,
            used,
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            auth_method=oauth.token_endpoint_auth_method,
        )
        outcome: Outcome
        self._sent_at[name] = self.clock()
        try:
            status, body = await self.endpoint.post(request)
        except NotSent as exc:
            outcome = Retry(str(exc))
        except MaybeSent as exc:
            outcome = Unknown(str(exc))
        else:
            host = urlsplit(oauth.token_endpoint).netloc or None
            outcome = classify(status, body, host)
        finally:
            self._sent_at.pop(name, None)
        now = self.clock()
        if isinstance(outcome, Granted):
            change = self._granted(credential, used, outcome, now)
            await self._commit_unsaved(name, _Unsaved(change, now, 0))
            return
        await self._record(self._failed(credential, used, outcome, now))

    async def _record(self, change: RecordFailure) -> None:
        try:
            await self._commit(change)
        except CreddError as exc:
            self._hold(change.name, exc)
            return
        self._held.pop(change.name, None)

    def _hold(self, name: str, exc: CreddError) -> None:
        """The store cannot be written: send nothing for ``name`` for a backoff step."""
        attempt = self._attempts.get(name, 0)
        self._attempts[name] = attempt + 1
        at = schedule.retry_at(self.clock(), attempt, self.rand())
        self._held[name] = at
        log.error(
            "cannot write the store for %r (%s); no refresh is sent before %s",
            name,
            exc.message,
            format_time(at),
        )

    def _granted(
        self, credential: Credential, used: str, outcome: Granted, now: datetime
    ) -> ApplyRefresh:
        grant = outcome.grant
        self._attempts.pop(credential.name, None)
        self._failing_since.pop(credential.name, None)
        expires_at = schedule.expiry(now, grant.expires_in)
        id_token_expires_at = None if grant.id_token is None else jwt_expiry(grant.id_token)
        renew_by = schedule.renew_by(expires_at, id_token_expires_at)
        next_refresh = schedule.refresh_at(
            now,
            renew_by,
            lifetime=None if renew_by is None else (renew_by - now).total_seconds(),
            configured_margin=self.config.refresh_margin,
            rand=self.rand(),
        )
        log.info(
            "refreshed %r: expires at %s%s",
            credential.name,
            "never" if expires_at is None else format_time(expires_at),
            ", refresh token rotated" if grant.refresh_token else "",
        )
        return ApplyRefresh(
            name=credential.name,
            used_refresh_token=used,
            access_token=grant.access_token,
            new_refresh_token=grant.refresh_token,
            expires_at=expires_at,
            scope=grant.scope,
            next_refresh_at=next_refresh,
            now=now,
            id_token=grant.id_token,
            id_token_expires_at=id_token_expires_at,
        )

    def _failed(
        self, credential: Credential, used: str, outcome: Outcome, now: datetime
    ) -> RecordFailure:
        name = credential.name
        oauth = credential.oauth
        assert oauth is not None
        attempt = self._attempts.get(name, 0)
        self._attempts[name] = attempt + 1
        if isinstance(outcome, LoginNeeded):
            self._attempts.pop(name, None)
            self._failing_since.pop(name, None)
            log.warning("%r needs a new login: %s", name, outcome.reason)
            return RecordFailure(
                name=name,
                used_refresh_token=used,
                status="needs_login",
                last_error=outcome.reason,
                next_refresh_at=None,
            )
        self._failing_since.setdefault(name, now)
        if isinstance(outcome, Unknown):
            at = schedule.after_unknown_outcome(now, oauth.expires_at, attempt)
            reason = (
                f"refresh outcome unknown ({outcome.reason}): the server may have rotated the "
                f"refresh token; the current access token is served until it expires, "
                f"then one more attempt at {format_time(at)}"
            )
        else:
            assert isinstance(outcome, Retry)
            at = schedule.retry_at(now, attempt, self.rand())
            reason = f"refresh failed ({outcome.reason}); next attempt at {format_time(at)}"
        log.warning("%r: %s", name, reason)
        return RecordFailure(
            name=name,
            used_refresh_token=used,
            status="error",
            last_error=reason,
            next_refresh_at=at,
        )

    async def _commit(self, change: RecordFailure | ApplyRefresh) -> None:
        try:
            await self.committer.commit(change)
        except Superseded:
            log.info("%r was replaced during its refresh; the result is dropped", change.name)

    async def _commit_unsaved(self, name: str, unsaved: _Unsaved) -> None:
        """Store a token answer; on failure keep it in memory and try again later."""
        try:
            await self._commit(unsaved.change)
        except CreddError as exc:
            at = schedule.retry_at(self.clock(), unsaved.attempt, self.rand())
            self._unsaved[name] = _Unsaved(unsaved.change, at, unsaved.attempt + 1)
            log.error(
                "could not store the new tokens of %r (%s); kept in memory, next try at %s. "
                "If credd stops before then, run `credd login` for it",
                name,
                exc.message,
                format_time(at),
            )
            return
        self._unsaved.pop(name, None)

    # --- the schedule ------------------------------------------------------------------------

    async def _run(self) -> None:
        await self._inflight.run_schedule(self._tick)

    def _tick(self) -> float | None:
        """Start every refresh that is due; the seconds until the next one (None: none)."""
        if self.vault.locked:
            return None
        now = self.clock()
        soonest: datetime | None = None
        for credential in self.vault.state().credentials.values():
            oauth = credential.oauth
            name = credential.name
            if oauth is None or oauth.refresh_token is None or name in self._inflight:
                continue
            at = oauth.next_refresh_at if oauth.status != "needs_login" else None
            if oauth.refresh_started_at is not None:
                at = now  # left by a refresh that did not finish: record its unknown outcome
            if name in self._held:
                at = self._held[name]
            if name in self._unsaved:
                at = self._unsaved[name].retry_at
            if at is None:
                continue
            if at <= now:
                self._inflight.start(name)
            elif soonest is None or at < soonest:
                soonest = at
        return None if soonest is None else (soonest - now).total_seconds()

    # --- helpers -----------------------------------------------------------------------------

    def _stored(self, name: str) -> Credential:
        credential = self.vault.state().credentials.get(name)
        if credential is None:
            raise NotFound(f"no credential named {name!r}")
        return credential

    @staticmethod
    def _needs_login_message(credential: Credential) -> str:
        oauth = credential.oauth
        why = f" ({oauth.last_error})" if oauth is not None and oauth.last_error else ""
        return (
            f"the OAuth grant of {credential.name!r} is no longer valid{why}; "
            f"run `{login_command(credential)}`"
        )

    def _failed_message(self, credential: Credential) -> str:
        oauth = credential.oauth
        why = oauth.last_error if oauth is not None and oauth.last_error else "no answer"
        since = self._failing_since.get(credential.name)
        failing = "" if since is None else f" (failing since {format_time(since)})"
        return (
            f"the access token of {credential.name!r} has expired and refreshing failed"
            f"{failing}: {why}"
        )
