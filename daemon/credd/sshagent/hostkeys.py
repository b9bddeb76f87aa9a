"""`session-bind@openssh.com`: check that the host key signed the session's identifier.

ssh (8.9 and later) tells the agent which server a connection authenticates to: the server's
host key, the session identifier and the server's signature over it. The agent records the
host key's fingerprint with each signature it makes on that connection (the audit log) once
the signature checks out; a binding that does not verify is refused.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import wire

_RSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "rsa-sha2-256": hashes.SHA256(),
    "rsa-sha2-512": hashes.SHA512(),
}
_ECDSA_HASHES: dict[int, hashes.HashAlgorithm] = {
    256: hashes.SHA256(),
    384: hashes.SHA384(),
    521: hashes.SHA512(),
}


def verify(host_key: bytes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` (an SSH signature blob) by ``host_key`` (a public key blob)
    signs ``data``. Anything unreadable or of another type is False."""
    try:
        key_type = wire.Reader(host_key).text()
        key = serialization.load_ssh_public_key(
            key_type.encode() + b" " + base64.b64encode(host_key)
        )
        outer = wire.Reader(signature)
        algorithm, raw = outer.text(), outer.string()
        outer.end()
        if isinstance(key, ed25519.Ed25519PublicKey) and algorithm == "ssh-ed25519":
            key.verify(raw, data)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm == key_type:
            inner = wire.Reader(raw)
            r, s = inner.mpint(), inner.mpint()
            inner.end()
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_ECDSA_HASHES[key.key_size]))
            return True
        if isinstance(key, rsa.RSAPublicKey) and algorithm in _RSA_HASHES:
            key.verify(raw, data, padding.PKCS1v15(), _RSA_HASHES[algorithm])
            return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, KeyError):
        return False
    return False
