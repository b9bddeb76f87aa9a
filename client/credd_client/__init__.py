"""credd_client: talk to the credd daemon over its local socket. Standard library only.

Start with `Client`; every error it raises is a `CreddError`, which carries its CLI exit code.
"""

from ._paths import socket_path
from .client import Client
from .errors import (
    CreddError,
    DaemonTimeout,
    DaemonUnavailable,
    Forbidden,
    InternalError,
    InvalidRequest,
    Locked,
    NeedsLogin,
    NotFound,
    PayloadTooLarge,
    ProtocolError,
    RefreshFailed,
    StoreUnreadable,
    WriteFailed,
)
from .models import Credential, Status

__version__ = "0.1.0"

__all__ = [
    "Client",
    "CreddError",
    "Credential",
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
    "Status",
    "StoreUnreadable",
    "WriteFailed",
    "__version__",
    "socket_path",
]
