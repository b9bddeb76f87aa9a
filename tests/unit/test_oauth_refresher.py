"""The refresher against a scripted token endpoint, a fake clock and a real vault on disk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credd.config import Config
from credd.oauth.changes import BeginRefresh
from credd.oauth.http import MaybeSent, NotSent
from credd.oauth.refresher import Refresher
from credd.oauth.tokens import TokenRequest
from credd.store.core import PutCredential
from credd.store.records import Credential, OAuthFields
from credd.store.vault import Vault
from credd_client.errors import NeedsLogin, RefreshFailed, WriteFailed
from tests.unit.test_vault import MemoryKeys, make_vault

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.anyio  # anyio's pytest plugin runs the async tests


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


Answer = tuple[int, bytes] | Exception


class Endpoint:
    """Answers from a script; counts the refresh tokens presented, checks none twice."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.presented: list[str] = []
        self.gate: asyncio.Event | None = None
        self.in_flight = 0
        self.most_in_flight = 0
        self.on_send: Callable[[], None] | None = None

    async def post(self, request: TokenRequest) -> tuple[int, bytes]:
        self.presented.append(request.form["refresh_token"])
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.on_send is not None:
                self.on_send()
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        finally:
            self.in_flight -= 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def aclose(self) -> None:
        pass


def granted(access: str, refresh: str | None = None, expires_in: int = 300) -> Answer:
    document: dict[str, object] = {"access_token": access, "expires_in": expires_in}
    if refresh is not None:
        document["refresh_token"] = refresh
    return 200, json.dumps(document).encode()


def oauth2(name: str, expires_in: float, refresh: str = "R1", **changes: object) -> Credential:
    fields = OAuthFields(
        token_endpoint="https://as.example/token",
        client_id="client",
        client_secret="s:%é",
        refresh_token=refresh,
        expires_at=START + timedelta(seconds=expires_in),
    )
    return Credential(
        name=name, kind="oauth2", secret="A1", oauth=OAuthFields(**{**fields.__dict__, **changes})
    )


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return make_vault(tmp_path, MemoryKeys())


def make(vault: Vault, endpoint: Endpoint, clock: Clock, **config: object) -> Refresher:
    return Refresher(vault, Config.model_validate(config), endpoint, clock=clock, rand=lambda: 0.0)


def store(vault: Vault, refresher: Refresher, credential: Credential) -> None:
    vault.commit(PutCredential(refresher.plan(credential)))


def stored(vault: Vault, name: str) -> OAuthFields:
    oauth = vault.state().credentials[name].oauth
    assert oauth is not None
    return oauth


def on_disk(vault: Vault, name: str) -> Credential:
    fresh = Vault(vault.file, vault.keys)
    fresh.unlock()
    return fresh.state().credentials[name]


async def test_plan_schedules_a_margin_ahead(vault: Vault) -> None:
    clock = Clock()
    refresher = make(vault, Endpoint(granted("A2")), clock)
    planned = refresher.plan(oauth2("n", 90, status="needs_login", last_error="x"))
    assert planned.oauth is not None
    assert planned.oauth.status == "ok"
    assert planned.oauth.last_error is None
    assert planned.oauth.next_refresh_at == START + timedelta(seconds=60)  # margin 90/3


async def test_a_token_not_due_is_served_without_a_refresh(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    result = await refresher.fresh(vault.state().credentials["n"])
    assert result.secret == "A1"
    assert endpoint.presented == []


async def test_twenty_callers_share_one_refresh_and_the_rotation_is_on_disk_first(
    vault: Vault,
) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    endpoint.gate = asyncio.Event()
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)  # inside the margin
    credential = vault.state().credentials["n"]
    callers = [asyncio.create_task(refresher.fresh(credential)) for _ in range(20)]
    await asyncio.sleep(0.01)
    endpoint.gate.set()
    results = await asyncio.gather(*callers)
    assert endpoint.presented == ["R1"]
    assert {r.secret for r in results} == {"A2"}
    disk = on_disk(vault, "n")
    assert disk.secret == "A2"
    assert disk.oauth is not None
    assert disk.oauth.refresh_token == "R2"
    assert disk.oauth.expires_at == clock.now + timedelta(seconds=300)
    assert disk.oauth.next_refresh_at == clock.now + timedelta(seconds=240)


async def test_a_server_that_does_not_rotate_keeps_the_refresh_token(vault: Vault) -> None:
    clock = Clock()
    refresher = make(vault, Endpoint(granted("A2")), clock)
    store(vault, refresher, oauth2("n", 300))
    await refresher.refresh_now("n")
    assert stored(vault, "n").refresh_token == "R1"


