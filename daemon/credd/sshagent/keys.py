"""SSH private keys: read (OpenSSH and PEM files, the agent's wire form), described, made, used.

A key is kept in the store as an unencrypted OpenSSH private key (the store itself is
encrypted); everything the API shows is derived from it here: the public key line, the type
and the SHA256 fingerprint as `ssh-keygen -l` prints it. Types: ed25519, ECDSA on P-256,
P-384 and P-521, RSA of 1024 bits and more. Errors are `BadKey` and its kinds, whose
messages never quote key bytes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from . import wire

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyKind = Literal["ed25519", "ecdsa", "rsa"]
GENERATE_TYPES: tuple[KeyKind, ...] = ("ed25519", "ecdsa", "rsa")
MIN_RSA_BITS = 1024
GENERATED_RSA_BITS = 3072

# Curve name in the key type, the curve, the hash of its signatures (RFC 5656).
_CURVES: dict[str, tuple[ec.EllipticCurve, hashes.HashAlgorithm]] = {
    "nistp256": (ec.SECP256R1(), hashes.SHA256()),
    "nistp384": (ec.SECP384R1(), hashes.SHA384()),
    "nistp521": (ec.SECP521R1(), hashes.SHA512()),
}
_CURVE_BY_KEY_NAME = {"secp256r1": "nistp256", "secp384r1": "nistp384", "secp521r1": "nistp521"}


class BadKey(ValueError):
    """Not a private key credd can read (damaged, wrong passphrase); never quotes its bytes."""


class UnsupportedKey(BadKey):
    """A key of a type credd does not hold (DSA, FIDO security keys, certificates, ...)."""


class PassphraseNeeded(BadKey):
    """The key file is encrypted and no passphrase was given."""


class SignatureRefused(ValueError):
    """A signature credd will not make (SHA-1 RSA unless allowed)."""


@dataclass(frozen=True)
class HeldKey:
    """A private key and what is shown of it."""

    private: PrivateKey = field(repr=False)
    comment: str = ""

    @property
    def key_type(self) -> str:
        key = self.private
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return "ssh-ed25519"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return f"ecdsa-sha2-{_CURVE_BY_KEY_NAME[key.curve.name]}"
        return "ssh-rsa"

    @property
    def public_blob(self) -> bytes:
        """The public key in the SSH wire encoding (what the agent lists, what is signed for)."""
        line = self.private.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        return base64.b64decode(line.split()[1])

    @property
    def public_line(self) -> str:
        """The line of a .pub file: type, base64 blob and the comment when there is one."""
        blob = base64.b64encode(self.public_blob).decode()
        return f"{self.key_type} {blob} {self.comment}".rstrip()

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_blob)

    def private_text(self) -> str:
        """The unencrypted OpenSSH private key file, as the store keeps it."""
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()

    def sign(self, data: bytes, flags: int, *, allow_sha1: bool = False) -> bytes:
        """The signature blob of an agent's SIGN_RESPONSE: algorithm name and signature."""
        key = self.private
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return wire.string("ssh-ed25519") + wire.string(key.sign(data))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            curve = _CURVE_BY_KEY_NAME[key.curve.name]
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_CURVES[curve][1])))
            return wire.string(self.key_type) + wire.string(wire.mpint(r) + wire.mpint(s))
        algorithm: hashes.HashAlgorithm
        if flags & wire.RSA_SHA2_512:
            name, algorithm = "rsa-sha2-512", hashes.SHA512()
        elif flags & wire.RSA_SHA2_256:
            name, algorithm = "rsa-sha2-256", hashes.SHA256()
        elif allow_sha1:
            name, algorithm = "ssh-rsa", hashes.SHA1()  # noqa: S303 - only where configured
        else:
            raise SignatureRefused(
                "SHA-1 RSA signatures (ssh-rsa) are refused; set ssh_allow_sha1 = true to allow"
            )
        signature = key.sign(data, padding.PKCS1v15(), algorithm)
        return wire.string(name) + wire.string(signature)


