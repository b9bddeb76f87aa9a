"""The aws kind on the wire and in the store: what a PUT may say, what is never rendered."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from credd.api.models import CredentialIn, render_credential
from credd.store.records import credential_from_dict, credential_to_dict

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_put_body_and_defaults() -> None:
    body = CredentialIn.model_validate(
        {"kind": "aws", "secret": "long-lived", "access_key_id": "AKIA", "region": "eu-west-1"}
    )
    credential = body.to_credential("aws:dev")
    assert credential.aws is not None
    assert credential.aws.session is True
    assert credential.secret == "long-lived"
    temporary = CredentialIn.model_validate(
        {"kind": "aws", "secret": "s", "access_key_id": "ASIA", "session_token": "t"}
    ).to_credential("aws:tmp")
    assert temporary.aws is not None
    assert temporary.aws.session is False


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "secret", "secret": "s", "access_key_id": "AKIA"},
        {"kind": "aws", "secret": "s"},
        {"kind": "aws", "secret": "", "access_key_id": "AKIA"},
        {"kind": "aws", "secret": "s", "access_key_id": "A", "token_endpoint": "https://x"},
        {"kind": "aws", "secret": "s", "access_key_id": "A", "session_token": "t", "session": True},
        {"kind": "aws", "secret": "s", "access_key_id": "A", "expires_at": "2026-12-07T12:00:00Z"},
    ],
)
def test_refused_bodies(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CredentialIn.model_validate(body)


def test_no_key_rendered_and_the_store_keeps_everything() -> None:
    credential = CredentialIn.model_validate(
        {"kind": "aws", "secret": "long-lived", "access_key_id": "AKIA"}
    ).to_credential("aws:dev")
    assert credential.aws is not None
    session = dataclasses.replace(
        credential.aws,
        sts_access_key_id="ASIA",
        sts_secret_access_key="session-secret",
        sts_session_token="session-token",
        sts_expires_at=NOW,
    )
    credential = credential.replace(aws=session)
    shown = render_credential(credential, with_secret=True, include=frozenset({"refresh_token"}))
    text = repr(shown)
    for value in ("long-lived", "session-secret", "session-token"):
        assert value not in text
        assert value not in repr(credential)
    assert shown["secret"] is None
    assert shown["expires_at"] == "2026-12-07T12:00:00Z"
    assert credential_from_dict(credential_to_dict(credential)) == credential
