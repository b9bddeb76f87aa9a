"""The issuer's side of a login, and plain HTTP helpers for the login flows.

- Metadata: RFC 8414 (`/.well-known/oauth-authorization-server`, inserted before the
  issuer's path), then OpenID discovery (`<issuer>/.well-known/openid-configuration`); the
  `issuer` it names must be the one asked for.
- Client: `--client-id` (a public client), else the registration kept for this issuer (in
  the store, through the daemon), else dynamic registration (RFC 7591) as a native
  application with a loopback redirect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from credd_client import Client
from credd_client.errors import CreddError, NotFound

from ..store.records import AuthMethod
from .endpoints import check_endpoint
from .tokens import describe_error

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CALLBACK_PATH = "/callback"


class LoginFailed(CreddError):
    code = "login_failed"
    status = 400
    exit_code = 1


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    auth_method: AuthMethod = "none"


# --- metadata ------------------------------------------------------------------------------------


def metadata_urls(issuer: str) -> list[str]:
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    base = f"{parts.scheme}://{parts.netloc}"
    return [
        f"{base}/.well-known/oauth-authorization-server{path}",
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
    ]


def discover(http: httpx.Client, issuer: str) -> dict[str, Any]:
    """The issuer's metadata: RFC 8414 first, then OpenID discovery."""
    tried = []
    for url in metadata_urls(issuer):
        try:
            response = http.get(url)
        except httpx.HTTPError as exc:
            raise LoginFailed(f"cannot reach {issuer} ({type(exc).__name__})") from None
        document = json_object(response)
        if response.status_code == 200 and document is not None:
            if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
                raise LoginFailed(
                    f"the metadata at {url} is for the issuer {document.get('issuer')!r}, "
                    f"not {issuer!r}"
                )
            if not isinstance(document.get("token_endpoint"), str):
                raise LoginFailed(f"the metadata at {url} names no token_endpoint")
            check_endpoint(document["token_endpoint"], "token endpoint")
            return document
        tried.append(f"{url} (HTTP {response.status_code})")
    raise LoginFailed(
        f"{issuer} publishes no OAuth metadata; tried {' and '.join(tried)}. "
        "Is the issuer URL right?"
    )


# --- the client ----------------------------------------------------------------------------------


def resolve_client(
    http: httpx.Client,
    daemon: Client,
    issuer: str,
    metadata: Mapping[str, Any],
    *,
    client_id: str | None,
    out: TextIO,
) -> OAuthClient:
    if client_id is not None:
        return OAuthClient(client_id)
    try:
        kept = daemon.get_registration(issuer)
    except NotFound:
        pass
    else:
        return OAuthClient(
            kept["client_id"], kept.get("client_secret"), kept["token_endpoint_auth_method"]
        )
    endpoint = metadata.get("registration_endpoint")
    if not isinstance(endpoint, str):
        raise LoginFailed(
            f"{issuer} offers no dynamic client registration; register credd there and pass "
            "--client-id"
        )
    registered = register_client(http, check_endpoint(endpoint, "registration endpoint"), metadata)
    daemon.put_registration({"issuer": issuer, **registered})
    print(f"credd: registered with {issuer} as client {registered['client_id']}", file=out)
    return OAuthClient(
        registered["client_id"],
        registered.get("client_secret"),
        registered["token_endpoint_auth_method"],
    )


def register_client(
    http: httpx.Client, endpoint: str, metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """RFC 7591: register credd as a native application; the fields to keep."""
    supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method: AuthMethod = "none"
    for candidate in ("client_secret_basic", "client_secret_post"):
        if candidate in supported:
            method = candidate
            break
    grant_types = ["authorization_code", "refresh_token"]
    if metadata.get("device_authorization_endpoint"):
        grant_types.append(DEVICE_GRANT)
    body = {
        "client_name": "credd",
        "application_type": "native",
        "redirect_uris": [f"http://127.0.0.1{CALLBACK_PATH}"],
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
    }
    try:
        response = http.post(endpoint, json=body)
    except httpx.HTTPError as exc:
        raise LoginFailed(f"cannot reach {endpoint} ({type(exc).__name__})") from None
    document = json_object(response) or {}
    if response.status_code not in (200, 201) or not isinstance(document.get("client_id"), str):
        raise LoginFailed(
            "the issuer refused to register credd: "
            + describe_error(document, response.status_code)
        )
    returned_method = document.get("token_endpoint_auth_method") or method
    secret = document.get("client_secret")
    return {
        "client_id": document["client_id"],
        "client_secret": secret if isinstance(secret, str) else None,
        "token_endpoint_auth_method": returned_method if secret else "none",
        "registration_access_token": document.get("registration_access_token"),
        "registration_client_uri": document.get("registration_client_uri"),
    }


def post_form(
    http: httpx.Client, url: str, form: Mapping[str, str], headers: Mapping[str, str]
) -> httpx.Response:
    try:
        return http.post(url, data=dict(form), headers=dict(headers))
    except httpx.HTTPError as exc:
        host = urlsplit(url).netloc
        raise LoginFailed(f"cannot reach {host} ({type(exc).__name__})") from None


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
