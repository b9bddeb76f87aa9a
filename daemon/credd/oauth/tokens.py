"""The token endpoint, sans I/O: build a request, and say what an answer means.

Requests are plain data (URL, headers, form fields) for whatever sends them: the daemon's
refresher (httpx, async) and `credd login` (httpx, blocking). An answer is classified per
RFC 6749 section 5.1 and 5.2 into one of four outcomes:

    Granted      a new access token (and perhaps a rotated refresh token)
    LoginNeeded  the grant or the client is gone: only `credd login` helps
    Retry        the server did not take the refresh token: safe to send it again later
    Unknown      the server may have taken it (a 2xx answer credd cannot read, or no
                 answer after the request was sent): sending it again may be a reuse

No message here holds a token or a secret, only error codes and the server's description.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from ..store.records import AuthMethod

# RFC 6749 5.2 codes after which the same refresh token (or client) will never work again.
LOGIN_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"}
)
MAX_DESCRIPTION = 300


@dataclass(frozen=True)
class TokenRequest:
    url: str
    form: Mapping[str, str] = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class TokenGrant:
    """A successful token response (RFC 6749 section 5.1)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: int | None = None
    scope: str | None = None
    id_token: str | None = field(default=None, repr=False)  # OpenID Connect


@dataclass(frozen=True)
class Granted:
    grant: TokenGrant


@dataclass(frozen=True)
class LoginNeeded:
    reason: str


@dataclass(frozen=True)
class Retry:
    reason: str


@dataclass(frozen=True)
class Unknown:
    reason: str


Outcome = Granted | LoginNeeded | Retry | Unknown


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The Authorization header value of RFC 6749 section 2.3.1.

    Client id and secret are each form-encoded (application/x-www-form-urlencoded) before
    they are joined with a colon and base64-encoded, so a `:` or `%` in either survives.
    """
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


def token_request(
    url: str,
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: AuthMethod,
) -> TokenRequest:
    """A token endpoint request with the client authenticated as ``auth_method`` says."""
    fields = dict(form)
    headers = {"Accept": "application/json"}
    if auth_method == "client_secret_basic" and client_secret is not None:
        headers["Authorization"] = basic_credentials(client_id, client_secret)
    else:
        fields["client_id"] = client_id
        if auth_method == "client_secret_post" and client_secret is not None:
            fields["client_secret"] = client_secret
    return TokenRequest(url=url, form=fields, headers=headers)


def refresh_request(
    url: str,
    refresh_token: str,
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: AuthMethod,
) -> TokenRequest:
    return token_request(
        url,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        client_id=client_id,
        client_secret=client_secret,
        auth_method=auth_method,
    )


def classify(status: int, body: bytes, host: str | None = None) -> Outcome:
    """What a token endpoint's answer means for the refresh token that was sent.

    ``host``, when given, is named in the reason ("the token endpoint at HOST answered ...").
    """
    endpoint = "the token endpoint" if host is None else f"the token endpoint at {host}"
    document = _json_object(body)
    if 200 <= status < 300:
        grant = None if document is None else parse_grant(document)
        if grant is None:
            # The server accepted the request and may have rotated the refresh token.
            return Unknown(f"{endpoint} answered HTTP {status} with no usable token")
        return Granted(grant)
    error = None if document is None else document.get("error")
    if isinstance(error, str):
        reason = describe_error(document or {}, status)
        if host is not None:
            reason = f"{endpoint} answered {reason}"
        if error in LOGIN_ERRORS:
            return LoginNeeded(reason)
        return Retry(reason)
    return Retry(f"{endpoint} answered HTTP {status}")


def parse_grant(document: Mapping[str, object]) -> TokenGrant | None:
    access = document.get("access_token")
    refresh = document.get("refresh_token")
    expires_in = document.get("expires_in")
    scope = document.get("scope")
    id_token = document.get("id_token")
    if not isinstance(access, str) or not access:
        return None
    if refresh is not None and (not isinstance(refresh, str) or not refresh):
        return None
    lifetime: int | None = None
    if (isinstance(expires_in, int | float) and not isinstance(expires_in, bool)) or (
        isinstance(expires_in, str) and expires_in.isdigit()
    ):
        lifetime = int(expires_in)
    elif expires_in is not None:
        return None
    if lifetime is not None and lifetime < 0:
        return None
    return TokenGrant(
        access_token=access,
        refresh_token=refresh,
        expires_in=lifetime,
        scope=scope if isinstance(scope, str) else None,
        id_token=id_token if isinstance(id_token, str) and id_token else None,
    )


def describe_error(document: Mapping[str, object], status: int | None = None) -> str:
    """`error: description (HTTP n)`: the server's own words, bounded, printable only."""
    error = document.get("error")
    text = _printable(error) if isinstance(error, str) else "error"
    description = document.get("error_description")
    if isinstance(description, str) and description:
        text += f": {_printable(description)}"
    return text if status is None else f"{text} (HTTP {status})"


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:MAX_DESCRIPTION]


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None
