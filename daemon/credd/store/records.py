"""What the store holds: credentials and the document around them, as plain frozen data.

No I/O here. Times are timezone-aware UTC datetimes; on the wire and in the file they are
RFC 3339 strings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from credd_client.errors import InvalidRequest

from .encoded import EncodedForms

Kind = Literal["secret", "oauth2", "kube"]
KINDS: tuple[Kind, ...] = ("secret", "oauth2", "kube")
OAuthStatus = Literal["ok", "needs_login", "error"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]

MAX_NAME_LENGTH = 256


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, the one spelling credd writes."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return moment.astimezone(UTC)


def check_name(name: str) -> str:
    """A name is 1 to 256 printable characters; slashes and spaces are fine."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidRequest(
            f"a credential name has 1 to {MAX_NAME_LENGTH} characters, this one has {len(name)}"
        )
    if not name.isprintable():
        raise InvalidRequest(
            "a credential name holds only printable characters (no newlines or control codes)"
        )
    return name


@dataclass(frozen=True)
class OAuthFields:
    """The parts of an `oauth2` credential beyond its access token."""

    token_endpoint: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"  # noqa: S105 - a method name
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str | None = None
    status: OAuthStatus = "ok"
    last_error: str | None = None
    next_refresh_at: datetime | None = None
    # Set, durably, before a refresh token is sent; cleared with the result. Found set at
    # start, it means credd stopped with a refresh in flight: its outcome is unknown.
    refresh_started_at: datetime | None = None
    # OpenID Connect: the ID token of the last answer that carried one, kept through
    # refreshes that do not (Kubernetes checks it, not the access token), and its `exp`.
    id_token: str | None = field(default=None, repr=False)
    id_token_expires_at: datetime | None = None


@dataclass(frozen=True)
class KubeFields:
    """A Kubernetes user beyond its secret. A token user has no certificate and its token is
    the secret; a client-certificate user keeps its certificate (PEM) here and its private
    key (PEM) as the secret, which no listing or `GET` of the credential renders."""

    client_certificate: str | None = None


@dataclass(frozen=True)
class Credential:
    name: str
    kind: Kind
    secret: str = field(repr=False)
    username: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    oauth: OAuthFields | None = None
    # Absolute paths of the executables allowed to read the secret; empty: any program.
    allowed_programs: tuple[str, ...] = ()
    # A `secret` that expires (git's password_expiry_utc) and the refresh token that came
    # with it (git's oauth_refresh_token), kept for whoever minted it; an `oauth2`
    # credential keeps its own in `oauth`.
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    # Kubernetes (issue 21): set on every `kube` credential, None on the other kinds.
    kube: KubeFields | None = None

    @property
    def holds_private_key(self) -> bool:
        """The secret is a private key: served only to the command that needs it."""
        return self.kube is not None and self.kube.client_certificate is not None

    def replace(self, **changes: Any) -> Credential:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Registration:
    """A client registered with an issuer (RFC 7591), reused by every `credd login` there."""

    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    token_endpoint_auth_method: AuthMethod = "none"  # noqa: S105 - a method name
    registration_access_token: str | None = field(default=None, repr=False)
    registration_client_uri: str | None = None
    created_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class StoreState:
    """Everything one store file holds once decrypted."""

    credentials: Mapping[str, Credential] = field(default_factory=dict)
    registrations: Mapping[str, Registration] = field(default_factory=dict)
    # The JSON of its credentials, reused by the states `replace` derives from this one.
    encoded: EncodedForms = field(default_factory=EncodedForms, compare=False, repr=False)


_OAUTH_TIMES = ("expires_at", "next_refresh_at", "refresh_started_at", "id_token_expires_at")


def _oauth_to_dict(oauth: OAuthFields) -> dict[str, Any]:
    data = dataclasses.asdict(oauth)
    for key in _OAUTH_TIMES:
        value = data[key]
        data[key] = None if value is None else format_time(value)
    return data


def _oauth_from_dict(data: Mapping[str, Any]) -> OAuthFields:
    values = dict(data)
    for key in _OAUTH_TIMES:
        if values.get(key) is not None:
            values[key] = parse_time(values[key])
    return OAuthFields(**values)


def credential_to_dict(credential: Credential) -> dict[str, Any]:
    """The stored form of a credential: every field, secrets included."""
    data: dict[str, Any] = {
        "name": credential.name,
        "kind": credential.kind,
        "secret": credential.secret,
        "username": credential.username,
        "labels": dict(credential.labels),
        "created_at": format_time(credential.created_at),
        "updated_at": format_time(credential.updated_at),
        "oauth": None if credential.oauth is None else _oauth_to_dict(credential.oauth),
        "allowed_programs": list(credential.allowed_programs),
    }
    # Only when set: every other credential's stored form stays as it was.
    if credential.expires_at is not None:
        data["expires_at"] = format_time(credential.expires_at)
    if credential.refresh_token is not None:
        data["refresh_token"] = credential.refresh_token
    if credential.kube is not None:
        data["kube"] = dataclasses.asdict(credential.kube)
    return data


def credential_from_dict(data: Mapping[str, Any]) -> Credential:
    oauth = data.get("oauth")
    return Credential(
        name=data["name"],
        kind=data["kind"],
        secret=data["secret"],
        username=data.get("username"),
        labels=dict(data.get("labels") or {}),
        created_at=parse_time(data["created_at"]),
        updated_at=parse_time(data["updated_at"]),
        oauth=None if oauth is None else _oauth_from_dict(oauth),
        allowed_programs=tuple(str(path) for path in data.get("allowed_programs") or ()),
        expires_at=None if data.get("expires_at") is None else parse_time(data["expires_at"]),
        refresh_token=data.get("refresh_token"),
        kube=None if data.get("kube") is None else KubeFields(**data["kube"]),
    )


def registration_to_dict(registration: Registration) -> dict[str, Any]:
    data = dataclasses.asdict(registration)
    data["created_at"] = format_time(registration.created_at)
    return data


def registration_from_dict(data: Mapping[str, Any]) -> Registration:
    values = dict(data)
    values["created_at"] = parse_time(values["created_at"])
    return Registration(**values)
