"""Store format 2 (issue 20): format 1 stores are read and migrated; a credd that reads only
format 1 refuses a format 2 store rather than rewrite it without the kinds it does not know."""

from __future__ import annotations

import json
import os
import struct
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from credd.store.core import (
    FORMAT_VERSION,
    MAGIC,
    NONCE_SIZE,
    Header,
    StoreFormatError,
    new_key,
    read_header,
    seal,
    unseal,
)
from credd.store.records import Credential, SSHKeyFields, StoreState

MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def format_1_store(key: bytes) -> bytes:
    """A store as credd wrote format 1: the layout of store/core.py, spelled out here."""
    header = json.dumps(
        {"cipher": "AES-256-GCM", "format": 1, "key_params": {}, "key_source": "keyfile"},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    associated = MAGIC + struct.pack(">H", len(header)) + header
    document = {
        "credentials": [
            {
                "name": "plain",
                "kind": "secret",
                "secret": "s3cret",
                "username": None,
                "labels": {},
                "created_at": "2026-01-02T03:04:05Z",
                "updated_at": "2026-01-02T03:04:05Z",
                "oauth": None,
                "allowed_programs": [],
            }
        ]
    }
    nonce = os.urandom(NONCE_SIZE)
    return (
        associated + nonce + AESGCM(key).encrypt(nonce, json.dumps(document).encode(), associated)
    )


def test_a_format_1_store_is_read_and_written_back_as_format_2() -> None:
    key = new_key()
    header, state = unseal(format_1_store(key), key)
    assert header.format_version == 1
    assert state.credentials["plain"].secret == "s3cret"
    assert state.credentials["plain"].ssh is None
    rewritten = seal(state, header, key)
    assert read_header(rewritten)[0].format_version == FORMAT_VERSION == 2
    assert unseal(rewritten, key)[1] == state


def test_an_ssh_key_survives_the_store() -> None:
    key = new_key()
    ssh = SSHKeyFields(
        private_key="-----BEGIN OPENSSH PRIVATE KEY-----\n...",
        public_key="ssh-ed25519 AAAA c",
        key_type="ssh-ed25519",
        fingerprint="SHA256:abc",
        comment="c",
        offered=False,
        position=3,
        offered_until=MOMENT,
    )
    credential = Credential(
        name="ssh:id_ed25519",
        kind="ssh-key",
        secret=ssh.public_key,
        ssh=ssh,
        created_at=MOMENT,
        updated_at=MOMENT,
    )
    state = StoreState(credentials={credential.name: credential})
    assert unseal(seal(state, Header("keyfile"), key), key)[1] == state


def test_a_format_1_reader_refuses_a_format_2_store() -> None:
    """What credd before format 2 did (`format != 1` refused): it never rewrites this store."""
    blob = seal(StoreState(), Header("keyfile"), new_key())
    with pytest.raises(StoreFormatError, match="format 2 is not supported"):
        read_header(blob, readable=(1,))
