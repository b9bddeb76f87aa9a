"""`Prefer: wait=N` (RFC 7240): how long the client will wait for an answer, read sans-I/O.

Every credd client sends it: whole seconds, its timeout less a margin. The daemon bounds what
it waits for on a client's behalf (a refresh, the keyring) by it; see oauth/schedule.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope

_MAX_DIGITS = 9


def requested_wait(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The ``wait`` preference of a request's ``Prefer`` header fields, None when there is none
    (or it is not a whole number of seconds, which RFC 7240 says to ignore)."""
    for name, value in headers:
        if name.lower() != b"prefer":
            continue
        for preference in value.split(b","):
            token, _, rest = preference.split(b";", 1)[0].partition(b"=")
            if token.strip().lower() != b"wait":
                continue
            seconds = rest.strip().strip(b'"')
            if seconds.isdigit() and len(seconds) <= _MAX_DIGITS:
                return int(seconds)
    return None


def wait_in(scope: Scope) -> int | None:
    """The ``wait`` a request asked for (`requested_wait` of its headers)."""
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    return requested_wait(headers)
