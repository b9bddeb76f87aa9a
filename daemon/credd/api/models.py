"""The wire format: pydantic models, here and nowhere else.

Request bodies are validated through these models; responses are built as plain dicts by
`render_credential` (cheap) and documented by the models (the OpenAPI document).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from credd_client.errors import wire_codes

from ..kube.material import check_kube_body
from ..oauth.idtoken import jwt_expiry
from ..store.records import (
    MAX_NAME_LENGTH,
    AuthMethod,
    AWSFields,
    Credential,
    Kind,
    KubeFields,
    OAuthFields,
    OAuthStatus,
    Registration,
    format_time,
)

MAX_LABELS = 64
MAX_LABEL_LENGTH = 1024
MAX_PROGRAMS = 64
MAX_PROGRAM_LENGTH = 4096
# An absolute path on Unix (/usr/bin/git) or on Windows (C:\Program Files\Git\git.exe, or
# a UNC path \\server\share\tool.exe): the forms the kernels report a program's image in.
_ABSOLUTE_PROGRAM = re.compile(r"/|[A-Za-z]:\\|\\\\")

SECRET_INCLUDES = frozenset({"refresh_token", "client_secret", "id_token"})
# What a `secret` may carry of the oauth2 fields: git's password_expiry_utc and
# oauth_refresh_token, kept for the helper that minted the password.
SECRET_EXPIRY_FIELDS = frozenset({"expires_at", "refresh_token"})
MAX_ID_TOKEN = 64 * 1024
MAX_CERTIFICATE = 64 * 1024


def check_programs(programs: list[str]) -> list[str]:
    """Absolute paths of executables, printable and not too long (ValueError otherwise)."""
    for program in programs:
        if (
            not _ABSOLUTE_PROGRAM.match(program)
            or len(program) > MAX_PROGRAM_LENGTH
            or not program.isprintable()
        ):
            raise ValueError(
                "allowed_programs holds absolute paths of executables (printable, at most "
                f"{MAX_PROGRAM_LENGTH} characters)"
            )
    return programs


class OAuthFieldsIn(BaseModel):
    token_endpoint: str | None = Field(None, min_length=1, max_length=2048)
    client_id: str | None = Field(None, min_length=1, max_length=1024)
    client_secret: str | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    refresh_token: str | None = None
    expires_at: AwareDatetime | None = None
    scope: str | None = Field(None, max_length=4096)
    id_token: str | None = Field(None, min_length=1, max_length=MAX_ID_TOKEN)


# An STS session lasts 15 minutes to 36 hours (GetSessionToken); shorter ones are for tests
# against a local STS, which does not enforce the lower bound.
MAX_SESSION_DURATION = 129600


class AWSFieldsIn(BaseModel):
    """An `aws` credential's fields in a PUT body; `secret` is its secret access key."""

    access_key_id: str | None = Field(None, min_length=1, max_length=128)
    session_token: str | None = Field(
        None, min_length=1, description="imported temporary keys' token (with expires_at)"
    )
    region: str | None = Field(None, min_length=1, max_length=64)
    mfa_serial: str | None = Field(None, min_length=1, max_length=256)
    role_arn: str | None = Field(None, min_length=1, max_length=2048)
    session: bool | None = Field(
        None,
        description="hand out STS session credentials, never the long-lived key "
        "(default: on, off for temporary keys)",
    )
    session_duration: int | None = Field(
        None, ge=1, le=MAX_SESSION_DURATION, description="seconds an STS session lasts"
    )

    def aws_fields(self, expires_at: datetime | None) -> AWSFields:
        assert self.access_key_id is not None
        return AWSFields(
            access_key_id=self.access_key_id,
            session_token=self.session_token,
            expires_at=expires_at,
            region=self.region,
            mfa_serial=self.mfa_serial,
            role_arn=self.role_arn,
            # Temporary keys cannot ask GetSessionToken for another session.
            session=self.session if self.session is not None else self.session_token is None,
            session_duration=self.session_duration,
        )