async def test_refreshes_in_flight_are_bounded(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    endpoint.gate = asyncio.Event()
    refresher = make(vault, endpoint, clock, max_concurrent_refreshes=3)
    for index in range(30):
        store(vault, refresher, oauth2(f"n{index}", 300, refresh=f"R{index}"))
    clock.advance(299)
    callers = [asyncio.create_task(refresher.refresh_now(f"n{index}")) for index in range(30)]
    await asyncio.sleep(0.05)
    assert endpoint.in_flight == 3
    endpoint.gate.set()
    await asyncio.gather(*callers)
    assert endpoint.most_in_flight == 3
    assert len(endpoint.presented) == 30
    # Two changes per refresh (the trace, the result), written together in batches.
    assert refresher.committer.writes < 60
    for index in range(30):
        assert stored(vault, f"n{index}").refresh_token == "R2"


async def test_an_outage_serves_the_valid_token_then_fails_once_expired(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint((503, b"down"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    result = await refresher.fresh(vault.state().credentials["n"])
    assert result.secret == "A1"  # still valid: served
    oauth = stored(vault, "n")
    assert oauth.status == "error"
    assert oauth.last_error is not None
    assert "HTTP 503" in oauth.last_error
    assert oauth.next_refresh_at == clock.now + timedelta(seconds=0.5)  # first backoff step
    # Not due yet: no new attempt.
    await refresher.fresh(vault.state().credentials["n"])
    assert len(endpoint.presented) == 1
    clock.advance(1)
    await refresher.fresh(vault.state().credentials["n"])
    assert len(endpoint.presented) == 2
    assert stored(vault, "n").next_refresh_at == clock.now + timedelta(seconds=1)  # doubled
    clock.advance(60)  # expired now, still down
    with pytest.raises(RefreshFailed, match="expired and refreshing failed"):
        await refresher.fresh(vault.state().credentials["n"])
    # Recovery.
    endpoint.answers = [granted("A2", "R2")]
    clock.advance(10)
    result = await refresher.fresh(vault.state().credentials["n"])
    assert result.secret == "A2"
    assert stored(vault, "n").status == "ok"
    assert endpoint.presented == ["R1", "R1", "R1", "R1"]


async def test_a_connection_failure_is_retried(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint(NotSent("cannot reach as.example (ConnectError)"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    await refresher.fresh(vault.state().credentials["n"])
    oauth = stored(vault, "n")
    assert oauth.status == "error"
    assert "ConnectError" in (oauth.last_error or "")


async def test_an_unknown_outcome_is_not_retried_before_expiry(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint(MaybeSent("no answer from as.example (ReadTimeout)"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    result = await refresher.fresh(vault.state().credentials["n"])
    assert result.secret == "A1"
    oauth = stored(vault, "n")
    assert oauth.status == "error"
    assert "outcome unknown" in (oauth.last_error or "")
    assert oauth.next_refresh_at == START + timedelta(seconds=299)
    for _ in range(5):
        clock.advance(5)
        assert (await refresher.fresh(vault.state().credentials["n"])).secret == "A1"
    assert endpoint.presented == ["R1"]
    clock.advance(30)  # expired: one more attempt, now that nothing more can be lost
    endpoint.answers = [granted("A2", "R2")]
    assert (await refresher.fresh(vault.state().credentials["n"])).secret == "A2"
    assert endpoint.presented == ["R1", "R1"]


async def test_an_unreadable_success_is_an_unknown_outcome(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint((200, b"<html>"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    await refresher.fresh(vault.state().credentials["n"])
    assert "outcome unknown" in (stored(vault, "n").last_error or "")


async def test_invalid_grant_needs_login_and_stops(vault: Vault) -> None:
    clock = Clock()
    body = json.dumps({"error": "invalid_grant", "error_description": "grant revoked"})
    endpoint = Endpoint((400, body.encode()))
    refresher = make(vault, endpoint, clock)
    credential = oauth2("my creds", 300)
    store(vault, refresher, credential.replace(labels={"issuer": "https://as.example"}))
    clock.advance(250)
    with pytest.raises(NeedsLogin) as caught:
        await refresher.fresh(vault.state().credentials["my creds"])
    assert "credd login 'my creds' --issuer https://as.example" in caught.value.message
    assert "grant revoked" in caught.value.message
    oauth = stored(vault, "my creds")
    assert oauth.status == "needs_login"
    assert oauth.next_refresh_at is None
    with pytest.raises(NeedsLogin):
        await refresher.fresh(vault.state().credentials["my creds"])
    with pytest.raises(NeedsLogin):
        await refresher.refresh_now("my creds")
    assert endpoint.presented == ["R1"]


async def test_a_put_during_a_refresh_is_not_clobbered(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    endpoint.on_send = lambda: store(vault, refresher, oauth2("n", 900, refresh="NEW"))
    await refresher.refresh_now("n")
    disk = on_disk(vault, "n")
    assert disk.secret == "A1"
    assert disk.oauth is not None
    assert disk.oauth.refresh_token == "NEW"


async def test_a_failed_write_keeps_the_answer_and_never_refetches(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    real_commit = vault.commit
    commits = []

    def flaky(change: object) -> object:
        inner = getattr(change, "changes", [change])  # the group committer's batches
        commits.append("+".join(type(c).__name__ for c in inner))
        if len(commits) == 2:  # the first is the trace of the refresh, the second its result
            raise WriteFailed("disk full")
        return real_commit(change)  # type: ignore[arg-type]

    monkeypatch.setattr(vault, "commit", flaky)
    result = await refresher.fresh(vault.state().credentials["n"])
    assert result.secret == "A1"  # the new token is not handed out before it is stored
    assert stored(vault, "n").refresh_token == "R1"
    clock.advance(5)
    await refresher.refresh_now("n")
    assert endpoint.presented == ["R1"]  # the answer was committed, not fetched again
    assert commits == ["BeginRefresh", "ApplyRefresh", "ApplyRefresh"]
    assert on_disk(vault, "n").secret == "A2"
    assert stored(vault, "n").refresh_token == "R2"
    assert stored(vault, "n").refresh_started_at is None


async def test_nothing_is_sent_when_the_trace_cannot_be_written(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)

    def full(change: object) -> object:
        raise WriteFailed("disk full")

    monkeypatch.setattr(vault, "commit", full)
    assert (await refresher.fresh(vault.state().credentials["n"])).secret == "A1"
    assert (await refresher.fresh(vault.state().credentials["n"])).secret == "A1"
    assert endpoint.presented == []


async def test_the_trace_is_on_disk_while_the_request_is_out(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    seen = []
    endpoint.on_send = lambda: seen.append(on_disk(vault, "n").oauth.refresh_started_at)  # type: ignore[union-attr]
    await refresher.refresh_now("n")
    assert seen == [START]
    assert stored(vault, "n").refresh_started_at is None


async def test_a_refresh_cut_short_by_a_crash_is_an_unknown_outcome(vault: Vault) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    # What a daemon killed after sending leaves behind.
    vault.commit(BeginRefresh("n", "R1", started_at=clock.now))
    restarted = make(vault, endpoint, clock)
    assert (await restarted.fresh(vault.state().credentials["n"])).secret == "A1"
    oauth = stored(vault, "n")
    assert oauth.status == "error"
    assert "credd stopped during a refresh" in (oauth.last_error or "")
    assert oauth.next_refresh_at == START + timedelta(seconds=299)
    assert oauth.refresh_started_at is None
    assert endpoint.presented == []
    clock.advance(50)  # expired: one attempt now
    assert (await restarted.fresh(vault.state().credentials["n"])).secret == "A2"
    assert endpoint.presented == ["R1"]


async def test_the_scheduler_refreshes_what_is_due_without_any_caller(vault: Vault) -> None:
    clock = Clock()
    sent = asyncio.Event()
    endpoint = Endpoint(granted("A2", "R2"))
    endpoint.on_send = sent.set
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    store(vault, refresher, oauth2("later", 3000, refresh="L1"))
    clock.advance(270)  # overdue, as after a restart
    refresher.start()
    try:
        await asyncio.wait_for(sent.wait(), 10)
        for _ in range(200):
            if stored(vault, "n").refresh_token == "R2":
                break
            await asyncio.sleep(0.01)
    finally:
        await refresher.stop()
    assert stored(vault, "n").refresh_token == "R2"
    assert endpoint.presented == ["R1"]


async def test_a_plain_secret_cannot_be_refreshed(vault: Vault) -> None:
    from credd_client.errors import InvalidRequest

    refresher = make(vault, Endpoint(granted("A2")), Clock())
    vault.commit(PutCredential(Credential(name="s", kind="secret", secret="x")))
    with pytest.raises(InvalidRequest):
        await refresher.refresh_now("s")


async def test_a_slow_endpoint_does_not_hold_back_a_token_that_still_works(
    vault: Vault,
) -> None:
    clock = Clock()
    endpoint = Endpoint(granted("A2", "R2"))
    endpoint.gate = asyncio.Event()
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    assert (await refresher.fresh(vault.state().credentials["n"], wait=0.05)).secret == "A1"
    endpoint.gate.set()  # the refresh goes on, and its result is stored
    await refresher.refresh_now("n")
    assert endpoint.presented == ["R1"]
    assert stored(vault, "n").refresh_token == "R2"


class RunningClock(Clock):
    """A clock that moves with real time, from wherever the test set it."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0
        self.started = asyncio.get_running_loop().time()

    def __call__(self) -> datetime:
        elapsed = asyncio.get_running_loop().time() - self.started
        return START + timedelta(seconds=self.offset + elapsed)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Hosts:
    """A token endpoint per host: those in ``hung`` never answer until released."""

    def __init__(self, *hung: str) -> None:
        self.hung = set(hung)
        self.release = asyncio.Event()
        self.presented: list[str] = []
        self.answered: list[str] = []

    async def post(self, request: TokenRequest) -> tuple[int, bytes]:
        self.presented.append(request.form["refresh_token"])
        host = request.url.split("/")[2]
        if host in self.hung:
            await self.release.wait()
        self.answered.append(host)
        token = request.form["refresh_token"]
        answer = granted(f"{token}-access", f"{token}-next", expires_in=10)
        assert not isinstance(answer, Exception)
        return answer

    async def aclose(self) -> None:
        pass


async def test_a_valid_token_is_answered_while_valid_when_the_endpoint_hangs(
    vault: Vault,
) -> None:
    """Issue 11: a 10 s token (margin 3.3 s) asked for 3.1 s before expiry, its refresh
    hanging: the answer is the still-valid token, not a failure once it has expired."""
    clock = RunningClock()
    endpoint = Hosts("as.example")
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 10))
    clock.advance(10 - 3.1)
    result = await asyncio.wait_for(refresher.fresh(vault.state().credentials["n"]), 10)
    assert result.secret == "A1"
    assert stored(vault, "n").expires_at > clock()  # type: ignore[operator]
    assert endpoint.presented == ["R1"]
    assert endpoint.answered == []  # still hanging: answered without it
    endpoint.release.set()
    await refresher.refresh_now("n")
    assert endpoint.presented == ["R1"]
    assert (await refresher.fresh(vault.state().credentials["n"])).secret == "R1-access"


async def test_an_expired_token_with_a_hung_endpoint_fails_within_the_bound(
    vault: Vault,
) -> None:
    clock = RunningClock()
    endpoint = Hosts("as.example")
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 10))
    clock.advance(11)
    with pytest.raises(RefreshFailed) as caught:
        await asyncio.wait_for(refresher.fresh(vault.state().credentials["n"], wait=0.2), 10)
    message = caught.value.message
    assert "has expired and its refresh is not done" in message
    assert "the token endpoint at as.example has not answered the request sent at" in message
    assert "(refresh_timeout), then tries again" in message
    # The next GET waits its own client's wait (here less), and the refresh token is not
    # sent a second time meanwhile.
    with pytest.raises(RefreshFailed, match="has not answered"):
        await asyncio.wait_for(refresher.fresh(vault.state().credentials["n"], wait=0.05), 5)
    with pytest.raises(RefreshFailed, match="is not done"):
        await asyncio.wait_for(refresher.refresh_now("n", wait=0.2), 10)
    assert endpoint.presented == ["R1"]
    endpoint.release.set()  # the refresh went on in the background, and is stored
    for _ in range(200):
        if stored(vault, "n").refresh_token == "R1-next":
            break
        await asyncio.sleep(0.01)
    assert (await refresher.fresh(vault.state().credentials["n"])).secret == "R1-access"
    assert endpoint.presented == ["R1"]


async def test_a_hung_issuer_does_not_delay_another_credential(vault: Vault) -> None:
    clock = RunningClock()
    endpoint = Hosts("hung.example")
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("hung", 10, token_endpoint="https://hung.example/token"))
    store(vault, refresher, oauth2("other", 10, refresh="O1"))
    clock.advance(11)  # both expired
    hung = asyncio.create_task(refresher.refresh_now("hung"))
    await asyncio.sleep(0.05)
    result = await asyncio.wait_for(refresher.fresh(vault.state().credentials["other"]), 10)
    assert result.secret == "O1-access"
    assert not hung.done()  # answered while the hung refresh is in flight
    endpoint.release.set()
    await hung
    assert sorted(endpoint.presented) == ["O1", "R1"]


async def test_a_failing_endpoint_is_named_with_the_outage_start_and_next_attempt(
    vault: Vault,
) -> None:
    clock = Clock()
    endpoint = Endpoint((503, b"down"))
    refresher = make(vault, endpoint, clock)
    store(vault, refresher, oauth2("n", 300))
    clock.advance(250)
    await refresher.fresh(vault.state().credentials["n"])
    first = clock.now
    clock.advance(60)  # expired, and the retry is due
    with pytest.raises(RefreshFailed) as caught:
        await refresher.fresh(vault.state().credentials["n"])
    message = caught.value.message
    assert "the token endpoint at as.example answered HTTP 503" in message
    assert f"failing since {first:%Y-%m-%dT%H:%M:%S}" in message
    assert "next attempt at" in message
