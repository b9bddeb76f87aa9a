"""Refresh changes through the group commit: written together, each judged on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from credd.oauth.changes import RecordFailure, Superseded
from credd.store.batching import GroupCommit
from credd.store.core import PutCredential
from credd.store.records import Credential, OAuthFields, StoreState
from credd_client.errors import WriteFailed
from tests.unit.test_vault import MemoryKeys, make_vault

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def oauth2(name: str, refresh: str) -> Credential:
    fields = OAuthFields(token_endpoint="https://as/token", client_id="c", refresh_token=refresh)
    return Credential(name=name, kind="oauth2", secret="A", oauth=fields)


def failure(name: str, used: str) -> RecordFailure:
    return RecordFailure(name=name, used_refresh_token=used, last_error="503")


async def test_concurrent_changes_share_writes_and_fail_alone(tmp_path: Path) -> None:
    vault = make_vault(tmp_path, MemoryKeys())
    for index in range(10):
        vault.commit(PutCredential(oauth2(f"n{index}", "R")))
    committer = GroupCommit(vault.commit)
    changes = [failure(f"n{index}", "R") for index in range(10)]
    changes.append(failure("n0", "OTHER"))  # made for a refresh token no longer stored
    results = await asyncio.gather(
        *(committer.commit(change) for change in changes), return_exceptions=True
    )
    assert not any(isinstance(result, Exception) for result in results[:10])
    assert isinstance(results[10], Superseded)
    assert committer.writes < 10
    for index in range(10):
        oauth = vault.state().credentials[f"n{index}"].oauth
        assert oauth is not None
        assert oauth.last_error == "503"


async def test_a_failed_write_fails_every_change_in_it(tmp_path: Path) -> None:
    vault = make_vault(tmp_path, MemoryKeys())
    vault.commit(PutCredential(oauth2("n", "R")))

    def full(change: object) -> StoreState:
        raise WriteFailed("disk full")

    committer = GroupCommit(full)
    results = await asyncio.gather(
        committer.commit(failure("n", "R")),
        committer.commit(failure("n", "R")),
        return_exceptions=True,
    )
    assert all(isinstance(result, WriteFailed) for result in results)
    assert committer.writes == 0