class CredentialIn(OAuthFieldsIn, AWSFieldsIn):
    """The body of `PUT /v1/credentials/{name}`."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = "secret"
    secret: str = Field(description="the secret value; for oauth2, the current access token")
    username: str | None = Field(None, max_length=1024)
    labels: dict[str, str] = Field(default_factory=dict, max_length=MAX_LABELS)
    allowed_programs: list[str] = Field(
        default_factory=list,
        max_length=MAX_PROGRAMS,
        description="absolute paths of the executables allowed to read the secret "
        "(/usr/bin/git; on Windows C:\\...\\git.exe); empty: any program of this user",
    )
    # Kubernetes (issue 21)
    client_certificate: str | None = Field(
        None,
        max_length=MAX_CERTIFICATE,
        description="kube: a client certificate (PEM); the secret is then its private key (PEM)",
    )

    @model_validator(mode="after")
    def _check(self) -> CredentialIn:
        check_programs(self.allowed_programs)
        for key, value in self.labels.items():
            if not key or len(key) > MAX_LABEL_LENGTH or len(value) > MAX_LABEL_LENGTH:
                raise ValueError(
                    f"label keys have 1 to {MAX_LABEL_LENGTH} characters and values at "
                    f"most {MAX_LABEL_LENGTH}"
                )
        oauth_given = [
            name
            for name in OAuthFieldsIn.model_fields
            if getattr(self, name) is not None and name not in SECRET_EXPIRY_FIELDS
        ]
        if self.kind != "oauth2" and oauth_given:
            raise ValueError(f"{', '.join(oauth_given)} belong to kind 'oauth2', not {self.kind!r}")
        if self.kind == "ssh-key":
            raise ValueError(
                "an ssh-key is stored by `credd ssh-key import`, `credd ssh-key generate` or "
                "`ssh-add` (POST /v1/ssh-keys), not as a PUT body"
            )
        aws_given = [name for name in AWSFieldsIn.model_fields if getattr(self, name) is not None]
        if self.kind != "aws" and aws_given:
            raise ValueError(f"{', '.join(aws_given)} belong to kind 'aws', not {self.kind!r}")
        if self.kind == "aws":
            _check_aws(self)
        if self.kind == "kube":
            check_kube_body(self.secret, self.client_certificate, self.expires_at)
        elif self.client_certificate is not None:
            raise ValueError(f"client_certificate belongs to kind 'kube', not {self.kind!r}")
        if self.kind == "oauth2" and (self.token_endpoint is None or self.client_id is None):
            raise ValueError("an oauth2 credential needs token_endpoint and client_id")
        return self

    def to_credential(self, name: str) -> Credential:
        oauth = None
        if self.kind == "oauth2":
            assert self.token_endpoint is not None
            assert self.client_id is not None
            oauth = OAuthFields(
                token_endpoint=self.token_endpoint,
                client_id=self.client_id,
                client_secret=self.client_secret,
                token_endpoint_auth_method=self.token_endpoint_auth_method
                or ("client_secret_basic" if self.client_secret else "none"),
                refresh_token=self.refresh_token,
                expires_at=self.expires_at,
                scope=self.scope,
                id_token=self.id_token,
                id_token_expires_at=None if self.id_token is None else jwt_expiry(self.id_token),
            )
        aws = self.aws_fields(self.expires_at) if self.kind == "aws" else None
        kube = None
        if self.kind == "kube":
            kube = KubeFields(client_certificate=self.client_certificate)
        plain = oauth is None and aws is None and kube is None
        return Credential(
            name=name,
            kind=self.kind,
            secret=self.secret,
            username=self.username,
            labels=self.labels,
            oauth=oauth,
            allowed_programs=tuple(dict.fromkeys(self.allowed_programs)),
            expires_at=self.expires_at if plain else None,
            refresh_token=self.refresh_token if plain else None,
            aws=aws,
            kube=kube,
        )


def _check_aws(body: CredentialIn) -> None:
    if body.access_key_id is None or not body.secret:
        raise ValueError("an aws credential needs access_key_id and secret (its secret key)")
    if body.refresh_token is not None:
        raise ValueError("refresh_token belongs to kinds 'secret' and 'oauth2', not 'aws'")
    if body.expires_at is not None and body.session_token is None:
        raise ValueError("expires_at goes with session_token: it is temporary keys' expiry")
    if body.session and body.session_token is not None and body.role_arn is None:
        raise ValueError(
            "temporary aws keys (with a session_token) cannot get an STS session: "
            "set session to false, or give a role_arn to assume"
        )


class ImportedCredential(CredentialIn):
    """One credential of an import: a PUT body and its name."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)

    @model_validator(mode="after")
    def _check_name(self) -> ImportedCredential:
        if not self.name.isprintable():
            raise ValueError("a credential name holds only printable characters")
        return self


