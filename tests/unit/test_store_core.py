"""The sans-I/O store: sealing round trips, tamper detection, and applying changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credd.store.core import (
    MAGIC,
    DeleteCredential,
    Header,
    PutCredential,
    StoreFormatError,
    new_key,
    read_header,
    seal,
    unseal,
)
from credd.store.records import Credential, OAuthFields, StoreState
from credd_client.errors import NotFound

HEADER = Header(key_source="keyring", key_params={"service": "credd", "account": "a"})

names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Cn", "Co", "Cf")),
    min_size=1,
    max_size=40,
).filter(str.isprintable)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
oauth_fields = st.builds(
    OAuthFields,
    token_endpoint=st.text(min_size=1),
    client_id=st.text(min_size=1),
    client_secret=st.none() | st.text(),
    refresh_token=st.none() | st.text(),
    expires_at=st.none() | times,
    scope=st.none() | st.text(),
    next_refresh_at=st.none() | times,
)
credentials = st.builds(
    Credential,
    name=names,
    kind=st.sampled_from(["secret", "oauth2"]),
    secret=st.text(),
    username=st.none() | st.text(),
    labels=st.dictionaries(st.text(min_size=1), st.text(), max_size=3),
    created_at=times,
    updated_at=times,
    oauth=st.none() | oauth_fields,
)
states = st.lists(credentials, max_size=8).map(
    lambda items: StoreState(credentials={c.name: c for c in items})
)


@given(states)
def test_seal_round_trips_every_state(state: StoreState) -> None:
    key = new_key()
    header, opened = unseal(seal(state, HEADER, key), key)
    assert opened == state
    assert header == HEADER


def test_each_seal_uses_a_fresh_nonce() -> None:
    key = new_key()
    assert seal(StoreState(), HEADER, key) != seal(StoreState(), HEADER, key)


def test_plaintext_never_appears_in_the_sealed_bytes() -> None:
    canary = "canary-5f1e-plaintext"
    state = StoreState({"n": Credential(name="n", kind="secret", secret=canary)})
    assert canary.encode() not in seal(state, HEADER, new_key())


def test_a_wrong_key_is_a_format_error_not_a_crash() -> None:
    blob = seal(StoreState(), HEADER, new_key())
    with pytest.raises(StoreFormatError, match="does not decrypt"):
        unseal(blob, new_key())


def test_the_header_is_authenticated() -> None:
    key = new_key()
    blob = seal(StoreState(), HEADER, key)
    tampered = blob.replace(b'"keyring"', b'"keyfile"')
    assert tampered != blob
    assert read_header(tampered)[0].key_source == "keyfile"  # parses...
    with pytest.raises(StoreFormatError):  # ...but does not open
        unseal(tampered, key)


@given(st.binary(max_size=200))
def test_any_bytes_give_a_format_error(blob: bytes) -> None:
    with pytest.raises(StoreFormatError):
        unseal(blob, new_key())


@given(st.binary(max_size=64))
def test_bytes_behind_valid_magic_give_a_format_error(tail: bytes) -> None:
    with pytest.raises(StoreFormatError):
        unseal(MAGIC + tail, new_key())


def test_an_unknown_format_version_is_refused_by_name() -> None:
    blob = seal(StoreState(), Header("keyring"), new_key())
    with pytest.raises(StoreFormatError, match="format 2 is not supported"):
        read_header(blob, readable=(1,))


@given(states, credentials)
def test_put_adds_or_replaces_only_its_credential(state: StoreState, new: Credential) -> None:
    after = PutCredential(new).apply(state)
    assert set(after.credentials) == set(state.credentials) | {new.name}
    for name, credential in state.credentials.items():
        if name != new.name:
            assert after.credentials[name] == credential
    stored = after.credentials[new.name]
    assert stored.secret == new.secret
    if new.name in state.credentials:
        assert stored.created_at == state.credentials[new.name].created_at


@given(states, st.data())
def test_delete_removes_only_its_credential(state: StoreState, data: st.DataObject) -> None:
    if not state.credentials:
        with pytest.raises(NotFound):
            DeleteCredential("absent").apply(state)
        return
    name = data.draw(st.sampled_from(sorted(state.credentials)))
    after = DeleteCredential(name).apply(state)
    assert name not in after.credentials
    assert len(after.credentials) == len(state.credentials) - 1


@given(states, st.lists(credentials, max_size=5), st.lists(credentials, max_size=5))
def test_changes_from_two_writers_merge_without_loss(
    base: StoreState, ours: list[Credential], theirs: list[Credential]
) -> None:
    """Reload-before-write: applying each writer's changes to the latest state keeps both."""
    state = base
    for credential in theirs:
        state = PutCredential(credential).apply(state)
    for credential in ours:
        state = PutCredential(credential).apply(state)
    expected = {c.name for c in base.credentials.values()} | {c.name for c in theirs + ours}
    assert set(state.credentials) == expected
    last_written = {c.name: c.secret for c in theirs + ours}
    for name, secret in last_written.items():
        assert state.credentials[name].secret == secret
