"""What the daemon answers, as small immutable records.

Decoding is strict about the fields the contract names (a wrong type is a `ProtocolError`)
and lenient about the rest: keys a newer daemon adds land in `Credential.extra`, so an old
client keeps working. Secret values never appear in a `repr`, so printing or logging a
record cannot leak one.

The records behave as frozen dataclasses (keyword construction, comparison by value,
immutable, unhashable as they hold dicts) but are written out by hand: `dataclasses`
imports `inspect` and costs about 10 ms, more than the rest of this package together.
"""

from __future__ import annotations

from .errors import ProtocolError

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class _Record:
    """Immutable fields named by ``__slots__``, compared by value, some left out of repr."""

    __slots__: tuple[str, ...] = ()
    _hidden_from_repr: frozenset[str] = frozenset()
    __hash__ = None  # type: ignore[assignment]  # equal by value, and holds dicts

    def _assign(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self) -> str:
        shown = (
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if name not in self._hidden_from_repr
        )
        return f"{type(self).__name__}({', '.join(shown)})"


class Credential(_Record):
    """One credential. ``secret`` is set only by the calls that return it (`get`, `refresh`).

    The oauth2 fields are None for a plain secret; ``refresh_token`` and ``client_secret``
    are set only when asked for with ``include``. ``extra`` holds the fields this client does
    not know yet; like the secrets, it stays out of the repr, as one of them may be a secret.
    """

    __slots__ = (  # noqa: RUF023 - in the order repr shows them
        "name",
        "kind",
        "username",
        "secret",
        "labels",
        "created_at",
        "updated_at",
        "token_endpoint",
        "client_id",
        "client_secret",
        "token_endpoint_auth_method",
        "refresh_token",
        "expires_at",
        "scope",
        "status",
        "last_error",
        "next_refresh_at",
        # Reach without exposure (issue 19): the view it was made through; None: main socket.
        "origin",
        # Change events (issue 22)
        "version",
        # Kubernetes and OpenID Connect (issue 21)
        "client_certificate",
        "id_token",
        "id_token_expires_at",
        "extra",
        # ssh-key (issue 20)
        "public_key",
        "key_type",
        "fingerprint",
        "comment",
        "offered",
        # AWS (issue 21): an aws credential's settings (its keys come from `Client.aws_credentials`)
        "access_key_id",
        "region",
        "mfa_serial",
        "role_arn",
        "session",
        "session_duration",
    )
    _hidden_from_repr = frozenset({"secret", "client_secret", "refresh_token", "id_token", "extra"})

    name: str
    kind: str
    username: str | None
    secret: str | None
    labels: dict[str, str]
    created_at: str | None
    updated_at: str | None
    token_endpoint: str | None
    client_id: str | None
    client_secret: str | None
    token_endpoint_auth_method: str | None
    refresh_token: str | None
    expires_at: str | None
    scope: str | None
    status: str | None
    last_error: str | None
    next_refresh_at: str | None
    origin: str | None
    version: int | None
    client_certificate: str | None
    id_token: str | None
    id_token_expires_at: str | None
    extra: dict[str, Any]
    # ssh-key (issue 20)
    public_key: str | None
    key_type: str | None
    fingerprint: str | None
    comment: str | None
    offered: bool | None
    # AWS (issue 21)
    access_key_id: str | None
    region: str | None
    mfa_serial: str | None
    role_arn: str | None
    session: bool | None
    session_duration: int | None

    def __init__(
        self,
        *,
        name: str,
        kind: str,
        username: str | None = None,
        secret: str | None = None,
        labels: Mapping[str, str] | None = None,
        created_at: str | None = None,
        updated_at: str | None = None,
        token_endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_endpoint_auth_method: str | None = None,
        refresh_token: str | None = None,
        expires_at: str | None = None,
        scope: str | None = None,
        status: str | None = None,
        last_error: str | None = None,
        next_refresh_at: str | None = None,
        origin: str | None = None,
        version: int | None = None,
        client_certificate: str | None = None,
        id_token: str | None = None,
        id_token_expires_at: str | None = None,
        extra: Mapping[str, Any] | None = None,
        public_key: str | None = None,
        key_type: str | None = None,
        fingerprint: str | None = None,
        comment: str | None = None,
        offered: bool | None = None,
        access_key_id: str | None = None,
        region: str | None = None,
        mfa_serial: str | None = None,
        role_arn: str | None = None,
        session: bool | None = None,
        session_duration: int | None = None,
    ) -> None:
        self._assign(
            name=name,
            kind=kind,
            username=username,
            secret=secret,
            labels=dict(labels or {}),
            created_at=created_at,
            updated_at=updated_at,
            token_endpoint=token_endpoint,
            client_id=client_id,
            client_secret=client_secret,
            token_endpoint_auth_method=token_endpoint_auth_method,
            refresh_token=refresh_token,
            expires_at=expires_at,
            scope=scope,
            status=status,
            last_error=last_error,
            next_refresh_at=next_refresh_at,
            origin=origin,
            version=version,
            client_certificate=client_certificate,
            id_token=id_token,
            id_token_expires_at=id_token_expires_at,
            extra=dict(extra or {}),
            public_key=public_key,
            key_type=key_type,
            fingerprint=fingerprint,
            comment=comment,
            offered=offered,
            access_key_id=access_key_id,
            region=region,
            mfa_serial=mfa_serial,
            role_arn=role_arn,
            session=session,
            session_duration=session_duration,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Credential:
        """Decode one credential object of the daemon's answer."""
        labels = data.get("labels") or {}
        if not isinstance(labels, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in labels.items()
        ):
            raise _unexpected("'labels' is not an object of strings")
        offered = data.get("offered")
        if offered is not None and not isinstance(offered, bool):
            raise _unexpected("'offered' is not a boolean")
        return cls(
            name=_text(data, "name"),
            kind=_text(data, "kind"),
            labels=labels,
            version=_optional_int(data, "version"),
            offered=offered,
            extra={key: value for key, value in data.items() if key not in _KNOWN_FIELDS},
            session=_optional_bool(data, "session"),
            session_duration=_optional_int(data, "session_duration"),
            **{key: _optional_text(data, key) for key in _OPTIONAL_TEXT_FIELDS},
        )

    def to_json(self) -> dict[str, Any]:
        """The credential as the daemon sends it, unset fields left out (for ``--json``)."""
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "labels": dict(self.labels)}
        for key in (*_OPTIONAL_TEXT_FIELDS, "version", *_OPTIONAL_OTHER_FIELDS):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data.update(self.extra)
        return data


