"""The token endpoint, sans I/O: client authentication and what each answer means."""

from __future__ import annotations

import base64
import json
from urllib.parse import unquote_plus

import pytest

from credd.oauth.tokens import (
    Granted,
    LoginNeeded,
    Retry,
    TokenGrant,
    Unknown,
    basic_credentials,
    classify,
    refresh_request,
)


def body(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("plain", "s3cret"),
        ("id:with:colons", "pa:ss%20wo rd+&=é€😀"),
        ("ünïcode id", "%%%:::"),
    ],
)
def test_basic_auth_form_encodes_id_and_secret_before_base64(client_id: str, secret: str) -> None:
    header = basic_credentials(client_id, secret)
    assert header.startswith("Basic ")
    decoded = base64.b64decode(header.removeprefix("Basic ")).decode("ascii")
    encoded_id, colon, encoded_secret = decoded.partition(":")
    assert colon
    assert ":" not in encoded_id  # so the first colon splits them, whatever they hold
    assert unquote_plus(encoded_id) == client_id
    assert unquote_plus(encoded_secret) == secret


def test_the_rfc_6749_example_encoding() -> None:
    # A space is '+', a colon '%3A', a percent '%25': application/x-www-form-urlencoded.
    header = basic_credentials("a b", "c:d%")
    assert base64.b64decode(header[6:]) == b"a+b:c%3Ad%25"


def test_refresh_request_per_auth_method() -> None:
    basic = refresh_request(
        "https://as/token",
        "R",
        client_id="id",
        client_secret="s",
        auth_method="client_secret_basic",
    )
    assert basic.form == {"grant_type": "refresh_token", "refresh_token": "R"}
    assert basic.headers["Authorization"].startswith("Basic ")
    post = refresh_request(
        "https://as/token", "R", client_id="id", client_secret="s", auth_method="client_secret_post"
    )
    assert post.form["client_id"] == "id"
    assert post.form["client_secret"] == "s"
    assert "Authorization" not in post.headers
    public = refresh_request(
        "https://as/token", "R", client_id="id", client_secret=None, auth_method="none"
    )
    assert public.form["client_id"] == "id"
    assert "client_secret" not in public.form


def test_requests_never_show_secrets_in_repr() -> None:
    request = refresh_request(
        "https://as/token",
        "R-secret",
        client_id="id",
        client_secret="S-secret",
        auth_method="client_secret_basic",
    )
    assert "secret" not in repr(request).replace("client_secret", "")


def test_a_grant_with_rotation() -> None:
    outcome = classify(
        200,
        body(
            {
                "access_token": "A",
                "token_type": "Bearer",
                "expires_in": 60,
                "refresh_token": "R2",
                "scope": "s",
            }
        ),
    )
    assert outcome == Granted(TokenGrant("A", "R2", 60, "s"))


def test_a_grant_without_rotation_or_expiry() -> None:
    assert classify(200, body({"access_token": "A", "token_type": "bearer"})) == Granted(
        TokenGrant("A")
    )


def test_expires_in_as_text_is_accepted() -> None:
    outcome = classify(200, body({"access_token": "A", "expires_in": "30"}))
    assert isinstance(outcome, Granted)
    assert outcome.grant.expires_in == 30


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b"[]",
        body({}),
        body({"access_token": ""}),
        body({"access_token": 5}),
        body({"access_token": "A", "refresh_token": 7}),
        body({"access_token": "A", "expires_in": "soon"}),
        body({"access_token": "A", "expires_in": -1}),
    ],
)
def test_an_unreadable_success_is_an_unknown_outcome(answer: bytes) -> None:
    # The server accepted the request: it may have rotated the refresh token.
    assert isinstance(classify(200, answer), Unknown)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, "invalid_grant"),
        (401, "invalid_client"),
        (400, "invalid_client"),
        (400, "unauthorized_client"),
        (400, "invalid_scope"),
    ],
)
def test_errors_that_need_a_login(status: int, error: str) -> None:
    outcome = classify(status, body({"error": error, "error_description": "grant revoked"}))
    assert isinstance(outcome, LoginNeeded)
    assert error in outcome.reason
    assert "grant revoked" in outcome.reason


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (503, b"Service Unavailable"),
        (500, body({"error": "server_error"})),
        (429, body({"error": "slow_down"})),
        (502, b"<html>bad gateway</html>"),
        (400, body({"error": "invalid_request"})),
        (400, body({"error": "unsupported_grant_type"})),
        (404, b""),
        (301, b""),
    ],
)
def test_errors_that_are_retried(status: int, answer: bytes) -> None:
    assert isinstance(classify(status, answer), Retry)


def test_descriptions_are_bounded_and_printable() -> None:
    outcome = classify(400, body({"error": "invalid_grant", "error_description": "x\n" * 500}))
    assert isinstance(outcome, LoginNeeded)
    assert "\n" not in outcome.reason
    assert len(outcome.reason) < 700
