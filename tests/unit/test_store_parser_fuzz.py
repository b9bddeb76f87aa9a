"""The store parser over any bytes: a StoreFormatError, never a crash, never an overwrite."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credd.store.core import MAGIC, Header, PutCredential, StoreFormatError, new_key, seal, unseal
from credd.store.files import StoreFile
from credd.store.records import Credential, StoreState
from credd.store.vault import Vault
from credd_client.errors import Locked, StoreUnreadable
from tests.unit.test_vault import MemoryKeys, make_policy, make_vault

KEY = new_key()
VALID = seal(
    StoreState({"a": Credential(name="a", kind="secret", secret="s3cr3t")}),
    Header(key_source="keyring"),
    KEY,
)

# Bytes that look like a store: the magic, a header length, then anything.
store_like = st.builds(
    lambda length, rest: MAGIC + struct.pack(">H", length) + rest,
    st.integers(0, 0xFFFF),
    st.binary(max_size=400),
)


def _mutations() -> st.SearchStrategy[bytes]:
    def flip(position: int, mask: int) -> bytes:
        data = bytearray(VALID)
        data[position % len(data)] ^= mask
        return bytes(data)

    return st.one_of(
        st.builds(flip, st.integers(0, len(VALID) - 1), st.integers(1, 255)),
        st.builds(lambda n: VALID[:n], st.integers(0, len(VALID) - 1)),
        st.builds(lambda extra: VALID + extra, st.binary(min_size=1, max_size=32)),
    )


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.binary(max_size=600), store_like, _mutations()))
def test_any_bytes_give_a_format_error_or_the_store(blob: bytes) -> None:
    try:
        _header, state = unseal(blob, KEY)
    except StoreFormatError:
        return
    # Only the untouched store (appended bytes change the tag: refused above) opens.
    assert blob == VALID
    assert state.credentials["a"].secret == "s3cr3t"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blob=st.one_of(st.binary(max_size=300), store_like, _mutations()))
def test_a_vault_never_overwrites_bytes_it_cannot_read(tmp_path: Path, blob: bytes) -> None:
    if blob == VALID:
        return
    path = tmp_path / "store.credd"
    path.write_bytes(blob)
    keys = MemoryKeys()
    keys.key = KEY
    with pytest.raises((StoreUnreadable, Locked)):
        make_vault(tmp_path, keys)
    vault = Vault(StoreFile(path), make_policy(tmp_path, keys))
    with pytest.raises((StoreUnreadable, Locked)):
        vault.commit(PutCredential(Credential(name="b", kind="secret", secret="x")))
    assert path.read_bytes() == blob
