"""Client registrations in the store: sealed with the credentials, old stores still read."""

from __future__ import annotations

import json

import pytest

from credd.store.core import (
    DeleteRegistration,
    Header,
    PutCredential,
    PutRegistration,
    deserialise,
    new_key,
    seal,
    serialise,
    unseal,
)
from credd.store.records import Credential, Registration, StoreState
from credd_client.errors import NotFound

REGISTRATION = Registration(
    issuer="https://as.example",
    client_id="c",
    client_secret="canary-client-secret",
    token_endpoint_auth_method="client_secret_basic",
    registration_access_token="canary-rat",
    registration_client_uri="https://as.example/reg/c",
)


def test_registrations_round_trip_sealed() -> None:
    key = new_key()
    state = PutRegistration(REGISTRATION).apply(StoreState())
    blob = seal(state, Header(key_source="keyfile"), key)
    assert b"canary" not in blob
    assert unseal(blob, key)[1] == state


def test_a_store_from_before_registrations_is_read() -> None:
    state = PutCredential(Credential(name="n", kind="secret", secret="s")).apply(StoreState())
    document = json.loads(serialise(state))
    del document["registrations"]
    opened = deserialise(json.dumps(document).encode())
    assert opened.registrations == {}
    assert opened.credentials == state.credentials


def test_credential_changes_keep_registrations() -> None:
    state = PutRegistration(REGISTRATION).apply(StoreState())
    state = PutCredential(Credential(name="n", kind="secret", secret="s")).apply(state)
    assert state.registrations == {REGISTRATION.issuer: REGISTRATION}


def test_delete_registration() -> None:
    state = PutRegistration(REGISTRATION).apply(StoreState())
    assert DeleteRegistration(REGISTRATION.issuer).apply(state).registrations == {}
    with pytest.raises(NotFound):
        DeleteRegistration("https://other").apply(state)


def test_secrets_stay_out_of_repr() -> None:
    assert "canary" not in repr(REGISTRATION)
