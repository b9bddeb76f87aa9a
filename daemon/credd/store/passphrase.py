"""The passphrase key source: the store key wrapped under a key derived with scrypt.

For headless machines with no keyring. The random 32-byte store key is encrypted
(AES-256-GCM) under a key derived from the passphrase with scrypt, a memory-hard KDF; the
KDF parameters, the salt and the wrapped key go into the store header, in clear and
authenticated with the store. So a wrong passphrase fails on the wrap's own tag, and is
told apart from a damaged store, which fails on the store's.

The passphrase is handed in by `credd unlock` for one unlock and forgotten right after.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from credd_client.errors import InvalidRequest, Locked, WrongPassphrase

from .core import KEY_SIZE, NONCE_SIZE, new_key
from .keys import KeySource

# scrypt cost: 2**17 x 8 x 128 bytes = 128 MiB and a fraction of a second per unlock.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SALT_SIZE = 16
MAX_SCRYPT_N = 2**20  # a header asking for more is refused, not obeyed
MIN_PASSPHRASE = 8
_WRAP_AAD = b"credd store key wrap v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise Locked(f"the store header's {what} is malformed") from None


def derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=KEY_SIZE, n=n, r=r, p=p)
    return kdf.derive(passphrase.encode("utf-8"))


def wrap(key: bytes, passphrase: str, n: int = SCRYPT_N) -> dict[str, Any]:
    """The header params holding ``key`` wrapped under ``passphrase``."""
    salt = os.urandom(SALT_SIZE)
    nonce = os.urandom(NONCE_SIZE)
    wrapping = derive(passphrase, salt, n, SCRYPT_R, SCRYPT_P)
    wrapped = AESGCM(wrapping).encrypt(nonce, key, _WRAP_AAD)
    return {
        "kdf": "scrypt",
        "n": n,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": _b64(salt),
        "wrapped_key": _b64(nonce + wrapped),
    }


def unwrap(params: Mapping[str, Any], passphrase: str) -> bytes:
    """The store key; `WrongPassphrase` when the wrap does not open with this passphrase."""
    try:
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        kdf = params["kdf"]
    except (KeyError, TypeError, ValueError):
        raise Locked("the store header's passphrase parameters are malformed") from None
    if kdf != "scrypt" or not (2 <= n <= MAX_SCRYPT_N and n & (n - 1) == 0) or r < 1 or p < 1:
        raise Locked("the store header asks for a key derivation this credd does not accept")
    salt = _unb64(params.get("salt"), "salt")
    blob = _unb64(params.get("wrapped_key"), "wrapped key")
    wrapping = derive(passphrase, salt, n, r, p)
    try:
        key = AESGCM(wrapping).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], _WRAP_AAD)
    except InvalidTag:
        raise WrongPassphrase(
            "wrong passphrase: the store key does not open with it (the store itself was not "
            "tried); credd stays locked"
        ) from None
    if len(key) != KEY_SIZE:
        raise Locked("the wrapped store key has the wrong size")
    return key


class PassphraseKeySource(KeySource):
    """The store key wrapped under a passphrase; needs `provide` before each unlock."""

    name = "passphrase"
    interactive = True

    def __init__(self, n: int = SCRYPT_N) -> None:
        self.n = n
        self._passphrase: str | None = None

    def describe(self) -> str:
        return f"a passphrase (scrypt, n=2^{self.n.bit_length() - 1}, r={SCRYPT_R})"

    def provide(self, passphrase: str | None) -> None:
        self._passphrase = passphrase

    def _given(self) -> str:
        if self._passphrase is None:
            raise Locked("credd is locked: run `credd unlock` and type the store's passphrase")
        return self._passphrase

    def create(self) -> tuple[bytes, dict[str, Any]]:
        passphrase = self._given()
        if len(passphrase) < MIN_PASSPHRASE:
            raise InvalidRequest(f"choose a passphrase of at least {MIN_PASSPHRASE} characters")
        key = new_key()
        return key, wrap(key, passphrase, self.n)

    def load(self, params: Mapping[str, Any]) -> bytes:
        return unwrap(params, self._given())

    def discard(self, params: Mapping[str, Any]) -> None:
        """Nothing to remove: the wrapped key lives in the store header only."""