class ImportIn(BaseModel):
    """The body of `POST /v1/import`."""

    model_config = ConfigDict(extra="forbid")

    credentials: list[ImportedCredential] = Field(
        description="each with a name no other one here has"
    )
    overwrite: bool = Field(False, description="replace credentials the store holds otherwise")
    dry_run: bool = Field(False, description="compare only; write nothing")

    @model_validator(mode="after")
    def _check_names(self) -> ImportIn:
        if len({c.name for c in self.credentials}) != len(self.credentials):
            raise ValueError("two credentials of one import have the same name")
        return self


class ImportResult(BaseModel):
    name: str
    action: Literal["add", "replace", "unchanged", "conflict"] = Field(
        description="add: new; unchanged: the store holds the same kind, secret and username; "
        "conflict: it holds another value, kept; replace: that value, overwritten"
    )


class ImportOut(BaseModel):
    results: list[ImportResult] = Field(description="one per credential, in the body's order")
    written: bool = Field(description="whether the store was written (durably, once)")


class CredentialOut(BaseModel):
    """A credential as the API returns it; `secret` only from GET of one credential."""

    name: str
    kind: Kind
    username: str | None
    labels: dict[str, str]
    allowed_programs: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    secret: str | None = None
    token_endpoint: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scope: str | None = None
    status: OAuthStatus | None = None
    last_error: str | None = None
    next_refresh_at: datetime | None = None
    # Reach without exposure (issue 19): where the credential was made.
    origin: str | None = Field(
        None, description="the view the credential was made through; null: the main socket"
    )
    # Change events (issue 22)
    version: int = Field(
        1, description="bumped, durably, with every change; a watcher compares it to catch up"
    )
    # ssh-key (issue 20): what is shown of the key; never its private part.
    public_key: str | None = Field(None, description="ssh-key: the public key line (.pub)")
    key_type: str | None = Field(None, description="ssh-key: ssh-ed25519, ecdsa-sha2-..., ssh-rsa")
    fingerprint: str | None = Field(
        None, description="ssh-key: SHA256:... as `ssh-keygen -l` prints it"
    )
    comment: str | None = Field(None, description="ssh-key: the key's comment")
    offered: bool | None = Field(
        None, description="ssh-key: whether the agent offers it (`ssh-add -d` clears it)"
    )
    # AWS (issue 21): never the secret key or a session's secret; `secret` is null for aws.
    access_key_id: str | None = None
    region: str | None = None
    mfa_serial: str | None = None
    role_arn: str | None = None
    session: bool | None = None
    session_duration: int | None = None
    # Kubernetes and OpenID Connect (issue 21)
    client_certificate: str | None = Field(
        None, description="kube: the client certificate (PEM); its key is never rendered here"
    )
    id_token: str | None = Field(None, description="oauth2: the ID token, with include=id_token")
    id_token_expires_at: datetime | None = None


class CredentialList(BaseModel):
    credentials: list[CredentialOut]


class LockState(BaseModel):
    locked: bool


class UnlockIn(BaseModel):
    """The body of `POST /v1/unlock`, for a store sealed with a passphrase."""

    model_config = ConfigDict(extra="forbid")

    passphrase: str | None = Field(None, min_length=1, max_length=4096)


class RekeyIn(BaseModel):
    """The body of `POST /v1/rekey`: the key source to move the store to."""

    model_config = ConfigDict(extra="forbid")

    to: Literal["keyring", "keyfile", "passphrase"]
    passphrase: str | None = Field(None, min_length=1, max_length=4096)


class RekeyOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    key_backend: str


