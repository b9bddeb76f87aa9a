"""The vault with an in-memory key source: unlock, lock, commits and reload-before-write."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from credd.store.core import DeleteCredential, PutCredential, new_key
from credd.store.files import StoreFile
from credd.store.keys import KeyFileKeySource, KeyPolicy, KeySource
from credd.store.passphrase import PassphraseKeySource
from credd.store.records import Credential
from credd.store.vault import Vault
from credd_client.errors import Locked, NotFound, StoreUnreadable


class MemoryKeys(KeySource):
    """A stand-in for the OS keyring: pure logic tests only."""

    name = "keyring"

    def __init__(self) -> None:
        self.key: bytes | None = None
        self.creates = 0
        self.loads = 0

    def describe(self) -> str:
        return "memory"

    def create(self) -> tuple[bytes, dict[str, Any]]:
        self.creates += 1
        self.key = new_key()
        return self.key, {}

    def load(self, params: Mapping[str, Any]) -> bytes:
        self.loads += 1
        if self.key is None:
            raise Locked("no key in memory")
        return self.key

    def discard(self, params: Mapping[str, Any]) -> None:
        self.key = None


def make_vault(tmp_path: Path, keys: MemoryKeys) -> Vault:
    policy = KeyPolicy(
        "auto", None, KeyFileKeySource(tmp_path / "k", "test"), "test", PassphraseKeySource(2**10)
    )
    policy.keyring = keys  # type: ignore[assignment]
    vault = Vault(StoreFile(tmp_path / "store.credd"), policy)
    vault.unlock()
    return vault


def secret(name: str, value: str) -> Credential:
    return Credential(name=name, kind="secret", secret=value)


def test_no_key_is_made_until_the_first_write(tmp_path: Path) -> None:
    keys = MemoryKeys()
    vault = make_vault(tmp_path, keys)
    assert vault.state().credentials == {}
    assert keys.creates == 0
    vault.commit(PutCredential(secret("a", "1")))
    assert keys.creates == 1


def test_the_key_is_fetched_once_per_unlock(tmp_path: Path) -> None:
    keys = MemoryKeys()
    make_vault(tmp_path, keys).commit(PutCredential(secret("a", "1")))
    vault = make_vault(tmp_path, keys)
    for index in range(5):
        vault.commit(PutCredential(secret(f"n{index}", "v")))
    assert keys.loads == 1


def test_lock_drops_state_and_unlock_brings_it_back(tmp_path: Path) -> None:
    keys = MemoryKeys()
    vault = make_vault(tmp_path, keys)
    vault.commit(PutCredential(secret("a", "1")))
    vault.lock("test")
    with pytest.raises(Locked, match="test"):
        vault.state()
    with pytest.raises(Locked):
        vault.commit(PutCredential(secret("b", "2")))
    vault.unlock()
    assert vault.state().credentials["a"].secret == "1"


def test_a_change_by_another_process_is_merged_not_lost(tmp_path: Path) -> None:
    keys = MemoryKeys()
    ours = make_vault(tmp_path, keys)
    ours.commit(PutCredential(secret("shared", "0")))
    theirs = make_vault(tmp_path, keys)
    theirs.commit(PutCredential(secret("theirs", "t")))
    theirs.commit(DeleteCredential("shared"))
    ours.commit(PutCredential(secret("ours", "o")))
    assert set(ours.state().credentials) == {"theirs", "ours"}
    fresh = make_vault(tmp_path, keys)
    assert set(fresh.state().credentials) == {"theirs", "ours"}


def test_deleting_what_another_process_deleted_is_not_found(tmp_path: Path) -> None:
    keys = MemoryKeys()
    ours = make_vault(tmp_path, keys)
    ours.commit(PutCredential(secret("x", "1")))
    make_vault(tmp_path, keys).commit(DeleteCredential("x"))
    with pytest.raises(NotFound):
        ours.commit(DeleteCredential("x"))


def test_an_unreadable_store_is_never_overwritten(tmp_path: Path) -> None:
    keys = MemoryKeys()
    vault = make_vault(tmp_path, keys)
    vault.commit(PutCredential(secret("a", "1")))
    garbage = b"CREDDST\x00 this is not a store"
    vault.file.path.write_bytes(garbage)
    with pytest.raises(StoreUnreadable, match="will not overwrite"):
        vault.commit(PutCredential(secret("b", "2")))
    assert vault.file.path.read_bytes() == garbage
    assert vault.state().credentials["a"].secret == "1"  # reads from memory go on


def test_an_unreadable_store_keeps_a_new_daemon_locked(tmp_path: Path) -> None:
    (tmp_path / "store.credd").write_bytes(b"garbage")
    policy = KeyPolicy(
        "auto", None, KeyFileKeySource(tmp_path / "k", "test"), "test", PassphraseKeySource(2**10)
    )
    vault = Vault(StoreFile(tmp_path / "store.credd"), policy)
    with pytest.raises(StoreUnreadable):
        vault.unlock()
    with pytest.raises(StoreUnreadable):
        vault.commit(PutCredential(secret("b", "2")))
    assert (tmp_path / "store.credd").read_bytes() == b"garbage"


def test_a_vanished_store_is_written_again_from_memory(tmp_path: Path) -> None:
    keys = MemoryKeys()
    vault = make_vault(tmp_path, keys)
    vault.commit(PutCredential(secret("a", "1")))
    vault.file.path.unlink()
    vault.commit(PutCredential(secret("b", "2")))
    fresh = make_vault(tmp_path, keys)
    assert set(fresh.state().credentials) == {"a", "b"}


def test_a_missing_key_keeps_the_store_locked_and_makes_no_new_key(tmp_path: Path) -> None:
    keys = MemoryKeys()
    make_vault(tmp_path, keys).commit(PutCredential(secret("a", "1")))
    keys.key = None
    with pytest.raises(Locked):
        make_vault(tmp_path, keys)
    assert keys.creates == 1
