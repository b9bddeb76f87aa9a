"""The wall clock jumps forward (a laptop suspended for an hour, then resumed) with OAuth
credentials pending refresh: every due credential is refreshed once, a GET never hands out
an expired token, and no refresh token is presented twice.

The refresher sleeps on the monotonic clock, which stands still during a suspend, but
compares the wall clock at each tick (at least every MAX_SLEEP seconds) and on each GET: a
fake wall clock jumps here, and the tick is woken as `MAX_SLEEP` would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from credd.store.vault import Vault
from tests.unit.test_oauth_refresher import (
    Clock,
    Endpoint,
    granted,
    make,
    oauth2,
    on_disk,
    store,
    vault,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.anyio

SUSPEND = 3600.0  # longer than every token's lifetime


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_get_after_resume_refreshes_instead_of_serving_an_expired_token(
    vault: Vault,  # noqa: F811
) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(SUSPEND)
    result = await refresher.fresh(vault.state().credentials["n"])
    assert result.secret == "A2"
    assert endpoint.presented == ["R1"]
    disk = on_disk(vault, "n")
    assert disk.oauth is not None
    assert disk.oauth.refresh_token == "R2"
    assert disk.oauth.expires_at == clock.now + timedelta(seconds=300)


async def test_the_schedule_after_resume_refreshes_each_due_credential_once(
    vault: Vault,  # noqa: F811
) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"), granted("B2", "S2"), granted("C2", "T2"))
    refresher = make(vault, endpoint, clock)
    for name, refresh in (("a", "R1"), ("b", "S1"), ("c", "T1")):
        store(vault, refresher, oauth2(name, 300, refresh=refresh))
    refresher.start()
    try:
        clock.advance(SUSPEND)
        refresher.changed()  # what MAX_SLEEP does on its own within 30 s
        deadline = asyncio.get_running_loop().time() + 10
        while len(endpoint.presented) < 3:
            assert asyncio.get_running_loop().time() < deadline, endpoint.presented
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        # A GET right after, and a second tick: nothing is refreshed again.
        for name in ("a", "b", "c"):
            await refresher.fresh(vault.state().credentials[name])
        refresher.changed()
        await asyncio.sleep(0.05)
    finally:
        await refresher.stop()
    assert sorted(endpoint.presented) == ["R1", "S1", "T1"]
    for name in ("a", "b", "c"):
        oauth = on_disk(vault, name).oauth
        assert oauth is not None
        assert oauth.expires_at is not None
        assert oauth.expires_at > clock.now
