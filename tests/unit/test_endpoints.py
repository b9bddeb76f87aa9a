"""Where credd sends OAuth requests: https, or plain http to loopback from the main socket."""

from __future__ import annotations

import pytest

from credd.oauth.endpoints import check_endpoint, endpoint_refusal
from credd_client.errors import CreddError


@pytest.mark.parametrize(
    "url",
    [
        "https://as.example/token",
        "https://10.0.0.1/token",
        "http://localhost:8080/token",
        "http://LOCALHOST/token",
        "http://127.0.0.1:4000/token",
        "http://127.8.9.10/token",
        "http://[::1]:4000/token",
    ],
)
def test_allowed_from_the_main_socket(url: str) -> None:
    assert endpoint_refusal(url, "token endpoint") is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://as.example/token", "must be https"),
        ("http://10.0.0.1/token", "must be https"),
        ("http://169.254.169.254/latest", "must be https"),
        ("http://localhost.evil.example/token", "must be https"),
        ("http://127.0.0.1.nip.io/token", "must be https"),
        ("http://[::ffff:127.0.0.1]/token", "must be https"),
        ("ftp://as.example/token", "must be https"),
        ("file:///etc/passwd", "not a URL with a host"),
        ("token", "not a URL with a host"),
        ("http://[::1/token", "not a URL"),
    ],
)
def test_refused_everywhere(url: str, says: str) -> None:
    refusal = endpoint_refusal(url, "token endpoint")
    assert refusal is not None
    assert says in refusal
    with pytest.raises(CreddError) as refused:
        check_endpoint(url, "token endpoint")
    assert refused.value.code == "invalid_request"


@pytest.mark.parametrize("url", ["http://localhost/t", "http://127.0.0.1:9/t", "http://[::1]/t"])
def test_loopback_only_for_credentials_made_on_the_main_socket(url: str) -> None:
    refusal = endpoint_refusal(url, "token endpoint", origin="devbox")
    assert refusal is not None
    assert "made through the view 'devbox'" in refusal
    assert endpoint_refusal("https://as.example/t", "token endpoint", origin="devbox") is None
