"""`credd login`'s flows without a server: the loopback redirect, discovery, the device grant.

The network is httpx's MockTransport; the browser is a function that calls the loopback
redirect the way a browser would after the authorization server's answer.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from credd.oauth.issuer import (
    DEVICE_GRANT,
    LoginFailed,
    OAuthClient,
    discover,
    metadata_urls,
    register_client,
)
from credd.oauth.login import authorization_code, device_code, pkce_pair

ISSUER = "https://as.example"
METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "device_authorization_endpoint": f"{ISSUER}/device/auth",
    "registration_endpoint": f"{ISSUER}/reg",
}
CLIENT = OAuthClient("client", "s:%é", "client_secret_basic")


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def redirect_with(
    make_query: Callable[[dict[str, str]], dict[str, str]],
) -> Callable[[str], bool]:
    """A browser that answers the authorization request with a redirect to credd."""

    def browser(url: str) -> bool:
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

        def follow() -> None:
            target = params["redirect_uri"] + "?" + urlencode(make_query(params))
            httpx.get(target, timeout=10)

        threading.Thread(target=follow, daemon=True).start()
        return True

    return browser


def test_pkce_pair_is_random_and_s256() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


def test_metadata_urls_follow_rfc_8414_then_openid() -> None:
    assert metadata_urls("https://as.example/tenant/1") == [
        "https://as.example/.well-known/oauth-authorization-server/tenant/1",
        "https://as.example/tenant/1/.well-known/openid-configuration",
    ]


def test_discovery_falls_back_to_openid_and_checks_the_issuer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json=METADATA)
        return httpx.Response(404)

    with mock(handler) as http:
        assert discover(http, ISSUER)["token_endpoint"] == METADATA["token_endpoint"]
        with pytest.raises(LoginFailed, match="for the issuer"):
            discover(http, "https://as.example/other")


def test_no_metadata_is_a_clear_error() -> None:
    with mock(lambda _: httpx.Response(404)) as http, pytest.raises(LoginFailed) as caught:
        discover(http, ISSUER)
    assert "publishes no OAuth metadata" in caught.value.message


def test_registration_errors_are_shown_readably() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "error": "invalid_redirect_uri",
                "error_description": "loopback redirects are not allowed",
            },
        )

    with mock(handler) as http, pytest.raises(LoginFailed) as caught:
        register_client(http, METADATA["registration_endpoint"], METADATA)
    assert "invalid_redirect_uri: loopback redirects are not allowed (HTTP 400)" in (
        caught.value.message
    )


def test_registration_asks_for_a_native_client_with_the_device_grant() -> None:
    sent = {}

    def handler(request: httpx.Request) -> httpx.Response:
        sent.update(json.loads(request.content))
        return httpx.Response(
            201,
            json={
                "client_id": "new",
                "client_secret": "sec",
                "token_endpoint_auth_method": "client_secret_basic",
                "registration_access_token": "rat",
                "registration_client_uri": f"{ISSUER}/reg/new",
            },
        )

    with mock(handler) as http:
        kept = register_client(http, METADATA["registration_endpoint"], METADATA)
    assert sent["application_type"] == "native"
    assert sent["redirect_uris"] == ["http://127.0.0.1/callback"]
    assert DEVICE_GRANT in sent["grant_types"]
    assert kept["client_id"] == "new"
    assert kept["registration_access_token"] == "rat"


def token_endpoint(seen: list[dict[str, str]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        return httpx.Response(
            200, json={"access_token": "A", "refresh_token": "R", "expires_in": 60}
        )

    return handler


def test_the_code_flow_sends_the_verifier_and_the_redirect_uri() -> None:
    seen: list[dict[str, str]] = []
    captured: dict[str, str] = {}

    def answer(params: dict[str, str]) -> dict[str, str]:
        captured.update(params)
        return {"code": "the-code", "state": params["state"]}

    with mock(token_endpoint(seen)) as http:
        grant = authorization_code(
            http,
            METADATA,
            CLIENT,
            "openid",
            open_browser=True,
            timeout=10,
            out=io.StringIO(),
            browser=redirect_with(answer),
        )
    assert grant.access_token == "A"
    assert captured["code_challenge_method"] == "S256"
    assert captured["redirect_uri"].startswith("http://127.0.0.1:")
    form = seen[0]
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "the-code"
    assert form["redirect_uri"] == captured["redirect_uri"]
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert captured["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_an_error_redirect_is_shown() -> None:
    def answer(params: dict[str, str]) -> dict[str, str]:
        return {
            "error": "access_denied",
            "error_description": "The user said no",
            "state": params["state"],
        }

    with mock(token_endpoint([])) as http, pytest.raises(LoginFailed) as caught:
        authorization_code(
            http,
            METADATA,
            CLIENT,
            None,
            open_browser=True,
            timeout=10,
            out=io.StringIO(),
            browser=redirect_with(answer),
        )
    assert "access_denied: The user said no" in caught.value.message


def test_a_wrong_state_is_refused() -> None:
    seen: list[dict[str, str]] = []
    with mock(token_endpoint(seen)) as http, pytest.raises(LoginFailed, match="wrong state"):
        authorization_code(
            http,
            METADATA,
            CLIENT,
            None,
            open_browser=True,
            timeout=10,
            out=io.StringIO(),
            browser=redirect_with(lambda _: {"code": "c", "state": "forged"}),
        )
    assert seen == []  # the code was never exchanged


def test_the_wait_for_the_browser_is_bounded() -> None:
    out = io.StringIO()
    with mock(token_endpoint([])) as http, pytest.raises(LoginFailed, match="timed out"):
        authorization_code(
            http,
            METADATA,
            CLIENT,
            None,
            open_browser=False,
            timeout=0.3,
            out=out,
            browser=lambda _: pytest.fail("--no-browser opened a browser"),
        )
    assert "open this address" in out.getvalue()


def test_the_device_grant_polls_and_honours_slow_down() -> None:
    answers = iter(
        [
            httpx.Response(400, json={"error": "authorization_pending"}),
            httpx.Response(400, json={"error": "slow_down"}),
            httpx.Response(400, json={"error": "authorization_pending"}),
            httpx.Response(200, json={"access_token": "A", "expires_in": 60}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/device/auth":
            return httpx.Response(
                200,
                json={
                    "device_code": "dc",
                    "user_code": "ABCD-EFGH",
                    "verification_uri": f"{ISSUER}/device",
                    "interval": 2,
                    "expires_in": 600,
                },
            )
        assert parse_qs(request.content.decode())["grant_type"] == [DEVICE_GRANT]
        return next(answers)

    slept: list[float] = []
    out = io.StringIO()
    with mock(handler) as http:
        grant = device_code(http, METADATA, CLIENT, "openid", out=out, sleep=slept.append)
    assert grant.access_token == "A"
    assert slept == [2, 2, 7, 7]
    assert "ABCD-EFGH" in out.getvalue()


def test_a_denied_device_login_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/device/auth":
            return httpx.Response(200, json={"device_code": "dc", "user_code": "X", "interval": 1})
        return httpx.Response(400, json={"error": "access_denied"})

    with mock(handler) as http, pytest.raises(LoginFailed, match="access_denied"):
        device_code(http, METADATA, CLIENT, None, out=io.StringIO(), sleep=lambda _: None)
