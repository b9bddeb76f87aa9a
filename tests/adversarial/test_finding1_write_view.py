"""Finding 1: a write view made the laptop send requests anywhere. Now a view writes plain
secrets only, endpoints are https (plain http on loopback only for the main socket's
credentials), and the refresher never contacts a host a view-made credential points at."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from credd_client import Client
from credd_client.errors import CreddError
from tests.adversarial.conftest import Knocks, add_view, plant_in_store
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

OAUTH = "git:oauth"
PLAIN = "git:plain"
ENDPOINT = "https://as.example.invalid/token"


def oauth_body(endpoint: str) -> dict[str, object]:
    return {
        "kind": "oauth2",
        "secret": "access",
        "token_endpoint": endpoint,
        "client_id": "cli",
        "refresh_token": "refresh",
        "expires_at": "2031-01-01T00:00:00Z",
    }


def refused(call: Callable[..., object], *args: object) -> str:
    try:
        call(*args)
    except CreddError as exc:
        return exc.code
    return "allowed"


def test_a_write_view_cannot_make_replace_or_delete_anything_but_a_secret(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], knocks: Knocks
) -> None:
    env = headless_credd_env
    with Client(env["CREDD_SOCKET"]) as main:
        main.put(OAUTH, oauth_body(ENDPOINT))
        main.put(PLAIN, {"secret": "plain"})
        before = main.get(OAUTH, include=("refresh_token",))
    view = add_view(env, "w", "--allow", "git:*", "--write")
    with Client(str(view)) as client:
        for endpoint in (knocks.url, "http://10.0.0.1/token", ENDPOINT):
            for name in ("git:new", PLAIN, OAUTH):
                assert refused(client.put, name, oauth_body(endpoint)) == "forbidden"
        assert refused(client.put, OAUTH, {"secret": "now a secret"}) == "forbidden"
        assert refused(client.delete, OAUTH) == "forbidden"
        assert refused(client.get, "git:new") == "not_found"
        # Plain secrets are the view's to write: made there, its origin says so.
        written = client.put(PLAIN, {"secret": "from the view"})
        assert written.origin == "w"
        client.delete(PLAIN)
    with Client(env["CREDD_SOCKET"]) as main:
        after = main.get(OAUTH, include=("refresh_token",))
        assert after == before
        assert after.origin is None
        assert [c.name for c in main.list()] == [OAUTH]
    assert knocks.count == 0


@pytest.mark.parametrize(
    "endpoint", ["http://10.0.0.1/token", "http://metadata.internal/token", "ftp://a.example/t"]
)
def test_the_main_socket_takes_no_plain_http_endpoint_off_loopback(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], endpoint: str
) -> None:
    with Client(headless_credd_env["CREDD_SOCKET"]) as main:
        with pytest.raises(CreddError) as error:
            main.put(OAUTH, oauth_body(endpoint))
        assert error.value.code == "invalid_request"
        assert "must be https" in error.value.message
        assert main.list() == []


def test_a_stored_endpoint_credd_would_refuse_serves_until_its_refresh_then_says_why(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], knocks: Knocks
) -> None:
    """As an older credd left them: one made through a view that points at loopback, one
    on plain http to an intranet host. Each keeps its token; its refresh is never sent."""
    env = headless_credd_env
    with Client(env["CREDD_SOCKET"]) as main:
        main.put("seed", {"secret": "s"})  # the store and its key exist
    now = datetime.now(UTC)
    planted = []
    for name, endpoint, origin in (
        ("via-view", knocks.url, "devbox"),
        ("intranet", "http://10.0.0.1/token", None),
    ):
        planted.append(
            {
                "name": name,
                "kind": "oauth2",
                "secret": f"access-{name}",
                "username": None,
                "labels": {},
                "created_at": now.isoformat(),
                "updated_at": now.isoformat(),
                "allowed_programs": [],
                "origin": origin,
                "oauth": {
                    "token_endpoint": endpoint,
                    "client_id": "cli",
                    "refresh_token": "refresh",
                    "expires_at": (now + timedelta(hours=1)).isoformat(),
                    "next_refresh_at": (now - timedelta(seconds=1)).isoformat(),
                },
            }
        )
    plant_in_store(env, json.dumps(planted))
    with Client(env["CREDD_SOCKET"]) as main:
        main.put("wake", {"secret": "w"})  # a write: the daemon merges the file, looks again
        deadline = time.monotonic() + 30
        while True:
            states = {c.name: c for c in main.list() if c.name in ("via-view", "intranet")}
            if all(c.status == "error" for c in states.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert "only credentials made on the main socket may use" in (
            states["via-view"].last_error or ""
        )
        assert "must be https" in (states["intranet"].last_error or "")
        assert states["via-view"].next_refresh_at is None
        # Still served until they expire: nothing was lost.
        assert main.get("via-view").secret == "access-via-view"
        assert main.get("intranet").secret == "access-intranet"
        with pytest.raises(CreddError) as forced:
            main.refresh("via-view")
        assert forced.value.code == "refresh_failed"
    assert knocks.count == 0
