"""Reused encodings never go stale: the store's bytes are what a fresh encoding gives."""

from __future__ import annotations

import json

from credd.store.core import DeleteCredential, PutCredential, serialise
from credd.store.records import (
    Credential,
    StoreState,
    credential_to_dict,
    registration_to_dict,
)


def fresh(state: StoreState) -> bytes:
    document = {
        "credentials": [credential_to_dict(c) for c in state.credentials.values()],
        "registrations": [registration_to_dict(r) for r in state.registrations.values()],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def secret(name: str, value: str, **labels: str) -> Credential:
    return Credential(name=name, kind="secret", secret=value, labels=labels)


def test_serialise_after_every_kind_of_change_matches_a_fresh_encoding() -> None:
    state = StoreState()
    steps = [
        PutCredential(secret("a", "1")),
        PutCredential(secret("b ☃", "2", k="v")),
        PutCredential(secret("a", "changed")),  # replaced: its encoding must be new
        DeleteCredential("b ☃"),
        PutCredential(secret("c", "3")),
    ]
    for change in steps:
        state = change.apply(state)
        assert serialise(state) == fresh(state)
        assert serialise(state) == fresh(state)  # and again, all from the reused forms


def test_forms_travel_with_derived_states_and_keep_only_live_credentials() -> None:
    state = PutCredential(secret("a", "1")).apply(StoreState())
    serialise(state)
    derived = DeleteCredential("a").apply(PutCredential(secret("b", "2")).apply(state))
    assert derived.encoded is state.encoded
    assert serialise(derived) == fresh(derived)
    kept = state.encoded._forms["stored"]
    assert [credential.name for credential, _ in kept.values()] == ["b"]


def test_a_new_state_starts_with_its_own_forms() -> None:
    assert StoreState().encoded is not StoreState().encoded