class StoreStatus(BaseModel):
    path: str
    exists: bool
    size: int | None
    state: Literal["ok", "missing", "unreadable"]
    error: str | None


class KeyBackendStatus(BaseModel):
    name: str
    detail: str
    insecure: bool
    reason: str | None


class CredentialCounts(BaseModel):
    total: int | None
    by_kind: dict[str, int]
    by_status: dict[str, int]


class OAuthFailure(BaseModel):
    name: str
    status: str
    last_error: str | None


class OAuthCredentialState(BaseModel):
    name: str
    status: OAuthStatus
    expires_at: datetime | None
    next_refresh_at: datetime | None
    last_error: str | None


class OAuthSummary(BaseModel):
    next_refresh_at: datetime | None
    failures: list[OAuthFailure]
    credentials: list[OAuthCredentialState]


class RegistrationIn(BaseModel):
    """The body of `PUT /v1/registration`: a client registered with an issuer (RFC 7591)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=2048)
    client_id: str = Field(min_length=1, max_length=1024)
    client_secret: str | None = None
    token_endpoint_auth_method: AuthMethod = "none"  # noqa: S105 - a method name
    registration_access_token: str | None = None
    registration_client_uri: str | None = Field(None, max_length=2048)

    def to_registration(self) -> Registration:
        return Registration(
            issuer=self.issuer,
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            registration_access_token=self.registration_access_token,
            registration_client_uri=self.registration_client_uri,
        )


class RegistrationOut(BaseModel):
    """A registration as `GET /v1/registration` returns it, secrets included."""

    issuer: str
    client_id: str
    client_secret: str | None
    token_endpoint_auth_method: AuthMethod
    registration_access_token: str | None
    registration_client_uri: str | None
    created_at: datetime


def render_registration(registration: Registration) -> dict[str, Any]:
    return {
        "issuer": registration.issuer,
        "client_id": registration.client_id,
        "client_secret": registration.client_secret,
        "token_endpoint_auth_method": registration.token_endpoint_auth_method,
        "registration_access_token": registration.registration_access_token,
        "registration_client_uri": registration.registration_client_uri,
        "created_at": format_time(registration.created_at),
    }


class ProgramIdentity(BaseModel):
    """Whether the daemon can read its clients' executables (per-program access, the audit's
    program names), and if not, why."""

    identifiable: bool
    reason: str | None


class ViewIn(BaseModel):
    """The body of `PUT /v1/views/{name}`: make or replace a view."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="globs on credential names (fnmatch); may be empty with ssh_keys",
    )
    write: bool = Field(False, description="allow PUT and DELETE of matching names")
    ttl: str | None = Field(
        None, max_length=32, description="how long the view lives: 90s, 15m, 8h, 2d"
    )
    uids: list[int] = Field(
        default_factory=list, max_length=64, description="other uids the socket admits"
    )
    ssh_keys: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="globs on ssh-key names: the view's agent socket lists and signs with these",
    )


class ViewStatus(BaseModel):
    name: str
    patterns: list[str]
    write: bool
    uids: list[int]
    socket: str | None = Field(description="its socket's path; null through the view itself")
    expires_at: datetime | None
    last_used_at: datetime | None
    requests: int
    # SSH keys (issue 20): the view's agent socket and the keys it offers.
    ssh_keys: list[str] = Field(default_factory=list)
    agent_socket: str | None = Field(None, description="views/NAME.agent.sock, with ssh_keys")


class ViewList(BaseModel):
    views: list[ViewStatus]


class WatcherStatus(BaseModel):
    """An open `GET /v1/events` stream: a `credd exec` or `credd render` declares itself."""

    pid: int | None = Field(description="the watching process, from the socket's peer")
    exe: str | None
    holder: str | None = Field(description="what it declared it is: exec, render, ...")
    names: list[str] | None = Field(description="the credentials it holds; null: every one")
    view: str | None = Field(description="the view it watches through; null: the main socket")
    since: datetime


