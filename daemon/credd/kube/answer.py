"""What `GET /v1/kube/{name}` answers: the parts of an ExecCredential's status. Sans I/O.

The token comes from any credential: a `kube` token user's token, a `kube` client-certificate
user's certificate and key, an `oauth2` credential's ID token when it holds one (an OpenID
Connect login: Kubernetes checks the ID token, not the access token) or else its access
token, a plain secret. An expiry goes with every token that has one, so kubectl caches it
until then and asks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from credd_client.errors import RefreshFailed

from ..oauth import schedule
from ..store.records import Credential, format_time


@dataclass(frozen=True)
class KubeAnswer:
    name: str
    token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    client_certificate: str | None = None
    client_key: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "token": self.token,
            "expires_at": None if self.expires_at is None else format_time(self.expires_at),
            "client_certificate": self.client_certificate,
            "client_key": self.client_key,
        }


def kube_answer(credential: Credential, now: datetime) -> KubeAnswer:
    """The answer for a credential as `GET /v1/credentials/{name}` would serve it (refreshed
    first where due); `RefreshFailed` for an ID token that has expired."""
    name = credential.name
    if credential.kube is not None and credential.kube.client_certificate is not None:
        return KubeAnswer(
            name,
            client_certificate=credential.kube.client_certificate,
            client_key=credential.secret,
        )
    oauth = credential.oauth
    if oauth is None:
        return KubeAnswer(name, token=credential.secret, expires_at=credential.expires_at)
    if oauth.id_token is None:
        return KubeAnswer(name, token=credential.secret, expires_at=oauth.expires_at)
    expires = oauth.id_token_expires_at
    if expires is not None and expires - schedule.EXPIRY_SLACK <= now:
        why = oauth.last_error or "the issuer's last answer carried no new ID token"
        raise RefreshFailed(
            f"the ID token of {name!r} expired at {format_time(expires)} and no fresh one "
            f"came: {why}"
        )
    return KubeAnswer(name, token=oauth.id_token, expires_at=expires)
