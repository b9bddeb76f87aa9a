"""The store, sans I/O: serialise, encrypt, decrypt and merge changes.

File layout (all of it authenticated; the header is the AES-GCM associated data):

    MAGIC (8 bytes) | header length (2 bytes, big-endian) | header (UTF-8 JSON)
    | nonce (12 bytes) | ciphertext and 16-byte tag

The header names the format version and the key source that sealed the store (and, for
sources that need them, their public parameters such as a KDF salt), so a daemon knows
which key to ask for before it can decrypt anything.

Formats: 1 held `secret` and `oauth2` credentials. 2 adds kinds and fields (`ssh-key` and its
key first) that a credd reading only format 1 would drop when it rewrote the store, so such
a credd refuses a format 2 store instead (it checks the number). Format 1 is read as it is
(its JSON is a subset of format 2's) and written back as format 2.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from credd_client.errors import NotFound

from .records import (
    Credential,
    Registration,
    StoreState,
    credential_from_dict,
    credential_to_dict,
    registration_from_dict,
    registration_to_dict,
)

MAGIC = b"CREDDST\x00"
FORMAT_VERSION = 2
# The formats this credd opens; every write is in FORMAT_VERSION.
READABLE_FORMATS = (1, 2)
KEY_SIZE = 32
NONCE_SIZE = 12
_LENGTH = struct.Struct(">H")
_MAX_HEADER = 0xFFFF


class StoreFormatError(ValueError):
    """The bytes are not a store credd can read: damaged, foreign, or sealed by another key."""


@dataclass(frozen=True)
class Header:
    key_source: str
    key_params: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def encode(self) -> bytes:
        document = {
            "format": self.format_version,
            "cipher": "AES-256-GCM",
            "key_source": self.key_source,
            "key_params": dict(self.key_params),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_SIZE * 8)


def read_header(blob: bytes, readable: tuple[int, ...] = READABLE_FORMATS) -> tuple[Header, int]:
    """The header and the offset where the nonce starts. Checks structure, not authenticity.

    A format outside ``readable`` is refused by name (a newer credd's store is left alone).
    """
    prefix = len(MAGIC) + _LENGTH.size
    if len(blob) < prefix or not blob.startswith(MAGIC):
        raise StoreFormatError("not a credd store (bad magic bytes)")
    (length,) = _LENGTH.unpack_from(blob, len(MAGIC))
    end = prefix + length
    if len(blob) < end + NONCE_SIZE + 16:
        raise StoreFormatError("the store file is truncated")
    try:
        document = json.loads(blob[prefix:end])
        header = Header(
            key_source=str(document["key_source"]),
            key_params=dict(document.get("key_params") or {}),
            format_version=int(document["format"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreFormatError("the store header is damaged") from exc
    if header.format_version not in readable:
        raise StoreFormatError(
            f"store format {header.format_version} is not supported by this credd "
            f"(it reads format {', '.join(map(str, readable))})"
        )
    return header, end


def seal(state: StoreState, header: Header, key: bytes) -> bytes:
    """The store file's bytes, always in FORMAT_VERSION (a format 1 store read is migrated)."""
    header_bytes = replace(header, format_version=FORMAT_VERSION).encode()
    if len(header_bytes) > _MAX_HEADER:
        raise ValueError("store header too large")
    associated = MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes
    nonce = os.urandom(NONCE_SIZE)
    ciphertext = AESGCM(key).encrypt(nonce, serialise(state), associated)
    return associated + nonce + ciphertext


def unseal(blob: bytes, key: bytes) -> tuple[Header, StoreState]:
    header, offset = read_header(blob)
    nonce = blob[offset : offset + NONCE_SIZE]
    try:
        plaintext = AESGCM(key).decrypt(nonce, blob[offset + NONCE_SIZE :], blob[:offset])
    except InvalidTag as exc:
        raise StoreFormatError(
            "the store does not decrypt with this key (wrong key, or the file was altered)"
        ) from exc
    except ValueError as exc:  # a key of the wrong size
        raise StoreFormatError("the store key is malformed") from exc
    return header, deserialise(plaintext)


def serialise(state: StoreState) -> bytes:
    """The store's JSON; each credential's is reused when the credential has not changed."""
    credentials = state.encoded.encode_all("stored", state.credentials.values(), _stored_json)
    registrations = [_json(registration_to_dict(r)) for r in state.registrations.values()]
    return (
        b'{"credentials":['
        + b",".join(credentials)
        + b'],"registrations":['
        + b",".join(registrations)
        + b"]}"
    )


def _stored_json(credential: Credential) -> bytes:
    return _json(credential_to_dict(credential))


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def deserialise(plaintext: bytes) -> StoreState:
    try:
        document = json.loads(plaintext)
        credentials = [credential_from_dict(item) for item in document["credentials"]]
        # Stores written before registrations existed have no such key.
        registrations = [registration_from_dict(r) for r in document.get("registrations", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # The message names the failure's type only: the text could quote a secret.
        raise StoreFormatError(
            f"the store decrypted but its contents are damaged ({type(exc).__name__})"
        ) from None
    return StoreState(
        credentials={c.name: c for c in credentials},
        registrations={r.issuer: r for r in registrations},
    )


class Change(Protocol):
    """One request's change, applied to whatever the file holds at commit time."""

    def apply(self, state: StoreState) -> StoreState: ...


def refreshed_names(change: Change) -> frozenset[str]:
    """The credentials a change renewed by an OAuth refresh (a `refreshed` event, not
    `changed`): a change says so with a ``refreshed`` attribute."""
    return frozenset(getattr(change, "refreshed", ()))


def stamp_versions(before: StoreState, after: StoreState) -> StoreState:
    """``after`` with every credential a change touched at a version above its previous one.

    A change replaces the objects of the credentials it changes and keeps the others, so
    identity tells what changed. Idempotent: a credential already above its previous version
    (stamped by a group commit, or restored from a backup) keeps its own.
    """
    stamped: dict[str, Credential] = {}
    for name, credential in after.credentials.items():
        previous = before.credentials.get(name)
        if previous is None or previous is credential:
            continue
        if credential.version <= previous.version:
            stamped[name] = credential.replace(version=previous.version + 1)
    if not stamped:
        return after
    return replace(after, credentials={**after.credentials, **stamped})


@dataclass(frozen=True)
class PutCredential:
    credential: Credential

    def apply(self, state: StoreState) -> StoreState:
        existing = state.credentials.get(self.credential.name)
        credential = self.credential
        if existing is not None:
            credential = credential.replace(created_at=existing.created_at)
        return replace(state, credentials={**state.credentials, credential.name: credential})


@dataclass(frozen=True)
class DeleteCredential:
    name: str

    def apply(self, state: StoreState) -> StoreState:
        if self.name not in state.credentials:
            raise NotFound(f"no credential named {self.name!r}")
        remaining = {n: c for n, c in state.credentials.items() if n != self.name}
        return replace(state, credentials=remaining)


@dataclass(frozen=True)
class Checked:
    """``change`` to the credential ``name``, after ``check`` passed on its stored record (None
    when absent) as the file holds it at commit time; ``check`` raises to refuse."""

    change: Change
    name: str
    check: Callable[[Credential | None], None]

    def apply(self, state: StoreState) -> StoreState:
        self.check(state.credentials.get(self.name))
        return self.change.apply(state)


@dataclass(frozen=True)
class PutRegistration:
    registration: Registration

    def apply(self, state: StoreState) -> StoreState:
        registration = self.registration
        return replace(
            state, registrations={**state.registrations, registration.issuer: registration}
        )


@dataclass(frozen=True)
class DeleteRegistration:
    issuer: str

    def apply(self, state: StoreState) -> StoreState:
        if self.issuer not in state.registrations:
            raise NotFound(f"no client registration for the issuer {self.issuer!r}")
        remaining = {i: r for i, r in state.registrations.items() if i != self.issuer}
        return replace(state, registrations=remaining)
