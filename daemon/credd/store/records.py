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

Kind = Literal["secret", "oauth2", "ssh-key", "aws", "kube"]
KINDS: tuple[Kind, ...] = ("secret", "oauth2", "ssh-key", "aws", "kube")
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
class SSHKeyFields:
    """An `ssh-key` credential's key. The private key (OpenSSH format, unencrypted) stays in
    the store: no API model renders it; the credential's `secret` is the public key line."""

    private_key: str = field(repr=False)
    public_key: str  # the line of a .pub file: type, base64 blob, comment
    key_type: str  # ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, ...
    fingerprint: str  # SHA256:... as `ssh-keygen -l` prints it
    comment: str = ""
    offered: bool = True  # `ssh-add -d/-D` clear it, `ssh-add` and `credd ssh-key offer` set it
    position: int = 0  # the agent offers keys by position, then name
    # `ssh-add -t`: past this moment the agent no longer offers or signs with the key.
    offered_until: datetime | None = None


@dataclass(frozen=True)
class AWSFields:
    """The parts of an `aws` credential beyond its secret access key (`Credential.secret`).

    ``session_token`` and ``expires_at`` belong to imported temporary keys. The ``sts_*``
    fields are the STS session credd hands out instead of the long-lived key; ``status``,
    ``last_error`` and ``next_refresh_at`` are that session's state, as an oauth2 token's.
    """

    access_key_id: str
    session_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    region: str | None = None
    mfa_serial: str | None = None
    role_arn: str | None = None
    session: bool = True
    session_duration: int | None = None  # seconds; None: 12 h GetSessionToken, 1 h AssumeRole
    sts_access_key_id: str | None = None
    sts_secret_access_key: str | None = field(default=None, repr=False)
    sts_session_token: str | None = field(default=None, repr=False)
    sts_expires_at: datetime | None = None
    status: OAuthStatus = "ok"
    last_error: str | None = None
    next_refresh_at: datetime | None = None


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
    # Reach without exposure (issue 19): the view the credential was made or last replaced
    # through; None for the main socket.
    origin: str | None = None
    # Change events: bumped, durably, with every change of this credential (see
    # core.stamp_versions); a watcher that reconnects compares versions to catch up.
    version: int = 1
    # ssh-key: the key itself and how the agent offers it.
    ssh: SSHKeyFields | None = None
    # AWS (issue 21): an `aws` credential's fields; its secret access key is `secret`.
    aws: AWSFields | None = None
    # Kubernetes (issue 21): set on every `kube` credential, None on the other kinds.
    kube: KubeFields | None = None

    @property
    def holds_private_key(self) -> bool:
        """The secret is a private key: served only to the command that needs it."""
        return self.kube is not None and self.kube.client_certificate is not None

    @property
    def served_secret(self) -> str | None:
        """The secret as a GET serves it: never a private key (served only to the command
        that uses it) nor an aws secret key (`GET /v1/aws/{name}` hands out keys)."""
        if self.holds_private_key or self.aws is not None:
            return None
        return self.secret

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
_AWS_TIMES = ("expires_at", "sts_expires_at", "next_refresh_at")


def _fields_to_dict(fields: OAuthFields | AWSFields, times: tuple[str, ...]) -> dict[str, Any]:
    data = dataclasses.asdict(fields)
    for key in times:
        value = data[key]
        data[key] = None if value is None else format_time(value)
    return data


def _times_parsed(data: Mapping[str, Any], times: tuple[str, ...]) -> dict[str, Any]:
    values = dict(data)
    for key in times:
        if values.get(key) is not None:
            values[key] = parse_time(values[key])
    return values


def _oauth_to_dict(oauth: OAuthFields) -> dict[str, Any]:
    return _fields_to_dict(oauth, _OAUTH_TIMES)


def _oauth_from_dict(data: Mapping[str, Any]) -> OAuthFields:
    return OAuthFields(**_times_parsed(data, _OAUTH_TIMES))


def _ssh_to_dict(ssh: SSHKeyFields) -> dict[str, Any]:
    data = dataclasses.asdict(ssh)
    data["offered_until"] = None if ssh.offered_until is None else format_time(ssh.offered_until)
    return data


def _ssh_from_dict(data: Mapping[str, Any]) -> SSHKeyFields:
    values = dict(data)
    if values.get("offered_until") is not None:
        values["offered_until"] = parse_time(values["offered_until"])
    return SSHKeyFields(**values)


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
        "version": credential.version,
    }
    # Only when set: every other credential's stored form stays as it was.
    if credential.expires_at is not None:
        data["expires_at"] = format_time(credential.expires_at)
    if credential.refresh_token is not None:
        data["refresh_token"] = credential.refresh_token
    if credential.origin is not None:
        data["origin"] = credential.origin
    if credential.ssh is not None:
        data["ssh"] = _ssh_to_dict(credential.ssh)
    if credential.aws is not None:
        data["aws"] = _fields_to_dict(credential.aws, _AWS_TIMES)
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
        origin=data.get("origin"),
        version=int(data.get("version", 1)),  # stored before versions existed: 1
        ssh=None if data.get("ssh") is None else _ssh_from_dict(data["ssh"]),
        aws=None
        if data.get("aws") is None
        else AWSFields(**_times_parsed(data["aws"], _AWS_TIMES)),
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
