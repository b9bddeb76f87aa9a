"""Backups, sans I/O: round trips, and every wrong, cut or altered backup refused clearly;
format 1 backups still restore, and a credd that reads only format 1 refuses format 2."""

from __future__ import annotations

import base64
import json
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from credd.backup import (
    FORMAT_VERSION,
    MAGIC,
    BackupError,
    KdfParams,
    open_backup,
    parse_header,
    plan_restore,
    seal_backup,
)
from credd.store.records import Credential, OAuthFields, SSHKeyFields, StoreState
from credd_client.errors import InvalidRequest

# The smallest cost the reader accepts keeps these tests fast; the CLI uses the default.
FAST = KdfParams(salt=os.urandom(16), n=2**14, r=8, p=1)
PASSPHRASE = "correct horse battery staple"
STATE = StoreState(
    {
        "plain": Credential(name="plain", kind="secret", secret="CANARY-bk-1", username="u"),
        "a/b c": Credential(
            name="a/b c",
            kind="oauth2",
            secret="CANARY-bk-2",
            labels={"k": "v"},
            oauth=OAuthFields(
                token_endpoint="https://example.invalid/token",
                client_id="id",
                client_secret="CANARY-bk-3",
                refresh_token="CANARY-bk-4",
            ),
            allowed_programs=("/usr/bin/git",),
        ),
    }
)
SEALED = seal_backup(STATE, PASSPHRASE, FAST)


def test_a_backup_round_trips_every_field() -> None:
    assert open_backup(SEALED, PASSPHRASE) == STATE


def test_no_secret_is_readable_in_the_backup() -> None:
    assert b"CANARY-bk" not in SEALED
    assert PASSPHRASE.encode() not in SEALED


def test_the_default_kdf_is_memory_hard() -> None:
    sealed = seal_backup(StoreState(), PASSPHRASE)
    length = struct.unpack(">H", sealed[len(MAGIC) : len(MAGIC) + 2])[0]
    kdf = json.loads(sealed[len(MAGIC) + 2 : len(MAGIC) + 2 + length])["kdf"]
    assert kdf["name"] == "scrypt"
    assert kdf["n"] >= 2**17
    assert kdf["r"] >= 8


def test_a_wrong_passphrase_is_named() -> None:
    with pytest.raises(BackupError, match="wrong passphrase"):
        open_backup(SEALED, PASSPHRASE + "!")


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="at least 8"):
        seal_backup(STATE, "short")


@pytest.mark.parametrize("length", range(0, len(SEALED), 5))
def test_every_truncation_is_refused(length: int) -> None:
    with pytest.raises(BackupError, match=r"truncated|damaged|altered|magic"):
        open_backup(SEALED[:length], PASSPHRASE)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, len(SEALED) - 1), mask=st.integers(1, 255))
def test_every_altered_byte_is_refused(position: int, mask: int) -> None:
    altered = bytearray(SEALED)
    altered[position] ^= mask
    with pytest.raises(BackupError):
        open_backup(bytes(altered), PASSPHRASE)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: MAGIC + b)))
def test_any_bytes_give_a_backup_error(blob: bytes) -> None:
    with pytest.raises(BackupError):
        open_backup(blob, PASSPHRASE)


def test_a_header_asking_for_too_much_memory_is_refused_before_deriving() -> None:
    header = json.dumps(
        {
            "format": 1,
            "kdf": {
                "name": "scrypt",
                "n": 2**30,
                "r": 8,
                "p": 1,
                "salt": "AAAAAAAAAAAAAAAAAAAAAA==",
            },
            "check": "A" * 44,
            "length": 40,
        }
    ).encode()
    blob = MAGIC + struct.pack(">H", len(header)) + header + bytes(40)
    with pytest.raises(BackupError, match="out of range"):
        open_backup(blob, PASSPHRASE)


def format_1_backup(passphrase: str, params: KdfParams) -> bytes:
    """A backup as credd wrote format 1: the layout of backup.py, spelled out here."""
    key, check = params.derive(passphrase)
    document: dict[str, object] = {
        "credentials": [
            {
                "name": "plain",
                "kind": "secret",
                "secret": "CANARY-bk-old",
                "username": None,
                "labels": {},
                "created_at": "2026-01-02T03:04:05Z",
                "updated_at": "2026-01-02T03:04:05Z",
                "oauth": None,
                "allowed_programs": [],
            }
        ]
    }
    plaintext = json.dumps(document).encode()
    header = json.dumps(
        {
            "format": 1,
            "cipher": "AES-256-GCM",
            "kdf": {
                "name": "scrypt",
                "n": params.n,
                "r": params.r,
                "p": params.p,
                "salt": base64.b64encode(params.salt).decode(),
            },
            "check": base64.b64encode(check).decode(),
            "count": 1,
            "length": 12 + len(plaintext) + 16,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    associated = MAGIC + struct.pack(">H", len(header)) + header
    nonce = os.urandom(12)
    return associated + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def test_a_format_1_backup_is_still_restored() -> None:
    state = open_backup(format_1_backup(PASSPHRASE, FAST), PASSPHRASE)
    assert list(state.credentials) == ["plain"]
    assert state.credentials["plain"].secret == "CANARY-bk-old"
    assert state.credentials["plain"].ssh is None


def test_an_ssh_key_survives_a_backup_in_format_2() -> None:
    ssh = SSHKeyFields(
        private_key="CANARY-bk-private",
        public_key="ssh-ed25519 AAAA c",
        key_type="ssh-ed25519",
        fingerprint="SHA256:abc",
        comment="c",
        offered=False,
        position=2,
    )
    key = Credential(name="ssh:id", kind="ssh-key", secret=ssh.public_key, ssh=ssh)
    state = StoreState({**STATE.credentials, key.name: key})
    sealed = seal_backup(state, PASSPHRASE, FAST)
    assert FORMAT_VERSION == 2
    length = struct.unpack(">H", sealed[len(MAGIC) : len(MAGIC) + 2])[0]
    assert json.loads(sealed[len(MAGIC) + 2 : len(MAGIC) + 2 + length])["format"] == 2
    assert b"CANARY-bk-private" not in sealed
    assert open_backup(sealed, PASSPHRASE) == state


def test_a_format_1_reader_refuses_a_format_2_backup() -> None:
    """What credd before format 2 did (`format != 1` refused): it never restores this backup
    without the ssh, aws and kube fields it does not know."""
    with pytest.raises(BackupError, match=r"format 2 is not supported .*it reads format 1\)"):
        parse_header(SEALED, readable=(1,))
    parse_header(format_1_backup(PASSPHRASE, FAST), readable=(1,))  # its own format: read


def test_a_newer_backup_is_refused_with_what_to_do() -> None:
    header = json.dumps({"format": 3}).encode()
    blob = MAGIC + struct.pack(">H", len(header)) + header + bytes(40)
    with pytest.raises(BackupError, match=r"backup format 3 is not supported.*newer credd"):
        open_backup(blob, PASSPHRASE)


def test_restore_plan_adds_keeps_and_replaces() -> None:
    current = {"same": 1, "differs": 2, "only-here": 3}
    incoming = {"same": 1, "differs": 20, "new": 4}
    kept = plan_restore(current, incoming, overwrite=False)
    assert (kept.added, kept.unchanged, kept.replaced, kept.kept) == (
        ("new",),
        ("same",),
        (),
        ("differs",),
    )
    replaced = plan_restore(current, incoming, overwrite=True)
    assert replaced.replaced == ("differs",)
    assert replaced.kept == ()
