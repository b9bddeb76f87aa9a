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

from ..store.records import (
    MAX_NAME_LENGTH,
    AuthMethod,
    Credential,
    Kind,
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

SECRET_INCLUDES = frozenset({"refresh_token", "client_secret"})
# What a `secret` may carry of the oauth2 fields: git's password_expiry_utc and
# oauth_refresh_token, kept for the helper that minted the password.
SECRET_EXPIRY_FIELDS = frozenset({"expires_at", "refresh_token"})


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


class CredentialIn(OAuthFieldsIn):
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
        if self.kind == "secret" and oauth_given:
            raise ValueError(f"{', '.join(oauth_given)} belong to kind 'oauth2', not 'secret'")
        if self.kind == "ssh-key":
            raise ValueError(
                "an ssh-key is stored by `credd ssh-key import`, `credd ssh-key generate` or "
                "`ssh-add` (POST /v1/ssh-keys), not as a PUT body"
            )
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
            )
        return Credential(
            name=name,
            kind=self.kind,
            secret=self.secret,
            username=self.username,
            labels=self.labels,
            oauth=oauth,
            allowed_programs=tuple(dict.fromkeys(self.allowed_programs)),
            expires_at=self.expires_at if oauth is None else None,
            refresh_token=self.refresh_token if oauth is None else None,
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
    socket: str
    expires_at: datetime | None
    last_used_at: datetime | None
    requests: int
    # SSH keys (issue 20): the view's agent socket and the keys it offers.
    ssh_keys: list[str] = Field(default_factory=list)
    agent_socket: str | None = Field(None, description="views/NAME.agent.sock, with ssh_keys")


class ViewList(BaseModel):
    views: list[ViewStatus]


class StatusOut(BaseModel):
    pid: int
    version: str
    started_at: datetime
    uptime_seconds: float
    socket: str
    store: StoreStatus
    key_backend: KeyBackendStatus
    locked: bool
    lock_reason: str | None
    lock_after: float | None
    locks_at: datetime | None
    credentials: CredentialCounts
    oauth: OAuthSummary
    programs: ProgramIdentity
    views: list[ViewStatus] | None = Field(
        None, description="on the main socket: the views the daemon serves"
    )
    view: ViewStatus | None = Field(
        None, description="through a view: the view this socket is; null on the main socket"
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
    }
    if with_secret:
        data["secret"] = credential.secret
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
    ssh = credential.ssh
    if ssh is not None:  # the private key is never rendered
        data.update(
            public_key=ssh.public_key,
            key_type=ssh.key_type,
            fingerprint=ssh.fingerprint,
            comment=ssh.comment,
            offered=ssh.offered,
        )
    return data


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