class StatusOut(BaseModel):
    pid: int
    version: str
    started_at: datetime
    uptime_seconds: float
    socket: str | None = Field(description="the socket's path; null through a view")
    store: StoreStatus | None = Field(description="null through a view")
    key_backend: KeyBackendStatus | None = Field(description="null through a view")
    locked: bool
    lock_reason: str | None
    lock_after: float | None
    locks_at: datetime | None
    credentials: CredentialCounts
    oauth: OAuthSummary
    programs: ProgramIdentity | None = Field(description="null through a view")
    views: list[ViewStatus] | None = Field(
        None, description="on the main socket: the views the daemon serves"
    )
    view: ViewStatus | None = Field(
        None, description="through a view: the view this socket is; null on the main socket"
    )
    # Change events (issue 22)
    watchers: list[WatcherStatus] | None = Field(
        None, description="on the main socket: the open event streams and what each holds"
    )
    # AWS (issue 21): the STS sessions, summarised as the OAuth refreshes are.
    aws: OAuthSummary | None = Field(
        None, description="aws credentials' STS sessions: expiry, next renewal, failures"
    )


# Every code an error envelope may carry: the shared exception tree's, and the one the daemon
# answers for a method a path does not take (envelope.py). Declared as an enum, so that the
# OpenAPI document is the one description of the API the clients in every language are checked
# against; a client given a code it does not know still has the string.
ERROR_CODES = tuple(sorted(wire_codes() | {"method_not_allowed"}))


class ErrorDetail(BaseModel):
    code: str = Field(
        json_schema_extra={"enum": [*ERROR_CODES]},
        description="what went wrong, for programs; new codes may be added",
    )
    message: str = Field(description="what went wrong and what to do, for people")