_KNOWN_FIELDS = frozenset(Credential.__slots__) - {"extra"}
_OPTIONAL_OTHER_FIELDS = ("offered", "session", "session_duration")
_OPTIONAL_TEXT_FIELDS = tuple(
    key
    for key in Credential.__slots__
    if key not in {"name", "kind", "labels", "version", "extra", *_OPTIONAL_OTHER_FIELDS}
)


class Status(_Record):
    """The daemon's health, as `GET /v1/status` reports it.

    The fields a caller acts on are typed; the nested reports (store, key backend,
    credential counts, OAuth summary) are the daemon's objects as sent, and ``raw`` is the
    whole answer, for ``credd status --json``.
    """

    __slots__ = (  # noqa: RUF023 - in the order repr shows them
        "pid",
        "version",
        "locked",
        "lock_reason",
        "started_at",
        "uptime_seconds",
        "socket",
        "store",
        "key_backend",
        "credentials",
        "oauth",
        "raw",
    )
    _hidden_from_repr = frozenset({"raw"})  # repeats the rest

    pid: int
    version: str
    locked: bool
    lock_reason: str | None
    started_at: str | None
    uptime_seconds: float | None
    socket: str | None
    store: dict[str, Any]
    key_backend: dict[str, Any]
    credentials: dict[str, Any]
    oauth: dict[str, Any]
    raw: dict[str, Any]

    def __init__(
        self,
        *,
        pid: int,
        version: str,
        locked: bool,
        lock_reason: str | None = None,
        started_at: str | None = None,
        uptime_seconds: float | None = None,
        socket: str | None = None,
        store: Mapping[str, Any] | None = None,
        key_backend: Mapping[str, Any] | None = None,
        credentials: Mapping[str, Any] | None = None,
        oauth: Mapping[str, Any] | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self._assign(
            pid=pid,
            version=version,
            locked=locked,
            lock_reason=lock_reason,
            started_at=started_at,
            uptime_seconds=uptime_seconds,
            socket=socket,
            store=dict(store or {}),
            key_backend=dict(key_backend or {}),
            credentials=dict(credentials or {}),
            oauth=dict(oauth or {}),
            raw=dict(raw or {}),
        )

    @property
    def insecure(self) -> bool:
        """True when the store key sits in a key file instead of a secure keyring."""
        return self.key_backend.get("insecure") is True

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Status:
        """Decode the answer of `GET /v1/status`."""
        pid = data.get("pid")
        locked = data.get("locked")
        uptime = data.get("uptime_seconds")
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise _unexpected("'pid' is not an integer")
        if not isinstance(locked, bool):
            raise _unexpected("'locked' is not a boolean")
        if uptime is not None and (isinstance(uptime, bool) or not isinstance(uptime, int | float)):
            raise _unexpected("'uptime_seconds' is not a number")
        return cls(
            pid=pid,
            version=_text(data, "version"),
            locked=locked,
            lock_reason=_optional_text(data, "lock_reason"),
            started_at=_optional_text(data, "started_at"),
            uptime_seconds=None if uptime is None else float(uptime),
            socket=_optional_text(data, "socket"),
            store=_object(data, "store"),
            key_backend=_object(data, "key_backend"),
            credentials=_object(data, "credentials"),
            oauth=_object(data, "oauth"),
            raw=data,
        )


class KubeCredential(_Record):
    """What `GET /v1/kube/{name}` answers: a token and its expiry (RFC 3339), or a client
    certificate and its key (PEM)."""

    __slots__ = ("name", "token", "expires_at", "client_certificate", "client_key")  # noqa: RUF023
    _hidden_from_repr = frozenset({"token", "client_key"})

    name: str
    token: str | None
    expires_at: str | None
    client_certificate: str | None
    client_key: str | None

    def __init__(
        self,
        *,
        name: str,
        token: str | None = None,
        expires_at: str | None = None,
        client_certificate: str | None = None,
        client_key: str | None = None,
    ) -> None:
        self._assign(
            name=name,
            token=token,
            expires_at=expires_at,
            client_certificate=client_certificate,
            client_key=client_key,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KubeCredential:
        answer = cls(
            name=_text(data, "name"),
            **{key: _optional_text(data, key) for key in cls.__slots__ if key != "name"},
        )
        if answer.token is None and (answer.client_certificate is None or not answer.client_key):
            raise _unexpected("neither a token nor a client certificate and key")
        return answer


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _unexpected(f"{key!r} is missing or not a string")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _unexpected(f"{key!r} is not a string")
    return value


def _optional_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise _unexpected(f"{key!r} is not a boolean")
    return value


def _optional_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _unexpected(f"{key!r} is not an integer")
    return value


def _object(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise _unexpected(f"{key!r} is not an object")
    return value


def _unexpected(what: str) -> ProtocolError:
    # Names the field, never its value: the value may be a secret.
    return ProtocolError(f"unexpected answer from the daemon: {what}")
