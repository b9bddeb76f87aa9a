"""The one exception tree, shared in meaning with the daemon's wire error codes.

    CreddError
    ├── DaemonUnavailable    no socket, or nothing listening          exit 3
    ├── DaemonTimeout        connected, but no answer in time         exit 1
    ├── ProtocolError        an answer that makes no sense            exit 1
    ├── InvalidRequest       the request is malformed                 exit 2
    │   └── PayloadTooLarge  a body over the daemon's limit           exit 2
    ├── NotFound             no such credential or path               exit 4
    ├── NeedsLogin           an OAuth grant needs `credd login`        exit 5
    ├── Locked               the daemon holds no key                  exit 1
    │   └── WrongPassphrase  `credd unlock` was given the wrong one   exit 1
    ├── StoreUnreadable      the store file does not decrypt or parse exit 1
    ├── WriteFailed          the store could not be written (disk full) exit 1
    ├── RefreshFailed        an access token expired, refresh failed exit 1
    ├── Forbidden            this peer may not do that                exit 1
    └── InternalError        a bug in the daemon                      exit 1

Each class carries its wire ``code``, its HTTP ``status`` and its CLI ``exit_code``.
Messages never hold a secret value.
"""

from __future__ import annotations

__all__ = [
    "CreddError",
    "DaemonTimeout",
    "DaemonUnavailable",
    "Forbidden",
    "InternalError",
    "InvalidRequest",
    "Locked",
    "NeedsLogin",
    "NotFound",
    "PayloadTooLarge",
    "ProtocolError",
    "RefreshFailed",
    "StoreUnreadable",
    "WriteFailed",
    "WrongPassphrase",
    "error_for_code",
    "wire_codes",
]


class CreddError(Exception):
    """Base of every error credd raises on either side of the socket."""

    code = "error"
    status = 500
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DaemonUnavailable(CreddError):
    code = "daemon_unavailable"
    status = 503
    exit_code = 3


class DaemonTimeout(CreddError):
    """A daemon took the connection and did not answer in time: slow, not absent."""

    code = "daemon_timeout"
    status = 504


class ProtocolError(CreddError):
    code = "protocol_error"
    status = 502


class InvalidRequest(CreddError):
    code = "invalid_request"
    status = 400
    exit_code = 2


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"
    status = 413


class NotFound(CreddError):
    code = "not_found"
    status = 404
    exit_code = 4


class NeedsLogin(CreddError):
    code = "needs_login"
    status = 409
    exit_code = 5


class Locked(CreddError):
    code = "locked"
    status = 423


class WrongPassphrase(Locked):
    code = "wrong_passphrase"
    status = 403


class StoreUnreadable(CreddError):
    code = "store_unreadable"
    status = 503


class WriteFailed(CreddError):
    code = "write_failed"
    status = 507


class RefreshFailed(CreddError):
    code = "refresh_failed"
    status = 502


class Forbidden(CreddError):
    code = "forbidden"
    status = 403


class InternalError(CreddError):
    code = "internal_error"
    status = 500


_BY_CODE: dict[str, type[CreddError]] = {
    cls.code: cls
    for cls in (
        DaemonUnavailable,
        DaemonTimeout,
        ProtocolError,
        InvalidRequest,
        PayloadTooLarge,
        NotFound,
        NeedsLogin,
        Locked,
        WrongPassphrase,
        StoreUnreadable,
        WriteFailed,
        RefreshFailed,
        Forbidden,
        InternalError,
    )
}


def error_for_code(code: str, message: str) -> CreddError:
    """The exception for a wire error code; an unknown code becomes a plain CreddError."""
    cls = _BY_CODE.get(code)
    if cls is None:
        error = CreddError(message)
        error.code = code
        return error
    return cls(message)


# Raised by a client about its own connection to the daemon; the daemon never sends them.
CLIENT_ONLY_CODES = frozenset({"daemon_unavailable", "daemon_timeout", "protocol_error"})


def wire_codes() -> frozenset[str]:
    """The codes of this tree the daemon may send in its error envelope (the API's enum)."""
    return frozenset(_BY_CODE) - CLIENT_ONLY_CODES
