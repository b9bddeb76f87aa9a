"""Store changes a refresh makes, applied to whatever the file holds at commit time.

Each one applies only while the credential still holds the refresh token the refresh used.
If it was replaced meanwhile (a `PUT`, a new `credd login`, another process), the change is
`Superseded` and nothing is written: the newer credential wins, never clobbered by the
result of a refresh of the grant it replaced.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from ..store.records import Credential, OAuthFields, OAuthStatus, StoreState


class Superseded(Exception):
    """The credential no longer holds the refresh token this change was made for."""


@dataclass(frozen=True)
class _Conditional:
    name: str
    used_refresh_token: str = field(repr=False)

    def _current(self, state: StoreState) -> tuple[Credential, OAuthFields]:
        credential = state.credentials.get(self.name)
        if (
            credential is None
            or credential.oauth is None
            or credential.oauth.refresh_token != self.used_refresh_token
        ):
            raise Superseded(self.name)
        return credential, credential.oauth

    @staticmethod
    def _put(state: StoreState, credential: Credential) -> StoreState:
        return dataclasses.replace(
            state, credentials={**state.credentials, credential.name: credential}
        )


@dataclass(frozen=True)
class BeginRefresh(_Conditional):
    """Written before the refresh token is sent: a crash after this leaves a trace."""

    started_at: datetime | None = None

    def apply(self, state: StoreState) -> StoreState:
        credential, oauth = self._current(state)
        updated = dataclasses.replace(oauth, refresh_started_at=self.started_at)
        return self._put(state, credential.replace(oauth=updated))


@dataclass(frozen=True)
class ApplyRefresh(_Conditional):
    """A new access token, and the rotated refresh token when the server sent one."""

    access_token: str = field(default="", repr=False)
    new_refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str | None = None
    next_refresh_at: datetime | None = None
    now: datetime | None = None
    # A new ID token when the answer carried one; else the one held is kept.
    id_token: str | None = field(default=None, repr=False)
    id_token_expires_at: datetime | None = None

    @property
    def refreshed(self) -> frozenset[str]:
        """Watchers get a `refreshed` event for it (see store.core.refreshed_names)."""
        return frozenset({self.name})

    def apply(self, state: StoreState) -> StoreState:
        credential, oauth = self._current(state)
        updated = dataclasses.replace(
            oauth,
            refresh_token=self.new_refresh_token or oauth.refresh_token,
            expires_at=self.expires_at,
            scope=self.scope or oauth.scope,
            status="ok",
            last_error=None,
            next_refresh_at=self.next_refresh_at,
            refresh_started_at=None,
        )
        if self.id_token is not None:
            updated = dataclasses.replace(
                updated, id_token=self.id_token, id_token_expires_at=self.id_token_expires_at
            )
        changed = credential.replace(secret=self.access_token, oauth=updated)
        if self.now is not None:
            changed = changed.replace(updated_at=self.now)
        return self._put(state, changed)


@dataclass(frozen=True)
class RecordFailure(_Conditional):
    """A refresh that gave no token: the new status, the reason, and when to try again."""

    status: OAuthStatus = "error"
    last_error: str = ""
    next_refresh_at: datetime | None = None

    def apply(self, state: StoreState) -> StoreState:
        credential, oauth = self._current(state)
        updated = dataclasses.replace(
            oauth,
            status=self.status,
            last_error=self.last_error,
            next_refresh_at=self.next_refresh_at,
            refresh_started_at=None,
        )
        return self._put(state, credential.replace(oauth=updated))
