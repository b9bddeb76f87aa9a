"""The passphrase key source and `Vault.rekey`: pure logic with small scrypt costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from credd.store.core import PutCredential, read_header, unseal
from credd.store.files import StoreFile
from credd.store.keys import KeyFileKeySource, KeyPolicy
from credd.store.passphrase import PassphraseKeySource, unwrap, wrap
from credd.store.records import Credential
from credd.store.vault import Vault
from credd_client.errors import InvalidRequest, Locked, StoreUnreadable, WrongPassphrase

CHEAP = 2**10
PASSPHRASE = "correct horse battery"


def test_a_wrapped_key_opens_with_its_passphrase_only() -> None:
    key = bytes(range(32))
    params = wrap(key, PASSPHRASE, CHEAP)
    assert PASSPHRASE not in str(params)
    assert unwrap(params, PASSPHRASE) == key
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        unwrap(params, "not it at all")


@pytest.mark.parametrize(
    "damage",
    [{"kdf": "pbkdf2"}, {"n": 2**30}, {"n": 1000}, {"salt": "%%%"}, {"r": "x"}],
)
def test_hostile_or_damaged_parameters_are_refused_not_obeyed(damage: dict[str, object]) -> None:
    params = {**wrap(bytes(32), PASSPHRASE, CHEAP), **damage}
    with pytest.raises(Locked) as caught:
        unwrap(params, PASSPHRASE)
    assert not isinstance(caught.value, WrongPassphrase)


def policy(tmp_path: Path, mode: str = "passphrase") -> KeyPolicy:
    keyfile = KeyFileKeySource(tmp_path / "store.key", "test")
    return KeyPolicy(mode, None, keyfile, "no keyring in unit tests", PassphraseKeySource(CHEAP))


def unlocked_with(vault: Vault, passphrase: str | None) -> None:
    vault.keys.passphrase.provide(passphrase)
    try:
        vault.unlock()
    finally:
        vault.keys.passphrase.provide(None)


def test_the_first_unlock_seals_a_new_store_with_the_passphrase(tmp_path: Path) -> None:
    vault = Vault(StoreFile(tmp_path / "store.credd"), policy(tmp_path))
    with pytest.raises(Locked, match="credd unlock"):
        vault.unlock()
    assert not (tmp_path / "store.credd").exists()
    unlocked_with(vault, PASSPHRASE)
    header = read_header((tmp_path / "store.credd").read_bytes())[0]
    assert header.key_source == "passphrase"
    assert header.key_params["kdf"] == "scrypt"
    vault.commit(PutCredential(Credential(name="a", kind="secret", secret="s")))

    again = Vault(StoreFile(tmp_path / "store.credd"), policy(tmp_path))
    with pytest.raises(WrongPassphrase):
        unlocked_with(again, "a wrong passphrase")
    assert again.locked
    unlocked_with(again, PASSPHRASE)
    assert again.state().credentials["a"].secret == "s"


def test_a_short_new_passphrase_is_refused(tmp_path: Path) -> None:
    vault = Vault(StoreFile(tmp_path / "store.credd"), policy(tmp_path))
    with pytest.raises(InvalidRequest, match="at least"):
        unlocked_with(vault, "short")
    assert not (tmp_path / "store.credd").exists()


def test_a_damaged_store_is_told_apart_from_a_wrong_passphrase(tmp_path: Path) -> None:
    vault = Vault(StoreFile(tmp_path / "store.credd"), policy(tmp_path))
    unlocked_with(vault, PASSPHRASE)
    vault.commit(PutCredential(Credential(name="a", kind="secret", secret="s")))
    store = tmp_path / "store.credd"
    blob = bytearray(store.read_bytes())
    blob[-1] ^= 0xFF  # the store's own tag, not the wrapped key
    store.write_bytes(bytes(blob))
    again = Vault(StoreFile(store), policy(tmp_path))
    with pytest.raises(StoreUnreadable):
        unlocked_with(again, PASSPHRASE)


def test_rekey_moves_the_store_and_removes_the_old_key_after(tmp_path: Path) -> None:
    store = tmp_path / "store.credd"
    keys = policy(tmp_path, mode="keyfile")
    vault = Vault(StoreFile(store), keys)
    vault.unlock()
    vault.commit(PutCredential(Credential(name="a", kind="secret", secret="s")))
    assert (tmp_path / "store.key").exists()

    keys.passphrase.provide(PASSPHRASE)
    old = vault.rekey(keys.by_name("passphrase"))
    keys.passphrase.provide(None)
    assert old.name == "keyfile"
    assert not (tmp_path / "store.key").exists()
    header = read_header(store.read_bytes())[0]
    assert header.key_source == "passphrase"
    assert vault.state().credentials["a"].secret == "s"

    # And back: a new key file, the passphrase wrap gone with the old header.
    vault.rekey(keys.by_name("keyfile"))
    key = KeyFileKeySource(tmp_path / "store.key", "test").load({})
    assert unseal(store.read_bytes(), key)[1].credentials["a"].secret == "s"


def test_rekey_to_the_same_source_is_refused(tmp_path: Path) -> None:
    keys = policy(tmp_path, mode="keyfile")
    vault = Vault(StoreFile(tmp_path / "store.credd"), keys)
    vault.unlock()
    vault.commit(PutCredential(Credential(name="a", kind="secret", secret="s")))
    with pytest.raises(InvalidRequest, match="already sealed"):
        vault.rekey(keys.by_name("keyfile"))
    with pytest.raises(InvalidRequest, match="no secure OS keyring"):
        keys.by_name("keyring")