class ErrorOut(BaseModel):
    error: ErrorDetail


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def render_credential(
    credential: Credential, *, with_secret: bool, include: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The JSON of a credential; secret values only where asked for."""
    data: dict[str, Any] = {
        "name": credential.name,
        "kind": credential.kind,
        "username": credential.username,
        "labels": dict(credential.labels),
        "allowed_programs": list(credential.allowed_programs),
        "created_at": format_time(credential.created_at),
        "updated_at": format_time(credential.updated_at),
        "origin": credential.origin,
        "version": credential.version,
    }
    if with_secret:
        data["secret"] = credential.served_secret
    if credential.expires_at is not None:  # a secret's (an oauth2 one's comes below)
        data["expires_at"] = format_time(credential.expires_at)
    if credential.refresh_token is not None and "refresh_token" in include:
        data["refresh_token"] = credential.refresh_token
    oauth = credential.oauth
    if oauth is not None:
        data.update(
            token_endpoint=oauth.token_endpoint,
            client_id=oauth.client_id,
            token_endpoint_auth_method=oauth.token_endpoint_auth_method,
            expires_at=_time(oauth.expires_at),
            scope=oauth.scope,
            status=oauth.status,
            last_error=oauth.last_error,
            next_refresh_at=_time(oauth.next_refresh_at),
        )
        if "client_secret" in include:
            data["client_secret"] = oauth.client_secret
        if "refresh_token" in include:
            data["refresh_token"] = oauth.refresh_token
        if oauth.id_token_expires_at is not None:
            data["id_token_expires_at"] = format_time(oauth.id_token_expires_at)
        if "id_token" in include:
            data["id_token"] = oauth.id_token
    if credential.kube is not None and credential.kube.client_certificate is not None:
        data["client_certificate"] = credential.kube.client_certificate
    ssh = credential.ssh
    if ssh is not None:  # the private key is never rendered
        data.update(
            public_key=ssh.public_key,
            key_type=ssh.key_type,
            fingerprint=ssh.fingerprint,
            comment=ssh.comment,
            offered=ssh.offered,
        )
    if credential.aws is not None:
        data.update(render_aws(credential.aws))
    return data


def render_aws(aws: AWSFields) -> dict[str, Any]:
    """An aws credential's flat wire fields; the expiry and state are its session's."""
    expires_at = aws.sts_expires_at if aws.sts_expires_at is not None else aws.expires_at
    return {
        "access_key_id": aws.access_key_id,
        "region": aws.region,
        "mfa_serial": aws.mfa_serial,
        "role_arn": aws.role_arn,
        "session": aws.session,
        "session_duration": aws.session_duration,
        "expires_at": _time(expires_at),
        "status": aws.status,
        "last_error": aws.last_error,
        "next_refresh_at": _time(aws.next_refresh_at),
    }


# --- ssh keys (issue 20) -----------------------------------------------------------------------


class SSHKeyFileIn(BaseModel):
    """One key to store: an unencrypted private key file (the command decrypts it first)."""

    model_config = ConfigDict(extra="forbid")

    stem: str = Field(min_length=1, max_length=200, description="the name is ssh:<stem>")
    private_key: str = Field(
        min_length=1, max_length=64 * 1024, description="an OpenSSH or PEM private key"
    )
    comment: str = Field("", max_length=1024, description="else the key file's own")
    allowed_programs: list[str] = Field(default_factory=list, max_length=MAX_PROGRAMS)

    _programs = field_validator("allowed_programs")(check_programs)


class SSHKeysImportIn(BaseModel):
    """The body of `POST /v1/ssh-keys`: keys to store in one durable commit."""

    model_config = ConfigDict(extra="forbid")

    keys: list[SSHKeyFileIn] = Field(max_length=256)
    dry_run: bool = Field(False, description="compare only; write nothing")


class SSHKeyResult(BaseModel):
    name: str
    action: Literal["add", "unchanged", "offered"] = Field(
        description="add: stored; unchanged: held already; offered: held, offered again"
    )
    fingerprint: str


class SSHKeysImportOut(BaseModel):
    results: list[SSHKeyResult]
    written: bool


class SSHKeyGenerateIn(BaseModel):
    """The body of `POST /v1/ssh-keys/generate`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    type: Literal["ed25519", "ecdsa", "rsa"] = "ed25519"
    comment: str = Field("", max_length=1024)
    allowed_programs: list[str] = Field(default_factory=list, max_length=MAX_PROGRAMS)

    _programs = field_validator("allowed_programs")(check_programs)


class SSHKeyNamesIn(BaseModel):
    """The body of `PUT /v1/ssh-keys/order` and `POST /v1/ssh-keys/offer`."""

    model_config = ConfigDict(extra="forbid")

    names: list[str] = Field(min_length=1, max_length=1024)


# --- Kubernetes (issue 21) -------------------------------------------------------------------


class KubeOut(BaseModel):
    """What `GET /v1/kube/{name}` answers: a token and its expiry, or a client certificate
    and its key, for `credd kube` to put in an ExecCredential."""

    name: str
    token: str | None = Field(
        description="a kube token, an OIDC login's ID token, an access token or a secret"
    )
    expires_at: datetime | None = Field(description="when the token stops working")
    client_certificate: str | None = Field(description="PEM, for a client-certificate user")
    client_key: str | None = Field(description="PEM, the certificate's private key")


# --- recovery --------------------------------------------------------------------------------


class BackupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passphrase: str = Field(
        min_length=8, description="the backup is sealed under a key derived from it (scrypt)"
    )


class BackupOut(BaseModel):
    backup: str = Field(description="the sealed backup, base64")
    count: int


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passphrase: str
    backup: str = Field(description="a sealed backup, base64, as `POST /v1/backup` made it")
    overwrite: bool = Field(
        False, description="replace credentials the store holds with the backup's versions"
    )


class RestoreOut(BaseModel):
    added: list[str]
    unchanged: list[str]
    replaced: list[str]
    kept: list[str]


class ResetOut(BaseModel):
    moved_to: str | None


# --- AWS (issue 21) ---------------------------------------------------------------------------


class AWSProcessCredentials(BaseModel):
    """`GET /v1/aws/{name}`: what AWS's `credential_process` prints, as its docs spell it."""

    Version: Literal[1]
    AccessKeyId: str
    SecretAccessKey: str
    SessionToken: str | None = Field(None, description="for temporary (session) keys")
    Expiration: datetime | None = Field(None, description="for temporary keys, in UTC")


class AWSLoginIn(BaseModel):
    """The body of `POST /v1/aws/{name}/login`: the MFA device's current code."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{6}$", description="the six digits the MFA device shows")