def fingerprint_of(public_blob: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(public_blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _checked(key: object, comment: str) -> HeldKey:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return HeldKey(key, comment)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in _CURVE_BY_KEY_NAME:
            raise UnsupportedKey(f"ECDSA on the curve {key.curve.name} is not supported")
        return HeldKey(key, comment)
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnsupportedKey(f"an RSA key of {key.key_size} bits is too short")
        return HeldKey(key, comment)
    raise UnsupportedKey(
        "this key type is not supported (credd holds ed25519, ECDSA P-256/384/521 and RSA keys)"
    )


def load_file(data: bytes, passphrase: bytes | None = None, comment: str = "") -> HeldKey:
    """A private key file: OpenSSH's format or PEM (PKCS#1, SEC1, PKCS#8), encrypted or not."""
    text = data.strip()
    try:
        if text.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
            key: object = serialization.load_ssh_private_key(text, passphrase)
        else:
            key = serialization.load_pem_private_key(text, passphrase)
    except TypeError as exc:  # encrypted without a passphrase, or a passphrase for a plain key
        if passphrase is None:
            raise PassphraseNeeded("the key is encrypted: its passphrase is needed") from None
        raise BadKey(f"the key does not take a passphrase ({_first_line(exc)})") from None
    except UnsupportedAlgorithm:
        raise UnsupportedKey("this key type or its encryption is not supported") from None
    except ValueError:
        # With a passphrase, a bad one and a damaged file look alike (a broken checksum).
        raise BadKey(
            "wrong passphrase, or a damaged key"
            if passphrase is not None
            else "not a private key credd reads"
        ) from None
    return _checked(key, comment or _openssh_comment(text))


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _openssh_comment(text: bytes) -> str:
    """The comment an unencrypted OpenSSH key file holds (cryptography drops it)."""
    if not text.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
        return ""
    try:
        body = base64.b64decode(b"".join(text.splitlines()[1:-1]))
        magic = b"openssh-key-v1\x00"
        reader = wire.Reader(body[len(magic) :])
        cipher = reader.string()
        reader.string()  # kdf name
        reader.string()  # kdf options
        if reader.u32() != 1 or cipher != b"none":
            return ""
        reader.string()  # public key
        private = wire.Reader(reader.string())
        private.u32()
        private.u32()
        _read_wire_key(private)
        return private.text()
    except (ValueError, wire.MessageError, IndexError):
        return ""


def from_wire(reader: wire.Reader) -> HeldKey:
    """A key as ADD_IDENTITY carries it: type, the type's fields, then a comment."""
    key = _read_wire_key(reader)
    return _checked(key, reader.text())


def _read_wire_key(reader: wire.Reader) -> PrivateKey:
    key_type = reader.text()
    try:
        if key_type == "ssh-ed25519":
            public = reader.string()
            secret = reader.string()
            if len(public) != 32 or len(secret) != 64 or secret[32:] != public:
                raise wire.MessageError("an ed25519 key of the wrong size")
            ed = ed25519.Ed25519PrivateKey.from_private_bytes(secret[:32])
            if ed.public_key().public_bytes_raw() != public:
                raise wire.MessageError("an ed25519 key whose halves do not match")
            return ed
        if key_type.startswith("ecdsa-sha2-") and key_type[11:] in _CURVES:
            curve = _CURVES[key_type[11:]][0]
            if reader.text() != key_type[11:]:
                raise wire.MessageError("an ECDSA key whose curve names disagree")
            point = reader.string()
            private = ec.derive_private_key(reader.mpint(), curve)
            if (
                private.public_key().public_bytes(
                    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
                )
                != point
            ):
                raise wire.MessageError("an ECDSA key whose public point does not match")
            return private
        if key_type == "ssh-rsa":
            n, e, d, iqmp, p, q = (reader.mpint() for _ in range(6))
            if p * q != n:
                raise wire.MessageError("an RSA key whose primes do not match")
            numbers = rsa.RSAPrivateNumbers(
                p, q, d, d % (p - 1), d % (q - 1), iqmp, rsa.RSAPublicNumbers(e, n)
            )
            return numbers.private_key()
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        if isinstance(exc, wire.MessageError):
            raise
        raise wire.MessageError("the key's numbers do not make a key") from None
    raise UnsupportedKey(f"the key type {key_type[:64]!r} is not supported")


def generate(kind: KeyKind, comment: str) -> HeldKey:
    """A new key: ed25519, ECDSA P-256, or RSA of 3072 bits (ssh-keygen's defaults)."""
    key: PrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_RSA_BITS)
    return HeldKey(key, comment)


def from_stored(private_text: str, comment: str) -> HeldKey:
    """A key as the store keeps it (written by `HeldKey.private_text`)."""
    return _checked(serialization.load_ssh_private_key(private_text.encode(), None), comment)
