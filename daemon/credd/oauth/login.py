"""`credd login` and `credd logout`: the interactive OAuth flows, run by the CLI process.

The CLI obtains the tokens and hands them to the daemon over its API (`PUT` of an `oauth2`
credential; the client registration through `/v1/registration`): the daemon stays the only
one that touches the store.

- Metadata and the client: issuer.py.
- Authorization code with PKCE S256 (RFC 7636) through a loopback redirect on 127.0.0.1 and
  a port the system picks (RFC 8252), `state` checked; or the device grant (RFC 8628).
- Logout: revocation (RFC 7009) of the refresh and access tokens, then the credential goes.

Blocking httpx: this runs in a short-lived command, not in the daemon.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TextIO
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from credd_client import Client
from credd_client.errors import NeedsLogin, RefreshFailed

from ..store.records import format_time, utc_now
from .endpoints import check_endpoint
from .issuer import (
    CALLBACK_PATH,
    DEVICE_GRANT,
    LoginFailed,
    OAuthClient,
    discover,
    json_object,
    post_form,
    resolve_client,
)
from .tokens import (
    Granted,
    Outcome,
    TokenGrant,
    classify,
    describe_error,
    token_request,
)

HTTP_TIMEOUT = 30.0


# --- authorization code with PKCE through a loopback redirect ------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A random verifier (86 characters of 64 random bytes) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


class _Callback(http.server.BaseHTTPRequestHandler):
    server: _LoopbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.result = query
        ok = "code" in query and "error" not in query
        text = (
            "credd: logged in. You can close this window."
            if ok
            else "credd: the login did not complete; see the terminal."
        )
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the query holds the authorization code: never print it


class _LoopbackServer(http.server.HTTPServer):
    result: dict[str, str] | None = None


def authorization_code(
    http: httpx.Client,
    metadata: Mapping[str, Any],
    client: OAuthClient,
    scope: str | None,
    *,
    open_browser: bool,
    timeout: float,
    out: TextIO,
    browser: Callable[[str], bool] = webbrowser.open,
) -> TokenGrant:
    endpoint = metadata.get("authorization_endpoint")
    if not isinstance(endpoint, str):
        raise LoginFailed("the issuer's metadata names no authorization_endpoint; try --device")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    with _LoopbackServer(("127.0.0.1", 0), _Callback) as server:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        }
        if scope:
            params["scope"] = scope
        url = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
        if open_browser and browser(url):
            print(f"credd: a browser was opened to log in; if not, open:\n  {url}", file=out)
        else:
            print(f"credd: open this address in a browser to log in:\n  {url}", file=out)
        out.flush()
        query = _wait_for_callback(server, timeout)
    if query.get("state") != state:
        raise LoginFailed("the redirect carried the wrong state; the login was abandoned")
    if "error" in query:
        raise LoginFailed("the authorization server refused: " + describe_error(query))
    code = query.get("code")
    if not code:
        raise LoginFailed("the redirect carried no authorization code")
    return _token(
        http,
        metadata,
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )


def _wait_for_callback(server: _LoopbackServer, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while server.result is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LoginFailed(f"no redirect came back within {timeout:g} s; the login timed out")
        server.timeout = remaining
        server.handle_request()
    return server.result


# --- the device grant ----------------------------------------------------------------------------


def device_code(
    http: httpx.Client,
    metadata: Mapping[str, Any],
    client: OAuthClient,
    scope: str | None,
    *,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenGrant:
    endpoint = metadata.get("device_authorization_endpoint")
    if not isinstance(endpoint, str):
        raise LoginFailed(
            "the issuer offers no device authorization endpoint; log in without --device"
        )
    form = {"scope": scope} if scope else {}
    request = token_request(
        endpoint,
        form,
        client_id=client.client_id,
        client_secret=client.client_secret,
        auth_method=client.auth_method,
    )
    response = post_form(http, request.url, request.form, request.headers)
    document = json_object(response) or {}
    if response.status_code != 200 or not isinstance(document.get("device_code"), str):
        raise LoginFailed(
            "the device authorization request failed: "
            + describe_error(document, response.status_code)
        )
    complete = document.get("verification_uri_complete")
    print(
        f"credd: to log in, open {document.get('verification_uri')} and enter the code "
        f"{document.get('user_code')}" + (f"\n  or open {complete}" if complete else ""),
        file=out,
    )
    out.flush()
    interval = float(document.get("interval") or 5)
    deadline = time.monotonic() + float(document.get("expires_in") or 600)
    poll = {"grant_type": DEVICE_GRANT, "device_code": document["device_code"]}
    while time.monotonic() < deadline:
        sleep(interval)
        outcome, answer = _post_token(http, metadata, client, poll)
        if isinstance(outcome, Granted):
            return outcome.grant
        error = (json_object(answer) or {}).get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":  # RFC 8628 3.5: five seconds more from now on
            interval += 5
            continue
        raise LoginFailed(
            "the device login failed: "
            + describe_error(json_object(answer) or {}, answer.status_code)
        )
    raise LoginFailed("the device code expired before the login was completed")


# --- tokens, logout ------------------------------------------------------------------------------


def _post_token(
    http: httpx.Client, metadata: Mapping[str, Any], client: OAuthClient, form: Mapping[str, str]
) -> tuple[Outcome, httpx.Response]:
    """One token endpoint request, authenticated as the client; its outcome and answer."""
    request = token_request(
        metadata["token_endpoint"],
        form,
        client_id=client.client_id,
        client_secret=client.client_secret,
        auth_method=client.auth_method,
    )
    response = post_form(http, request.url, request.form, request.headers)
    return classify(response.status_code, response.content), response


def _token(
    http: httpx.Client, metadata: Mapping[str, Any], client: OAuthClient, form: Mapping[str, str]
) -> TokenGrant:
    outcome, _ = _post_token(http, metadata, client, form)
    if isinstance(outcome, Granted):
        return outcome.grant
    raise LoginFailed(f"the token request failed: {outcome.reason}")


def credential_body(
    issuer: str,
    metadata: Mapping[str, Any],
    client: OAuthClient,
    grant: TokenGrant,
    scope: str | None,
) -> dict[str, Any]:
    """The `PUT` body of the new `oauth2` credential."""
    body: dict[str, Any] = {
        "kind": "oauth2",
        "secret": grant.access_token,
        "token_endpoint": metadata["token_endpoint"],
        "client_id": client.client_id,
        "token_endpoint_auth_method": client.auth_method,
        "labels": {"issuer": issuer},
    }
    if client.client_secret is not None:
        body["client_secret"] = client.client_secret
    if grant.refresh_token is not None:
        body["refresh_token"] = grant.refresh_token
    if grant.expires_in is not None:
        body["expires_at"] = format_time(utc_now() + timedelta(seconds=grant.expires_in))
    if grant.scope or scope:
        body["scope"] = grant.scope or scope
    if grant.id_token is not None:
        body["id_token"] = grant.id_token
    return body


def login(
    name: str,
    issuer: str,
    *,
    client_id: str | None,
    scope: str | None,
    device: bool,
    open_browser: bool,
    timeout: float,
    out: TextIO = sys.stderr,
) -> dict[str, Any]:
    with Client() as daemon, httpx.Client(timeout=HTTP_TIMEOUT) as http:
        daemon.status()  # no daemon: say so before the user logs in for nothing
        metadata = discover(http, issuer)
        client = resolve_client(http, daemon, issuer, metadata, client_id=client_id, out=out)
        if device:
            grant = device_code(http, metadata, client, scope, out=out)
        else:
            grant = authorization_code(
                http, metadata, client, scope, open_browser=open_browser, timeout=timeout, out=out
            )
        body = credential_body(issuer, metadata, client, grant, scope)
        daemon.put(name, body)
        return body


def logout(name: str, out: TextIO = sys.stderr) -> None:
    """Revoke the credential's tokens where the issuer supports it, then delete it."""
    with Client() as daemon:
        try:
            credential = daemon.get(name, include=("refresh_token", "client_secret"))
        except (NeedsLogin, RefreshFailed):
            # The grant is gone or the access token is dead: nothing left worth revoking.
            daemon.delete(name)
            return
        issuer = credential.labels.get("issuer")
        if credential.kind == "oauth2" and issuer:
            with httpx.Client(timeout=HTTP_TIMEOUT) as http:
                metadata = discover(http, issuer)
                endpoint = metadata.get("revocation_endpoint")
                if isinstance(endpoint, str):
                    check_endpoint(endpoint, "revocation endpoint")
                    client = OAuthClient(
                        credential.client_id or "",
                        credential.client_secret,
                        credential.token_endpoint_auth_method or "none",  # type: ignore[arg-type]
                    )
                    for token, hint in (
                        (credential.refresh_token, "refresh_token"),
                        (credential.secret, "access_token"),
                    ):
                        if token:
                            _revoke(http, endpoint, client, token=token, hint=hint, name=name)
                else:
                    print(f"credd: {issuer} offers no revocation; deleting only", file=out)
        daemon.delete(name)


def _revoke(
    http: httpx.Client, endpoint: str, client: OAuthClient, *, token: str, hint: str, name: str
) -> None:
    request = token_request(
        endpoint,
        {"token": token, "token_type_hint": hint},
        client_id=client.client_id,
        client_secret=client.client_secret,
        auth_method=client.auth_method,
    )
    response = post_form(http, request.url, request.form, request.headers)
    if response.status_code != 200:
        raise LoginFailed(
            f"revoking the {hint.replace('_', ' ')} failed: "
            + describe_error(json_object(response) or {}, response.status_code)
            + f"; {name!r} is kept. `credd delete` removes it without revoking"
        )
