"""Credential versions (bumped durably on every change) and the events a transition makes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from credd.events.changes import HEARTBEAT, Event, events_between
from credd.events.hub import MAX_PENDING, EventHub, Watcher
from credd.oauth.changes import ApplyRefresh
from credd.store.core import DeleteCredential, PutCredential, stamp_versions, unseal
from credd.store.records import (
    Credential,
    OAuthFields,
    StoreState,
    credential_from_dict,
    credential_to_dict,
)
from credd.system.peer import UNKNOWN_PEER
from tests.unit.test_at_login import service_text
from tests.unit.test_vault import MemoryKeys, make_vault, secret


def state_of(*credentials: Credential) -> StoreState:
    return StoreState(credentials={c.name: c for c in credentials})


def test_a_record_stored_before_versions_reads_as_version_1() -> None:
    stored = credential_to_dict(secret("old", "value"))
    del stored["version"]
    assert credential_from_dict(stored).version == 1
    seventh = secret("a", "b").replace(version=7)
    assert credential_from_dict(credential_to_dict(seventh)).version == 7


def test_only_the_credentials_a_change_touched_move_up() -> None:
    kept = secret("kept", "1").replace(version=4)
    changed = secret("changed", "1").replace(version=9)
    before = state_of(kept, changed)
    after = PutCredential(secret("changed", "2")).apply(before)  # a PUT body carries no version
    stamped = stamp_versions(before, after)
    assert stamped.credentials["kept"] is kept
    assert stamped.credentials["changed"].version == 10
    assert stamp_versions(before, stamped) == stamped  # idempotent: a group stamps first
    new = stamp_versions(before, PutCredential(secret("new", "x")).apply(before))
    assert new.credentials["new"].version == 1


def test_a_restored_credential_keeps_a_higher_version_of_its_own() -> None:
    before = state_of(secret("a", "1").replace(version=3))
    after = PutCredential(secret("a", "2").replace(version=8)).apply(before)
    assert stamp_versions(before, after).credentials["a"].version == 8


def test_the_vault_bumps_durably_and_tells_its_observer_after_the_write(tmp_path: Path) -> None:
    keys = MemoryKeys()
    vault = make_vault(tmp_path, keys)
    seen: list[list[Event]] = []

    def observe(before: StoreState | None, after: StoreState | None, refreshed: object) -> None:
        # Durable already: the file holds the new versions.
        if after is not None and keys.key is not None:
            on_disk = unseal((tmp_path / "store.credd").read_bytes(), keys.key)[1]
            assert {n: c.version for n, c in on_disk.credentials.items()} == {
                n: c.version for n, c in after.credentials.items()
            }
        seen.append(events_between(before, after, refreshed))  # type: ignore[arg-type]

    vault.observer = observe
    vault.commit(PutCredential(secret("a", "1")))
    vault.commit(PutCredential(secret("a", "2")))
    vault.commit(DeleteCredential("a"))
    vault.lock("test")
    vault.unlock()
    assert seen == [
        [Event("changed", "a", 1)],
        [Event("changed", "a", 2)],
        [Event("deleted", "a", 2)],
        [Event("locked")],
        [Event("unlocked")],
    ]
    assert make_vault(tmp_path, keys).state().credentials == {}


def test_an_oauth_refresh_is_a_refreshed_event(tmp_path: Path) -> None:
    oauth = OAuthFields(token_endpoint="https://issuer/token", client_id="c", refresh_token="r1")
    vault = make_vault(tmp_path, MemoryKeys())
    vault.commit(PutCredential(Credential(name="o", kind="oauth2", secret="t1", oauth=oauth)))
    seen: list[list[Event]] = []
    vault.observer = lambda before, after, refreshed: seen.append(
        events_between(before, after, refreshed)
    )
    vault.commit(ApplyRefresh("o", "r1", access_token="t2", new_refresh_token="r2"))
    assert seen == [[Event("refreshed", "o", 2)]]


def test_events_carry_names_and_versions_never_values() -> None:
    encoded = Event("changed", "git:https://example.com", 3).encode()
    assert encoded == (
        b"event: changed\n"
        b'data: {"type": "changed", "name": "git:https://example.com", "version": 3}\n\n'
    )
    assert Event("changed", "line\u2028break", 1).encode().count(b"\n") == 3


def test_a_watcher_sees_its_names_only_and_a_slow_one_is_dropped() -> None:
    async def scenario() -> None:
        hub = EventHub()
        hub.start().cancel()
        mine = Watcher(frozenset({"a"}), "exec", UNKNOWN_PEER, None)
        slow = Watcher(None, None, UNKNOWN_PEER, None)
        hub.join(mine)
        hub.join(slow)
        hub.publish([Event("changed", "a", 1), Event("changed", "b", 1), Event("locked")])
        assert await mine.next_chunks() == (
            Event("changed", "a", 1).encode() + Event("locked").encode()
        )
        for version in range(MAX_PENDING + 1):
            hub.publish([Event("changed", "b", version)])
        assert slow.ended
        assert not mine.ended
        hub.close()
        assert mine.ended
        assert hub.status()[0]["holder"] in ("exec", None)

    asyncio.run(scenario())


def test_the_heartbeat_is_an_event_stream_comment() -> None:
    assert HEARTBEAT.startswith(b":")
    assert HEARTBEAT.endswith(b"\n\n")


def test_the_daemon_raises_its_soft_open_files_limit_to_the_hard_one() -> None:
    """In a child process whose soft limit was lowered (as a login session's often is)."""
    script = (
        "import resource\n"
        "from credd.system.limits import raise_open_files_limit\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "print(raise_open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    reported, soft, hard = result.stdout.split()
    assert reported == soft == hard


def test_the_unit_sets_the_open_files_limit() -> None:
    assert "LimitNOFILE=65536" in service_text(strict=False).splitlines()
