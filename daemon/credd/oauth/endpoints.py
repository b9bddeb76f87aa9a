"""Which hosts credd sends OAuth requests to (sans-I/O).

Every token, revocation and registration endpoint is `https`. Plain `http` is allowed on a
loopback host only (`localhost`, 127.0.0.0/8, ::1: a test server, a local identity provider),
and only for a credential made on the main socket: a view (a remote machine, a container)
must not steer the daemon's requests to the laptop's own services.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from credd_client.errors import InvalidRequest


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_refusal(url: str, what: str, origin: str | None = None) -> str | None:
    """Why credd will not send a request to ``url`` (the ``what`` of a credential made
    through the view ``origin``, None for the main socket); None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"the {what} is not a URL"
    if not host:
        return f"the {what} is not a URL with a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback(host):
        if origin is None:
            return None
        return (
            f"the {what} is plain http on the loopback host {host}, which only credentials "
            f"made on the main socket may use (this one was made through the view {origin!r})"
        )
    return f"the {what} must be https (plain http only on localhost), not {parts.scheme}://{host}"


def check_endpoint(url: str, what: str, origin: str | None = None) -> str:
    """``url`` if credd may send requests there; `InvalidRequest` saying why not otherwise."""
    refusal = endpoint_refusal(url, what, origin)
    if refusal is not None:
        raise InvalidRequest(refusal)
    return url
