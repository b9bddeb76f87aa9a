"""Backups: every credential, sealed under a passphrase. Sans I/O: bytes in, bytes out.

Layout (the header is authenticated as AES-GCM associated data):

    MAGIC "CREDDBK\\0" | header length (2 bytes, big-endian) | header (UTF-8 JSON)
    | nonce (12 bytes) | ciphertext and 16-byte tag

The header holds the format version and the scrypt parameters and salt. Format 2 (issue 20)
is format 1's layout for a store that may hold `ssh-key`, `aws` and `kube` credentials: a
credd that reads only format 1 (it refuses any other number) would restore them without
those fields, so it refuses the backup instead. Format 1 backups are read as they are (their
JSON is a subset of format 2's). scrypt derives
64 bytes: the first 32 are the AES-256-GCM key, the last 32 are a check value kept in the
header, so that a wrong passphrase is told apart from a damaged or altered backup. The
plaintext is the same JSON document as the store's. scrypt with N=2^17, r=8, p=1 costs
128 MiB and about half a second here; a backup asking for more than N=2^20 or r=16 or p=4
is refused (it could exhaust memory before anything is checked).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from credd_client.errors import InvalidRequest

from .store.core import StoreFormatError, deserialise, serialise
from .store.records import StoreState

MAGIC = b"CREDDBK\x00"
FORMAT_VERSION = 2
# The formats this credd opens; every backup is written in FORMAT_VERSION.
READABLE_FORMATS = (1, 2)
NONCE_SIZE = 12
TAG_SIZE = 16
SALT_SIZE = 16
_LENGTH = struct.Struct(">H")
MIN_PASSPHRASE = 8

DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**17, 8, 1
MAX_N, MAX_R, MAX_P = 2**20, 16, 4
MIN_N = 2**14


class BackupError(InvalidRequest):
    """The backup cannot be opened: wrong passphrase, damaged, truncated or foreign."""


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    n: int = DEFAULT_N
    r: int = DEFAULT_R
    p: int = DEFAULT_P

    def derive(self, passphrase: str) -> tuple[bytes, bytes]:
        material = Scrypt(salt=self.salt, length=64, n=self.n, r=self.r, p=self.p).derive(
            passphrase.encode("utf-8")
        )
        return material[:32], material[32:]


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidRequest(f"a backup passphrase has at least {MIN_PASSPHRASE} characters")


def seal_backup(state: StoreState, passphrase: str, params: KdfParams | None = None) -> bytes:
    check_passphrase(passphrase)
    params = params or KdfParams(salt=os.urandom(SALT_SIZE))
    key, check = params.derive(passphrase)
    plaintext = serialise(state)
    header = json.dumps(
        {
            "format": FORMAT_VERSION,
            "cipher": "AES-256-GCM",
            "kdf": {
                "name": "scrypt",
                "n": params.n,
                "r": params.r,
                "p": params.p,
                "salt": base64.b64encode(params.salt).decode(),
            },
            "check": base64.b64encode(check).decode(),
            "count": len(state.credentials),
            # So that a cut file is told apart from an altered one.
            "length": NONCE_SIZE + len(plaintext) + TAG_SIZE,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    associated = MAGIC + _LENGTH.pack(len(header)) + header
    nonce = os.urandom(NONCE_SIZE)
    return associated + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def parse_header(
    blob: bytes, readable: tuple[int, ...] = READABLE_FORMATS
) -> tuple[KdfParams, bytes, int]:
    """The KDF parameters, the check value and where the nonce starts; `BackupError` for a
    backup that is not one, is cut, or is in a format outside ``readable``."""
    prefix = len(MAGIC) + _LENGTH.size
    if not blob.startswith(MAGIC):
        if MAGIC.startswith(blob[: len(MAGIC)]):
            raise BackupError("the backup is truncated")
        raise BackupError("this is not a credd backup (bad magic bytes)")
    if len(blob) < prefix:
        raise BackupError("the backup is truncated")
    (length,) = _LENGTH.unpack_from(blob, len(MAGIC))
    end = prefix + length
    if len(blob) < end + NONCE_SIZE + TAG_SIZE:
        raise BackupError("the backup is truncated")
    try:
        document = json.loads(blob[prefix:end])
        if document["format"] not in readable:
            raise BackupError(
                f"backup format {document['format']} is not supported by this credd "
                f"(it reads format {', '.join(map(str, readable))}): restore it with a newer "
                "credd"
            )
        kdf = document["kdf"]
        if kdf["name"] != "scrypt":
            raise BackupError("the backup's header is damaged (unknown KDF)")
        params = KdfParams(
            salt=base64.b64decode(kdf["salt"], validate=True),
            n=int(kdf["n"]),
            r=int(kdf["r"]),
            p=int(kdf["p"]),
        )
        check = base64.b64decode(document["check"], validate=True)
        length = int(document["length"])
    except BackupError:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BackupError(f"the backup's header is damaged ({type(exc).__name__})") from None
    if not (
        MIN_N <= params.n <= MAX_N
        and params.n & (params.n - 1) == 0
        and 1 <= params.r <= MAX_R
        and 1 <= params.p <= MAX_P
        and len(params.salt) >= SALT_SIZE
        and len(check) == 32
    ):
        raise BackupError("the backup's header is damaged (KDF parameters out of range)")
    if len(blob) - end < length:
        raise BackupError("the backup is truncated")
    if len(blob) - end > length:
        raise BackupError("the backup is damaged: it has bytes past its end")
    return params, check, end


def open_backup(blob: bytes, passphrase: str) -> StoreState:
    """The credentials in a backup; BackupError (a clear message) for anything wrong."""
    params, check, offset = parse_header(blob)
    key, expected = params.derive(passphrase)
    if not hmac.compare_digest(check, expected):
        raise BackupError("wrong passphrase for this backup")
    nonce = blob[offset : offset + NONCE_SIZE]
    try:
        plaintext = AESGCM(key).decrypt(nonce, blob[offset + NONCE_SIZE :], blob[:offset])
    except InvalidTag:
        raise BackupError(
            "the backup is damaged or was altered (the passphrase is right, the contents "
            "fail authentication)"
        ) from None
    try:
        return deserialise(plaintext)
    except StoreFormatError as exc:  # authentic but unreadable: a bug, not an attack
        raise BackupError(f"the backup decrypted but cannot be read: {exc}") from None


def encode(blob: bytes) -> str:
    return base64.b64encode(blob).decode()


def decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BackupError("the backup is not valid base64") from None


@dataclass(frozen=True)
class RestoreReport:
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    replaced: tuple[str, ...]
    kept: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "unchanged": list(self.unchanged),
            "replaced": list(self.replaced),
            "kept": list(self.kept),
        }


def plan_restore(
    current: Mapping[str, Any], incoming: Mapping[str, Any], overwrite: bool
) -> RestoreReport:
    """Which backed-up credentials are added, equal already, replaced, or kept as they are."""
    added, unchanged, replaced, kept = [], [], [], []
    for name in sorted(incoming):
        if name not in current:
            added.append(name)
        elif current[name] == incoming[name]:
            unchanged.append(name)
        elif overwrite:
            replaced.append(name)
        else:
            kept.append(name)
    return RestoreReport(tuple(added), tuple(unchanged), tuple(replaced), tuple(kept))
