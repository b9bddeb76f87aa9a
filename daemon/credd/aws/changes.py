"""Store changes a session renewal makes, applied to whatever the file holds at commit time.

Each applies only while the credential still holds the long-lived key the renewal used: a
credential replaced meanwhile (a `PUT`, an import with --overwrite, another process) makes
the change `Superseded`, and the newer credential wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from ..oauth.changes import Superseded
from ..store.records import AWSFields, Credential, OAuthStatus, StoreState
from .sts import Session


@dataclass(frozen=True)
class _Conditional:
    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)

    def _current(self, state: StoreState) -> tuple[Credential, AWSFields]:
        credential = state.credentials.get(self.name)
        if (
            credential is None
            or credential.aws is None
            or credential.aws.access_key_id != self.access_key_id
            or credential.secret != self.secret_access_key
        ):
            raise Superseded(self.name)
        return credential, credential.aws

    @staticmethod
    def _put(state: StoreState, credential: Credential) -> StoreState:
        return dataclasses.replace(
            state, credentials={**state.credentials, credential.name: credential}
        )


@dataclass(frozen=True)
class StoreSession(_Conditional):
    session: Session | None = None
    next_refresh_at: datetime | None = None
    now: datetime | None = None

    def apply(self, state: StoreState) -> StoreState:
        credential, aws = self._current(state)
        assert self.session is not None
        updated = dataclasses.replace(
            aws,
            sts_access_key_id=self.session.access_key_id,
            sts_secret_access_key=self.session.secret_access_key,
            sts_session_token=self.session.session_token,
            sts_expires_at=self.session.expires_at,
            status="ok",
            last_error=None,
            next_refresh_at=self.next_refresh_at,
        )
        changed = credential.replace(aws=updated)
        if self.now is not None:
            changed = changed.replace(updated_at=self.now)
        return self._put(state, changed)


@dataclass(frozen=True)
class RecordSessionFailure(_Conditional):
    """A renewal that gave no session: the cached one (if any) is kept until it expires."""

    status: OAuthStatus = "error"
    last_error: str = ""
    next_refresh_at: datetime | None = None

    def apply(self, state: StoreState) -> StoreState:
        credential, aws = self._current(state)
        updated = dataclasses.replace(
            aws,
            status=self.status,
            last_error=self.last_error,
            next_refresh_at=self.next_refresh_at,
        )
        return self._put(state, credential.replace(aws=updated))
